"""The fulfilment screens in real headless Chromium (issue #4): create a wave, open it, pick, then pack
at the packing station by typing scans as a USB scanner would (code + Enter), one of them refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.fulfilment.helpers import PRODUCTS
from tests.web.test_browser import log_in
from tests.web_fulfilment.conftest import Orders
from zakaz.db import unit_of_work
from zakaz.fulfilment.models import Shipment

pytestmark = pytest.mark.browser
BARCODE = {sku: code for sku, (_name, code, _w, _d) in PRODUCTS.items()}


def _status(engine: Engine, number: str) -> tuple[str, str | None]:
    with unit_of_work(engine, read_only=True) as s:
        status, tracking = s.execute(
            select(Shipment.status, Shipment.tracking_number).where(Shipment.number == number)
        ).one()
    return status, tracking


def test_wave_then_pack_with_a_scanner(
    page: Any,
    live_server: LiveServer,
    engine: Engine,
    web_users: dict[str, str],
    orders: Orders,
    carriers: Any,
    shoot: Callable[[Any, str], None],
) -> None:
    log_in(page, live_server, web_users["warehouse"])
    page.get_by_role("link", name="Pick lists").click()
    page.get_by_label("Warehouse", exact=True).first.select_option("MSK")
    page.get_by_role("button", name="Create pick list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Pick list PL-MSK-"))
    assert "4 units for 2 orders" in page.inner_text("#flash")
    bins = page.locator("table.pick-lines tbody tr .bin").all_inner_texts()
    assert bins == ["A-01-02", "A-01-10"], "walking order"
    assert orders.second in page.locator("#line-2").inner_text()
    shoot(page, "pick-list")
    page.get_by_role("button", name="Pick line 1").click()
    expect(page.locator("#flash")).to_contain_text("Line 1: 1 picked.")
    page.get_by_role("button", name="Pick line 2").click()
    page.get_by_role("button", name="Complete pick list").click()
    expect(page.locator("#flash")).to_contain_text("completed")

    # The packing station: the scanner "types" the shipment barcode and Enter.
    page.get_by_role("link", name="Packing", exact=True).click()
    scan = page.get_by_label("Shipment barcode")
    expect(scan).to_be_focused()
    page.keyboard.type(orders.shipment)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Shipment {orders.shipment}")
    item = page.get_by_label("Scan an item")
    expect(item).to_be_focused()
    expect(page.locator(".remaining")).to_have_text("3 units left to scan")

    def scan_item(code: str) -> None:
        item.focus()
        page.keyboard.type(code)
        page.keyboard.press("Enter")

    scan_item(BARCODE["SKU-C"])  # a spoon: not in this shipment
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Wrong item: this is not in the shipment.")
    expect(page.locator("[data-packing-station]")).to_have_class(re.compile(r"cue-error"))
    expect(page.locator("body")).to_have_attribute("data-last-cue", "error")  # the sound was played
    expect(item).to_have_value("")
    expect(item).to_be_focused()
    expect(page.locator(".remaining")).to_have_text("3 units left to scan")
    shoot(page, "packing-refused")

    scan_item(BARCODE["SKU-A"])
    expect(page.locator("body")).to_have_attribute("data-last-cue", "ok")
    expect(page.locator(".remaining")).to_have_text("2 units left to scan")
    scan_item(BARCODE["SKU-A"])
    expect(page.locator(".remaining")).to_have_text("1 unit left to scan")
    scan_item(BARCODE["SKU-B"])
    expect(page.locator("body")).to_have_attribute("data-last-cue", "done")
    expect(page.locator(".remaining")).to_have_text("All items scanned.")
    scan_item(BARCODE["SKU-B"])  # one too many
    expect(page.get_by_role("alert")).to_contain_text("Already packed")
    shoot(page, "packing-complete")

    page.get_by_label("Box", exact=True).select_option(index=0)
    page.get_by_role("button", name="Close the box").click()
    expect(page.locator("#flash")).to_contain_text("is packed")
    assert _status(engine, orders.shipment)[0] == "packed"
    page.get_by_role("button", name="Create label").click()
    expect(page.locator("#flash")).to_contain_text("Label created")
    status, tracking = _status(engine, orders.shipment)
    assert status == "label_created" and tracking
    expect(page.locator("[data-tracking]")).to_have_text(tracking)
    label = page.get_by_role("button", name="Label (PDF)")
    response = page.request.get(live_server.url + label.get_attribute("href"))
    assert response.headers["content-type"] == "application/pdf"
    shoot(page, "packing-labelled")

    page.get_by_role("link", name="Shipments", exact=True).click()
    row = page.locator("table.shipments-table tbody tr", has_text=orders.shipment)
    expect(row).to_contain_text(tracking)
    expect(row).to_contain_text("Label created")
