"""Back office and roles for the support inbox: who may read and reply (API and pages), the inbox with
unread first and order links, the conversation page, the disabled reply form, the order page's link."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from tests.support.conftest import Inbox
from tests.web.conftest import WebClient
from tests.web.conftest import as_role as as_role  # the back office's log-in fixtures
from tests.web.conftest import password_hash as password_hash
from tests.web.conftest import web as web
from tests.web.conftest import web_users as web_users
from zakaz.cli.worker_cmd import add_support_work
from zakaz.marketplaces.ozon.endpoints import E


def _two_chats(inbox: Inbox) -> tuple[int, int, str]:
    """An older chat already read, and a newer one linked to an order with an unread message."""
    read_chat = inbox.fake.add_chat()
    inbox.fake.add_chat_message(read_chat, "Спасибо!", at=inbox.fake.now() - timedelta(hours=60))
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.pull()
    inbox.push(inbox.fake.buyer_writes(chat, "Можно доставить в пятницу?"))
    inbox.drain()
    old = inbox.conversation(read_chat).id
    inbox.api.post(f"/api/v1/support/conversations/{old}/read")
    return old, inbox.conversation(chat).id, inbox.order_number(posting)


def test_api_roles(inbox: Inbox) -> None:
    _, conv, _ = _two_chats(inbox)
    url = f"/api/v1/support/conversations/{conv}"
    for role in ("admin", "operator", "support", "readonly"):
        assert inbox.client(role).get("/api/v1/support/conversations").status_code == 200, role
        assert inbox.client(role).get(url).status_code == 200, role
    warehouse = inbox.client("warehouse")
    assert warehouse.get("/api/v1/support/conversations").status_code == 403
    assert warehouse.get(url).json()["type"] == "/problems/forbidden"
    assert warehouse.post(f"{url}/messages", json={"text": "Да"}).status_code == 403
    readonly = inbox.client("readonly")
    assert readonly.post(f"{url}/messages", json={"text": "Да"}).status_code == 403
    assert readonly.post(f"{url}/read").status_code == 403
    assert inbox.client("support").post(f"{url}/messages", json={"text": "Да, можно"}).status_code == 201
    assert inbox.client("operator").post(f"{url}/read").status_code == 200


def test_inbox_lists_unread_first_with_order_links(inbox: Inbox, as_role: Callable[[str], WebClient]) -> None:
    old, conv, number = _two_chats(inbox)
    items = inbox.api.get("/api/v1/support/conversations").json()["items"]
    assert [c["id"] for c in items] == [conv, old] and items[0]["unread_count"] == 1
    assert [c["id"] for c in inbox.api.get("/api/v1/support/conversations?unread=true").json()["items"]] == [
        conv
    ]

    page = as_role("support").get("/support")
    assert page.status_code == 200
    rows = re.findall(r'data-conversation="(\d+)"', page.text)
    assert rows == [str(conv), str(old)], "unread first"
    assert f'href="/orders/{number}"' in page.text and 'class="badge unread-badge"' in page.text
    assert 'href="/support"' in page.text, "the nav has the inbox"

    order_page = as_role("operator").get(f"/orders/{number}")
    assert f'href="/support/{conv}"' in order_page.text, "the order page links its buyer chat"


def test_conversation_page_reply_and_read(inbox: Inbox, as_role: Callable[[str], WebClient]) -> None:
    _, conv, number = _two_chats(inbox)
    web = as_role("support")
    page = web.get(f"/support/{conv}")
    assert page.status_code == 200
    assert "Можно доставить в пятницу?" in page.text and f'href="/orders/{number}"' in page.text
    assert 'id="reply-form"' in page.text and "<fieldset disabled" not in page.text

    assert web.submit(f"/support/{conv}/reply", {"text": "   "}).status_code == 303
    assert "Write a message first." in web.get(f"/support/{conv}").text
    r = web.submit(f"/support/{conv}/reply", {"text": "Да, в пятницу привезём."})
    assert r.status_code == 303 and r.headers["location"] == f"/support/{conv}"
    page = web.get(f"/support/{conv}")
    assert "Reply queued" in page.text and "delivery-queued" in page.text
    inbox.drain()
    fragment = web.get(f"/support/{conv}/messages", headers={"HX-Request": "true"})
    assert "delivery-sent" in fragment.text and "<html" not in fragment.text
    assert inbox.fake.seller_texts(inbox.conversation_chat(conv)) == ["Да, в пятницу привезём."]


def test_readonly_and_warehouse_pages(inbox: Inbox, as_role: Callable[[str], WebClient]) -> None:
    _, conv, number = _two_chats(inbox)
    readonly = as_role("readonly")
    page = readonly.get(f"/support/{conv}")
    assert page.status_code == 200 and "<fieldset disabled" in page.text
    assert "Your role may read conversations but not reply." in page.text
    assert 'id="mark-read"' not in page.text
    assert readonly.submit(f"/support/{conv}/reply", {"text": "Привет"}).status_code == 403

    warehouse = as_role("warehouse")
    assert warehouse.get("/support").status_code == 403
    assert warehouse.get(f"/support/{conv}").status_code == 403
    assert 'href="/support"' not in warehouse.get("/").text
    assert "/support/" not in warehouse.get(f"/orders/{number}").text


def test_reply_form_is_disabled_with_the_reason(inbox: Inbox, as_role: Callable[[str], WebClient]) -> None:
    old, conv, _ = _two_chats(inbox)
    web = as_role("operator")
    page = web.get(f"/support/{old}")
    assert "<fieldset disabled" in page.text and "More than 48 hours have passed" in page.text
    assert web.submit(f"/support/{old}/reply", {"text": "Здравствуйте"}).status_code == 303
    assert "More than 48 hours have passed" in web.get(f"/support/{old}").text
    assert inbox.fake.calls_to(E.CHAT_SEND.path) == 0

    web.submit("/account/language", {"locale": "zh_Hans", "next": f"/support/{old}"})
    zh = web.get(f"/support/{old}")
    assert "距买家最后一条消息已超过 48 小时" in zh.text and "客服中心" in zh.text
    assert "买家" in web.get(f"/support/{conv}").text


def test_access_problem_is_shown_above_the_inbox(inbox: Inbox, as_role: Callable[[str], WebClient]) -> None:
    inbox.fake.premium = False
    chat = inbox.fake.add_chat()
    inbox.push(inbox.fake.buyer_writes(chat, "Алло"))
    inbox.drain()
    page = as_role("support").get("/support")
    assert 'id="chat-access"' in page.text and "Premium Plus" in page.text


def test_worker_wiring_adds_support_topics_and_the_pull_job() -> None:
    existing = object()
    handlers: dict[str, list[object]] = {"marketplace.chat_push_received": [existing]}
    jobs: list[object] = []
    add_support_work(handlers, jobs)  # type: ignore[arg-type]
    assert handlers["marketplace.chat_push_received"][0] is existing
    assert len(handlers["marketplace.chat_push_received"]) == 2
    assert handlers["support.reply_queued"] and handlers["support.read_requested"]
    assert [job.name for job in jobs] == ["support.pull_ozon_chats"]  # type: ignore[attr-defined]
