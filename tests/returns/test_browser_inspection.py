"""Headless Chromium (issue #6 review): inspecting a damaged line keeps it out of stock, and a refund
override typed in roubles with a comma is paid to the kopeck."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.returns.helpers import delivered_order, on_hand, setup
from tests.web.test_browser import log_in

pytestmark = pytest.mark.browser


def test_operator_inspects_a_damaged_line_and_overrides_the_refund_in_roubles(
    live_server: Any,
    page: Any,
    client: TestClient,
    engine: Engine,
    app: Any,
    web_users: dict[str, str],
) -> None:
    provider = setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 2)], price=1000_00)
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "defective"},
    )
    rma = r.json()["rma"]
    assert client.post(f"/api/v1/returns/{rma}/receive", json={}).status_code == 200
    assert on_hand(engine, "SKU-A") == 8

    log_in(page, live_server, web_users["operator"], f"/returns/{rma}")
    page.wait_for_selector("#inspect-form")
    assert not page.is_checked("#restock-1"), "nothing is pre-ticked before a condition is chosen"
    page.select_option("#condition-1", "unopened")
    assert page.is_checked("#restock-1"), "a resellable condition ticks the box"
    page.select_option("#condition-1", "damaged_by_shopper")
    assert not page.is_checked("#restock-1") and page.is_disabled("#restock-1")
    page.click("#inspect")
    page.wait_for_selector("#refund-form")
    assert page.inner_text("#return-status") == "Inspected"
    assert "SKU-A" in page.inner_text("#quarantine")
    assert on_hand(engine, "SKU-A") == 8, "the damaged unit did not go back on sale"

    page.fill("#override-amount", "100,50")
    page.fill("#override-reason", "goodwill for the damage")
    page.click("#confirm-refund")
    page.wait_for_selector("#refunds")
    assert page.inner_text("#return-status") == "Refunded"
    assert "100.50" in page.inner_text("#refunds")
    assert provider.total == 100_50
    ledger = client.get(f"/api/v1/orders/{order['number']}/refunds").json()
    assert [(x["kind"], x["amount_minor"], x["currency"]) for x in ledger["items"]] == [
        ("override", 100_50, "RUB")
    ]
