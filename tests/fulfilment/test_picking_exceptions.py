"""Short picks, cancelling and editing orders in fulfilment, polling: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories import order_payload
from tests.fulfilment.helpers import API_KEY, SECRET, registry_for, seed_catalogue, stock_of
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.db import unit_of_work
from zakaz.fulfilment.tracking import poll_tracking
from zakaz.inventory.models import Reservation, StockMovement


def _order(client: TestClient, lines: list[tuple[str, int]]) -> dict[str, Any]:
    r = client.post("/api/v1/orders", json=order_payload(lines, city="Москва"))
    assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
    return dict(r.json())


def test_short_pick_holds_the_order_keeps_the_picked_rest_and_corrects_stock(
    client: TestClient, engine: Engine
) -> None:
    seed_catalogue(
        engine, {"MSK": {"SKU-A": (3, "A-01-01"), "SKU-B": (2, "A-02-01")}, "SPB": {"SKU-A": (5, "Z-9")}}
    )
    order = _order(client, [("SKU-A", 3), ("SKU-B", 1)])
    wave = client.post("/api/v1/pick-lists", json={"warehouse": "MSK"}).json()
    line_a = next(ln for ln in wave["lines"] if ln["sku"] == "SKU-A")
    client.post(
        f"/api/v1/pick-lists/{wave['number']}/lines/{line_a['seq'] % 2 + 1}/pick", json={"quantity": 1}
    )
    r = client.post(
        f"/api/v1/pick-lists/{wave['number']}/lines/{line_a['seq']}/pick", json={"quantity": 1, "short": True}
    )
    assert r.status_code == 200, r.text
    line = next(ln for ln in r.json()["lines"] if ln["sku"] == "SKU-A")
    assert (line["picked"], line["short"], line["open"]) == (1, 2, 0)

    held = client.get(f"/api/v1/orders/{order['number']}").json()
    assert held["status"] == "on_hold"
    assert [h["code"] for h in held["hold_reasons"]] == ["short_pick"]
    assert stock_of(engine, "MSK", "SKU-A") == (1, 1), "2 missing units left on_hand and reserved"
    with unit_of_work(engine, read_only=True) as s:
        reasons = s.execute(
            select(StockMovement.reason, StockMovement.on_hand_delta, StockMovement.reserved_delta).where(
                StockMovement.reference == order["number"], StockMovement.reason.in_(["release", "stocktake"])
            )
        ).all()
        reservations = s.execute(
            select(Reservation.status, Reservation.quantity).where(Reservation.order_id == order["id"])
        ).all()
    assert sorted(map(tuple, reasons)) == [("release", 0, -2), ("stocktake", -2, 0)]
    assert sorted(map(tuple, reservations)) == [("active", 1), ("active", 1), ("released", 2)]
    shipment = client.get(f"/api/v1/shipments/{order['number']}-1").json()
    assert shipment["status"] == "picking"
    assert {ln["sku"]: (ln["quantity"], ln["picked"]) for ln in shipment["lines"]} == {
        "SKU-A": (1, 1),
        "SKU-B": (1, 1),
    }
    r = client.post("/api/v1/packing/start", json={"barcode": shipment["number"]})
    assert (r.status_code, r.json()["code"]) == (409, "not_ready_to_pack"), "order is on hold"

    # Releasing re-allocates the two missing units (from SPB); a wave there picks them into a second shipment.
    released = client.post(f"/api/v1/orders/{order['number']}/release", json={"reason": "checked"}).json()
    assert released["status"] == "allocated"
    assert stock_of(engine, "SPB", "SKU-A") == (5, 2)
    spb = client.post("/api/v1/pick-lists", json={"warehouse": "SPB"}).json()
    assert [(ln["sku"], ln["quantity"]) for ln in spb["lines"]] == [("SKU-A", 2)]
    client.post(f"/api/v1/pick-lists/{spb['number']}/lines/1/pick", json={"quantity": 2})
    assert client.get(f"/api/v1/orders/{order['number']}").json()["status"] == "picking"
    numbers = [s["number"] for s in client.get(f"/api/v1/shipments?order={order['number']}").json()["items"]]
    assert sorted(numbers) == [f"{order['number']}-1", f"{order['number']}-2"]


def test_cancel_cancels_open_shipments_and_edit_is_refused(client: TestClient, engine: Engine) -> None:
    seed_catalogue(engine, {"MSK": {"SKU-A": (5, "A-1")}})
    keep, cancel = _order(client, [("SKU-A", 1)]), _order(client, [("SKU-A", 2)])
    wave = client.post("/api/v1/pick-lists", json={"warehouse": "MSK"}).json()
    assert wave["lines"][0]["quantity"] == 3
    edit = client.patch(
        f"/api/v1/orders/{cancel['number']}",
        json={"lines": [{"sku": "SKU-A", "quantity": 1, "unit_price_minor": 100}]},
    )
    assert edit.status_code == 409 and "fulfilment" in edit.json()["detail"]
    r = client.post(f"/api/v1/orders/{cancel['number']}/cancel", json={"reason": "customer"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/shipments/{cancel['number']}-1").json()["status"] == "cancelled"
    assert stock_of(engine, "MSK", "SKU-A") == (5, 1)
    assert client.get(f"/api/v1/pick-lists/{wave['number']}").json()["lines"][0]["quantity"] == 1
    assert keep["number"] in str(client.get(f"/api/v1/pick-lists/{wave['number']}").json())


def test_polling_applies_carrier_events(client: TestClient, engine: Engine, app: Any) -> None:
    seed_catalogue(engine, {"MSK": {"SKU-B": (5, "A-1")}})
    order = _order(client, [("SKU-B", 1)])
    number = f"{order['number']}-1"
    with running_fake_carrier(FakeCarrierSettings(api_key=API_KEY, webhook_secret=SECRET)) as fake:
        registry = registry_for(fake.base_url)
        app.state.carriers = registry
        wave = client.post("/api/v1/pick-lists", json={"warehouse": "MSK", "max_orders": 1}).json()
        client.post(f"/api/v1/pick-lists/{wave['number']}/lines/1/pick", json={"quantity": 1})
        client.post(f"/api/v1/packing/{number}/scan", json={"barcode": "SKU-B"})
        assert (
            client.post(f"/api/v1/packing/{number}/close", json={"box": "S", "weight_g": 420}).status_code
            == 200
        )
        r = client.post(f"/api/v1/shipments/{number}/label", json={"carrier": "cdek", "service": "137"})
        assert r.status_code == 201, r.text
        tracking_number = r.json()["tracking_number"]
        t0 = datetime.now(UTC) - timedelta(hours=3)
        fake.add_event(tracking_number, "RECEIVED_AT_SHIPMENT_WAREHOUSE", t0)
        fake.add_event(tracking_number, "SENT_TO_RECIPIENT_CITY", t0 + timedelta(hours=1))
        with unit_of_work(engine) as s:
            first = poll_tracking(s, registry=registry)
        with unit_of_work(engine) as s:
            second = poll_tracking(s, registry=registry)
    assert (first.applied, first.late) == (2, 1), (
        first
    )  # "created" is newer than our backdated scans: ignored
    assert (second.applied, second.duplicates) == (0, 3)
    assert client.get(f"/api/v1/shipments/{number}").json()["status"] == "in_transit"
    assert client.get(f"/api/v1/orders/{order['number']}").json()["status"] == "shipped"
    assert stock_of(engine, "MSK", "SKU-B") == (4, 0), (
        "a carrier scan before the manifest still ships the stock"
    )
