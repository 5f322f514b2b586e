"""Headless Chromium: the shopper asks for a return from the tracking page and gets an RMA at once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.returns.helpers import delivered_order, setup
from zakaz.notifications import links
from zakaz.notifications.settings import get_notify_settings

pytestmark = pytest.mark.browser


def test_shopper_returns_an_item_from_the_tracking_page(
    live_server: Any, page: Any, client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 2)], price=1000_00)
    token = links.tracking_token(order["id"], links.secret_of(get_notify_settings()))
    page.goto(f"{live_server.url}/track/{token}?lang=en")
    page.click("#return-link")
    page.wait_for_selector("#return-form")
    assert page.get_attribute("#qty-1", "max") == "2"

    page.fill("#qty-1", "3")  # more than delivered: the server refuses and names the field
    page.evaluate("document.getElementById('qty-1').removeAttribute('max')")
    page.select_option("#reason", "defective")
    page.click("#return-form button[type=submit]")
    page.wait_for_selector("#errors")
    assert page.get_attribute("#errors li", "data-field") == "items.0.quantity"

    page.fill("#qty-1", "1")
    page.select_option("#reason", "defective")
    page.fill("#comment", "Does not switch on")
    page.click("#return-form button[type=submit]")
    page.wait_for_selector("#return-done")
    rma = page.inner_text("#rma")
    assert rma.startswith("RMA-")
    assert page.inner_text("#return-status") == "Approved", "a defect is approved at once"
    assert rma in page.inner_text("#instructions")

    detail = client.get(f"/api/v1/returns/{rma}").json()
    assert detail["source"] == "shopper" and detail["comment"] == "Does not switch on"
    page.goto(f"{live_server.url}/track/{token}/return?lang=zh")
    assert "已批准" in page.inner_text("#returns")
    assert page.get_attribute("#qty-1", "max") == "1", "only what is left can be asked for again"
