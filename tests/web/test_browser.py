"""The back office in real headless Chromium against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.factories import shows_currency
from tests.web.conftest import PASSWORD, Shop
from zakaz.catalog.models import Product
from zakaz.db import unit_of_work
from zakaz.inventory.models import StockLevel, StockMovement, Warehouse

pytestmark = pytest.mark.browser


def log_in(page: Any, server: LiveServer, email: str, path: str = "/") -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    if path != "/":
        page.goto(server.url + path)


def stock_row(engine: Engine, warehouse: str, sku: str) -> tuple[int, int]:
    with unit_of_work(engine, read_only=True) as session:
        row = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Warehouse.code == warehouse, Product.sku == sku)
        ).one()
    return row.on_hand, row.reserved


def test_log_in_see_dashboard_and_switch_to_chinese(
    page: Any,
    live_server: LiveServer,
    web_users: dict[str, str],
    shop: Shop,
    shoot: Callable[[Any, str], None],
) -> None:
    page.goto(live_server.url + "/orders")
    assert "/login" in page.url  # not logged in: sent to the log-in page
    shoot(page, "login")
    page.get_by_label("E-mail").fill(web_users["admin"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().startswith("Wrong e-mail or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/orders$"))  # back where they wanted to go
    page.get_by_role("link", name="Dashboard").click()
    assert page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    assert page.get_by_role("heading", name="Held orders").is_visible()
    shoot(page, "dashboard-en")

    page.get_by_role("button", name="中文 (简体)").click()
    assert page.get_by_role("heading", name="仪表板", level=1).is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert "今日新订单" in page.inner_text("main")
    shoot(page, "dashboard-zh")
    # Remembered on the user: a new browser session starts in Chinese.
    page.get_by_role("button", name="退出登录").click()
    page.get_by_label("电子邮箱").fill(web_users["admin"])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("heading", name="仪表板", level=1).is_visible()
    page.get_by_role("link", name="订单", exact=True).click()
    assert page.get_by_role("heading", name="订单", level=1).is_visible()
    shoot(page, "orders-zh")


def test_search_open_and_release_a_hold(
    page: Any,
    live_server: LiveServer,
    web_users: dict[str, str],
    shop: Shop,
    status_of: Callable[[str], str],
    shoot: Callable[[Any, str], None],
) -> None:
    log_in(page, live_server, web_users["operator"], "/orders")
    assert page.locator("table.orders-table tbody tr").count() == len(shop.numbers)
    shoot(page, "orders")
    rows = page.locator("table.orders-table tbody tr")
    page.get_by_role("link", name="Allocated").click()  # a tab: HTMX swaps the table, the URL follows
    expect(rows).to_have_count(len(shop.numbers) - 1)
    assert "status=allocated" in page.url
    page.get_by_label("Search").fill("+7 903 555")  # by phone, as you type, within the tab
    expect(page.get_by_text("No orders match.")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^All \d")).click()
    expect(rows).to_have_count(1)
    assert "q=" in page.url and "status=" not in page.url
    page.get_by_role("link", name=shop.held).click()
    assert page.get_by_role("heading", name="Why this order is on hold").is_visible()
    assert "High-value first order" in page.inner_text(".hold-box")
    shoot(page, "order-held")
    page.get_by_role("button", name="Release hold").click()
    assert "Hold released" in page.inner_text("#flash")
    assert status_of(shop.held) == "allocated"
    assert page.get_by_role("heading", name="Allocation plan").is_visible()
    assert "Why this warehouse:" in page.inner_text("main")
    assert page.locator(".hold-box").count() == 0
    shoot(page, "order-allocated")


def test_cancel_an_order_releases_its_stock(
    page: Any,
    live_server: LiveServer,
    engine: Engine,
    web_users: dict[str, str],
    shop: Shop,
    status_of: Callable[[str], str],
) -> None:
    assert stock_row(engine, "MSK", "SKU-1") == (20, 2)
    log_in(page, live_server, web_users["operator"], f"/orders/{shop.allocated}")
    page.get_by_text("Cancel order…").click()
    page.get_by_label("Reason (optional, shown in the timeline)").fill("customer asked by phone")
    page.get_by_role("button", name="Yes, cancel this order").click()
    assert "cancelled and its stock released" in page.inner_text("#flash")
    assert status_of(shop.allocated) == "cancelled"
    assert stock_row(engine, "MSK", "SKU-1") == (20, 0)
    assert "customer asked by phone" in page.inner_text(".timeline")
    assert page.get_by_text("Cancel order…").count() == 0  # no actions left for a cancelled order


def test_bulk_hold_with_review_and_per_order_result(
    page: Any,
    live_server: LiveServer,
    web_users: dict[str, str],
    shop: Shop,
    status_of: Callable[[str], str],
    shoot: Callable[[Any, str], None],
) -> None:
    log_in(page, live_server, web_users["admin"], "/orders")
    page.get_by_label(f"Select order {shop.allocated}").check()
    page.get_by_label(f"Select order {shop.held}").check()
    page.get_by_label("With the selected orders").select_option("hold")
    page.get_by_role("button", name="Review…").click()
    assert "1 order will be changed." in page.inner_text("main")  # the held one is skipped
    page.get_by_label("Reason for the hold (required)").fill("address check")
    shoot(page, "bulk-review")
    page.get_by_role("button", name="Yes, apply to 1 order").click()
    assert "1 of 1 orders changed." in page.inner_text("main")
    assert status_of(shop.allocated) == "on_hold"
    shoot(page, "bulk-result")


def test_adjust_stock_with_a_reason(
    page: Any,
    live_server: LiveServer,
    engine: Engine,
    web_users: dict[str, str],
    shop: Shop,
    shoot: Callable[[Any, str], None],
) -> None:
    log_in(page, live_server, web_users["warehouse"], "/stock")
    shoot(page, "stock")
    row = page.locator("tbody tr", has_text="SKU-3").filter(has_text="SPB")
    row.get_by_role("link", name="Adjust").click()
    page.get_by_label("Warehouse", exact=True).nth(1).select_option("SPB")
    assert page.get_by_label("SKU", exact=True).input_value() == "SKU-3"
    page.get_by_label("Change (+ adds, − removes)").fill("7")
    page.get_by_label("Reason", exact=True).select_option("receipt")
    page.get_by_label("Note (optional)").fill("delivery 42")
    page.get_by_role("button", name="Save adjustment").click()
    assert "SKU-3 at SPB: on hand 12, available 12." in page.inner_text("#flash")
    assert stock_row(engine, "SPB", "SKU-3") == (12, 0)
    page.get_by_role("link", name="Movement history").click()
    first = page.locator("tbody tr").first
    assert "delivery 42" in first.inner_text() and "Goods received" in first.inner_text()
    shoot(page, "movements")
    with unit_of_work(engine, read_only=True) as session:
        actor = session.scalar(select(StockMovement.actor).order_by(StockMovement.id.desc()).limit(1))
    assert actor == f"user:{web_users['warehouse']}"


def test_readonly_user_is_refused_on_post_by_the_server(
    page: Any,
    live_server: LiveServer,
    engine: Engine,
    web_users: dict[str, str],
    shop: Shop,
    status_of: Callable[[str], str],
) -> None:
    log_in(page, live_server, web_users["readonly"], f"/orders/{shop.held}")
    assert page.get_by_role("button", name="Release hold").count() == 0  # not offered...
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    # ...and refused by the server when forged with a valid session and CSRF token.
    for path, form in (
        (f"/orders/{shop.held}/release", {}),
        (f"/orders/{shop.allocated}/cancel", {}),
        ("/stock/adjust", {"warehouse": "MSK", "sku": "SKU-1", "delta": "5", "reason": "receipt"}),
        ("/orders/bulk/apply", {"action": "cancel", "ids": "1"}),
    ):
        response = page.request.post(
            live_server.url + path, form={"csrf_token": token, **form}, max_redirects=0
        )
        assert response.status == 403, path
        assert "Your role may not do this" in response.text()
    assert status_of(shop.held) == "on_hold"
    assert status_of(shop.allocated) == "allocated"
    assert stock_row(engine, "MSK", "SKU-1") == (20, 2)


def test_warehouse_staff_see_no_money(
    page: Any,
    live_server: LiveServer,
    web_users: dict[str, str],
    shop: Shop,
    shoot: Callable[[Any, str], None],
) -> None:
    log_in(page, live_server, web_users["warehouse"], "/orders?sort=total")
    html = page.content()
    assert not shows_currency(html) and "₽" not in html
    assert "Total" not in page.inner_text("thead")
    page.get_by_role("link", name=shop.held).click()
    html = page.content()
    assert not shows_currency(html) and "60,000" not in html and "Subtotal" not in html
    assert page.get_by_role("heading", name="Lines").is_visible()
    shoot(page, "order-warehouse-view")
    page.goto(live_server.url + "/")
    assert not shows_currency(page.content())


def test_tablet_width_and_keyboard_skip_link(
    browser: Any,
    live_server: LiveServer,
    web_users: dict[str, str],
    shop: Shop,
    shoot: Callable[[Any, str], None],
) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="en-US")
    tab = context.new_page()
    log_in(tab, live_server, web_users["admin"], "/orders")
    tab.keyboard.press("Tab")
    skip = tab.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.bounding_box()["x"] >= 0  # visible once focused
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 820, "the page must not scroll sideways at tablet width"
    shoot(tab, "orders-tablet")
    tab.goto(live_server.url + "/no-such-page")
    assert tab.get_by_role("heading", name="Page not found").is_visible()
    shoot(tab, "error-404")
    context.close()
