"""Headless Chromium: a support agent opens the inbox, reads the buyer's chat next to the order, replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.support.conftest import Inbox
from tests.web.conftest import browser as browser  # the shared Chromium and screenshot fixtures
from tests.web.conftest import page as page
from tests.web.conftest import password_hash as password_hash
from tests.web.conftest import shoot as shoot
from tests.web.conftest import web_users as web_users
from tests.web.test_browser import log_in

pytestmark = pytest.mark.browser


def test_agent_reads_and_replies_in_the_browser(
    inbox: Inbox,
    live_server: LiveServer,
    page: Any,
    web_users: dict[str, str],
    shoot: Callable[[Any, str], None],
) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Здравствуйте! Можно ли получить заказ в пятницу?"))
    inbox.drain()
    number = inbox.order_number(posting)

    log_in(page, live_server, web_users["support"], "/support")
    expect(page.locator("#support-inbox tbody tr")).to_have_count(1)
    shoot(page, "support-inbox")
    page.locator("#support-inbox tbody tr a").first.click()
    expect(page.locator("#conversation-order")).to_have_text(number)
    expect(page.locator(".chat-msg.dir-in")).to_contain_text("пятницу")
    page.get_by_label("Message to the buyer (plain text)").fill("Да, привезём в пятницу с 10 до 18.")
    page.locator("#send-reply").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator(".chat-msg.dir-out .delivery-queued")).to_be_visible()
    inbox.drain()
    page.reload()
    expect(page.locator(".chat-msg.dir-out .delivery-sent")).to_be_visible()
    shoot(page, "support-conversation")
    assert inbox.fake.seller_texts(chat) == ["Да, привезём в пятницу с 10 до 18."]
