"""Headless Chromium: the tracking page updates live (SSE) when the order moves on."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.notifications.support import move, seed_and_order
from zakaz.notifications import links
from zakaz.notifications.settings import get_notify_settings

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def page() -> Any:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium on PATH")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_tracking_page_shows_progress_and_updates_live(
    live_server: Any, page: Any, client: TestClient, engine: Engine
) -> None:
    order = seed_and_order(client, engine)
    page.goto(f"{live_server.url}/track")
    page.fill("#number", order["number"])
    page.fill("#contact", "ivan@example.ru")
    page.click("button[type=submit]")
    page.wait_for_selector("#status")
    assert page.inner_text("#status") == "Подтверждён"
    assert page.locator("#progress li.done").count() == 2
    before = page.locator("#timeline li").count()

    move(engine, order["id"], "picking", "packed", "shipped", data={"tracking_number": "RA123456785RU"})
    page.wait_for_function("document.getElementById('status').textContent === 'Отправлен'", timeout=10_000)
    assert page.locator("#progress li.done").count() == 4
    assert page.locator("#timeline li").count() == before + 3
    assert page.inner_text("#timeline li:first-child").endswith("Заказ отправлен")

    token = links.tracking_token(order["id"], links.secret_of(get_notify_settings()))
    page.goto(f"{live_server.url}/track/{token}?lang=zh")
    assert page.inner_text("#status") == "已发货"
    move(engine, order["id"], "delivered")
    page.wait_for_function("document.getElementById('status').textContent === '已送达'", timeout=10_000)
