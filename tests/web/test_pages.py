"""Pages, filters, pagination, stock adjustments, error pages and the API left untouched (no browser)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine

from tests.web.conftest import Shop, WebClient
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.orders.models import Order
from zakaz.web.settings import WebSettings


def numbers_on(html: str) -> list[str]:
    return re.findall(r'class="order-link">([A-Z0-9-]+)<', html)


def test_empty_database_shows_empty_states(as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    assert "No orders yet." in web.get("/orders").text
    assert "No orders on hold." in web.get("/").text and "Nothing is late." in web.get("/").text
    assert "No stock recorded yet." in web.get("/stock").text
    assert "No movements yet." in web.get("/stock/movements").text


def test_board_tabs_filters_and_search(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine
) -> None:
    web = as_role("operator")
    board = web.get("/orders").text
    assert set(numbers_on(board)) == set(shop.numbers)
    assert 'On hold <span class="count">1</span>' in board
    assert numbers_on(web.get("/orders?status=on_hold").text) == [shop.held]
    assert numbers_on(web.get(f"/orders?q={shop.held.lower()}").text) == [shop.held]
    assert numbers_on(web.get("/orders?q=903 555 00 11").text) == [shop.held]  # phone
    assert numbers_on(web.get("/orders?q=big@example.ru").text) == [shop.held]  # e-mail
    assert numbers_on(web.get("/orders?q=sku-1").text) == [shop.allocated]  # SKU, any case
    # Customer name, case-insensitive. (SQLite's lower() folds ASCII only, so "Петров" with a capital
    # would not match there: a limitation of orders.views.apply_filter, reported to the lead.)
    assert len(numbers_on(web.get("/orders?q=етров").text)) == 5
    assert numbers_on(web.get("/orders?channel=ozon").text) == []
    assert "No orders match." in web.get("/orders?channel=ozon").text
    assert set(numbers_on(web.get("/orders?warehouse=MSK").text)) == set(shop.numbers) - {shop.held}
    assert numbers_on(web.get("/orders?warehouse=SPB").text) == []
    today = utcnow().date()
    assert (
        len(
            numbers_on(
                web.get(f"/orders?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}").text
            )
        )
        == 5
    )
    assert numbers_on(web.get(f"/orders?to={today - timedelta(days=3)}").text) == []
    partial = web.get("/orders?status=on_hold", headers={"HX-Request": "true", "HX-Target": "board"}).text
    assert "<html" not in partial and shop.held in partial


def test_keyset_pages_cover_every_order_once_in_each_sort(
    app: Any, as_role: Callable[[str], WebClient], shop: Shop
) -> None:
    app.state.web_settings = WebSettings(page_size=2)
    web = as_role("admin")
    for sort, direction in (("created", "desc"), ("number", "asc"), ("customer", "asc"), ("total", "desc")):
        seen: list[str] = []
        url = f"/orders?sort={sort}&dir={direction}"
        for _ in range(10):
            html = web.get(url).text
            seen += numbers_on(html)
            found = re.search(r'href="(/orders\?[^"]*after=[^"]+)"', html)
            if not found:
                break
            url = found.group(1).replace("&amp;", "&")
        assert sorted(seen) == sorted(shop.numbers), sort
        if sort == "number":
            assert seen == sorted(seen)
    assert set(numbers_on(web.get("/orders?after=not-a-cursor").text)) <= set(shop.numbers)  # ignored


def test_dashboard_counts_held_and_late_orders(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        session.execute(
            update(Order).where(Order.number == shop.allocated).values(ship_by=utcnow() - timedelta(hours=5))
        )
    web = as_role("admin")
    page = web.get("/").text
    late = page.split('id="late"')[1]
    assert shop.allocated in late and "5 hours ago" in late
    assert shop.held in page.split('id="held-title"')[1]
    assert "RUB\u00a060,500.00" in page  # today's intake value, formatted for English


def test_chinese_formats_dates_and_money(as_role: Callable[[str], WebClient], shop: Shop) -> None:
    web = as_role("admin")
    web.submit("/account/language", {"locale": "zh_Hans"})
    page = web.get(f"/orders/{shop.held}").text
    assert "年" in page and "月" in page  # 2026年11月27日
    assert "RUB\u00a060,000.00" in page and "高金额首单" in page and "解除暂停" in page


def test_stock_adjustment_with_reason_fills_backorders_and_refuses_going_below_reserved(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine
) -> None:
    web = as_role("warehouse")
    r = web.submit("/stock/adjust", {"warehouse": "MSK", "sku": "SKU-1", "delta": "-19", "reason": "damage"})
    page = web.get(r.headers["location"]).text
    assert "on hand cannot go below the 2 units reserved" in page
    ok = web.submit(
        "/stock/adjust",
        {"warehouse": "MSK", "sku": "SKU-1", "delta": "-18", "reason": "damage", "note": "leak"},
    )
    page = web.get(ok.headers["location"]).text
    assert "SKU-1 at MSK: on hand 2, available 0." in page
    assert "damage" not in page.split('id="flash"')[0]
    moves = web.get("/stock/movements?warehouse=MSK&sku=SKU-1").text
    assert "leak" in moves and "Damaged" in moves
    bad = web.submit(
        "/stock/adjust", {"warehouse": "NOPE", "sku": "SKU-1", "delta": "1", "reason": "receipt"}
    )
    assert "check the warehouse and the SKU" in web.get(bad.headers["location"]).text
    zero = web.submit(
        "/stock/adjust", {"warehouse": "MSK", "sku": "SKU-1", "delta": "0", "reason": "receipt"}
    )
    assert "Choose a reason" in web.get(zero.headers["location"]).text
    assert "SKU-2" in web.get("/stock?q=sku-2").text and "SKU-1" not in web.get("/stock?q=sku-2").text


def test_error_pages_for_the_ui_and_problem_json_for_the_api(
    as_role: Callable[[str], WebClient], client: Any
) -> None:
    web = as_role("admin")
    missing = web.get("/orders/ZK-000000-NOPE1")
    assert missing.status_code == 404 and "Page not found" in missing.text and "<nav" in missing.text
    unknown = web.get("/no/such/page")
    assert unknown.status_code == 404 and "Page not found" in unknown.text
    bad_form = web.submit("/stock/adjust", {"warehouse": "MSK"})
    assert bad_form.status_code == 400 and "could not be understood" in bad_form.text
    api = client.get("/api/v1/orders/ZK-000000-NOPE1")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert client.delete("/api/v1/orders").status_code == 405
    assert client.get("/api/v1/nope").headers["content-type"] == "application/problem+json"
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    assert client.get("/static/vendor/pico.min.css").status_code == 200


def test_server_errors_render_the_500_page(
    app: Any, as_role: Callable[[str], WebClient], monkeypatch: Any
) -> None:
    from fastapi.testclient import TestClient

    from zakaz.web import dashboard

    web = as_role("admin")
    monkeypatch.setattr(dashboard, "dashboard_data", lambda *a, **k: 1 / 0)
    with TestClient(app, raise_server_exceptions=False, cookies=web.cookies) as quiet:
        r = quiet.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 500 and "Something went wrong on our side" in r.text


def test_order_page_shows_plan_reasons_and_timeline(as_role: Callable[[str], WebClient], shop: Shop) -> None:
    page = as_role("admin").get(f"/orders/{shop.allocated}").text
    assert "Why this warehouse:" in page and "fills the whole order" in page
    assert "All warehouses considered" in page and "SPB" in page
    assert "Order received" in page and "Status changed" in page
    assert "Иван Петров" in page and "ул. Тверская" in page
