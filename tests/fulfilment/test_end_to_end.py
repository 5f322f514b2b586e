"""Order to delivered through the HTTP API, on SQLite and PostgreSQL, with stock checked at every step."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.factories import order_payload
from tests.fulfilment.helpers import (
    API_KEY,
    SECRET,
    pdf_barcodes,
    pdf_text,
    registry_for,
    seed_catalogue,
    stock_of,
)
from zakaz.carriers.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.db import unit_of_work
from zakaz.inventory.models import Reservation
from zakaz.outbox import OutboxMessage

# handed over, in transit (twice), out for delivery, delivered: raw codes per carrier
CODES = {
    "cdek": (
        "RECEIVED_AT_SHIPMENT_WAREHOUSE",
        "SENT_TO_RECIPIENT_CITY",
        "ACCEPTED_IN_RECIPIENT_CITY",
        "TAKEN_BY_COURIER",
        "DELIVERED",
    ),
    "russian_post": ("1.1", "8.0", "8.1", "8.2", "2.1"),
    "courier": ("picked_up", "at_hub", "at_hub", "on_route", "delivered"),
}


def _order(client: TestClient, lines: list[tuple[str, int]]) -> dict[str, Any]:
    r = client.post("/api/v1/orders", json=order_payload(lines, city="Москва"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "allocated"
    return dict(r.json())


def _status(client: TestClient, number: str) -> str:
    return str(client.get(f"/api/v1/orders/{number}").json()["status"])


def test_order_to_delivered(client: TestClient, engine: Engine, app: Any, live_server: LiveServer) -> None:
    seed_catalogue(
        engine, {"MSK": {"SKU-A": (10, "A-01-10"), "SKU-B": (5, "A-01-02"), "SKU-C": (5, "B-02-01")}}
    )
    first = _order(client, [("SKU-A", 2), ("SKU-B", 1)])
    second = _order(client, [("SKU-A", 1)])
    assert stock_of(engine, "MSK", "SKU-A") == (10, 3) and stock_of(engine, "MSK", "SKU-B") == (5, 1)

    hook = f"{live_server.url}/api/v1/carriers/{{}}/tracking"
    fake_settings = FakeCarrierSettings(api_key=API_KEY, webhook_url=None, webhook_secret=SECRET)
    with running_fake_carrier(fake_settings) as fake:
        app.state.carriers = registry_for(fake.base_url)

        # Wave pick list: walking order by bin (natural sort), totals, the orders each unit goes to.
        r = client.post(
            "/api/v1/pick-lists", json={"warehouse": "MSK"}, headers={"Idempotency-Key": "wave-1"}
        )
        assert r.status_code == 201, r.text
        wave = r.json()
        assert [(ln["bin"], ln["sku"], ln["quantity"]) for ln in wave["lines"]] == [
            ("A-01-02", "SKU-B", 1),
            ("A-01-10", "SKU-A", 3),
        ]
        assert wave["unit_count"] == 4 and wave["order_count"] == 2
        shipment = f"{first['number']}-1"
        assert [(o["shipment"], o["quantity"]) for o in wave["lines"][1]["orders"]] == [
            (shipment, 2),
            (f"{second['number']}-1", 1),
        ]
        replay = client.post(
            "/api/v1/pick-lists", json={"warehouse": "MSK"}, headers={"Idempotency-Key": "wave-1"}
        )
        assert replay.status_code == 200 and replay.json()["number"] == wave["number"]
        assert _status(client, first["number"]) == "allocated", "a pick list alone does not start picking"

        pdf = client.get(f"/api/v1/pick-lists/{wave['number']}/print.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        assert wave["number"] in text and "A-01-02" in text and "SKU-A" in text and "Чайник" in text
        assert "电水壶" in text, "Chinese needs the CJK font"
        codes = pdf_barcodes(pdf.content)
        assert {wave["number"], "4601234567893", "4601234567800"} <= codes
        html = client.get(f"/api/v1/pick-lists/{wave['number']}/print.html")
        assert html.status_code == 200 and wave["number"] in html.text and "A-01-10" in html.text

        # Picking: partial, then the rest; the first pick moves the order to picking.
        assert (
            client.post(f"/api/v1/pick-lists/{wave['number']}/lines/1/pick", json={"quantity": 1}).status_code
            == 200
        )
        assert _status(client, first["number"]) == "picking"
        r = client.post(f"/api/v1/pick-lists/{wave['number']}/lines/2/pick", json={"quantity": 5})
        assert r.status_code == 409 and r.json()["code"] == "over_pick"
        client.post(f"/api/v1/pick-lists/{wave['number']}/lines/2/pick", json={"quantity": 2})
        client.post(f"/api/v1/pick-lists/{wave['number']}/lines/2/pick", json={"quantity": 1})
        done = client.post(f"/api/v1/pick-lists/{wave['number']}/complete").json()
        assert done["status"] == "completed" and done["picked_units"] == 4
        assert stock_of(engine, "MSK", "SKU-A") == (10, 3), "picking moves no stock"

        # Packing station: refusals with machine codes, then every item, box and weight.
        start = client.post("/api/v1/packing/start", json={"barcode": shipment}).json()
        assert start["remaining_units"] == 3
        r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": "0000000000000"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_barcode")
        assert r.headers["content-type"] == "application/problem+json"
        r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": "4601234567817"})
        assert (r.status_code, r.json()["code"], r.json()["sku"]) == (409, "wrong_item", "SKU-C")
        r = client.post(f"/api/v1/packing/{shipment}/close", json={})
        assert (r.status_code, r.json()["code"]) == (409, "items_missing")
        for barcode in ("4601234567893", "4601234567800", "4601234567893"):
            r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": barcode})
            assert r.status_code == 200, r.text
        assert r.json()["remaining_units"] == 0 and r.json()["complete"] is True
        r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": "4601234567800"})
        assert (r.status_code, r.json()["code"]) == (409, "over_scan")
        r = client.post(f"/api/v1/packing/{shipment}/close", json={})
        assert r.status_code == 200, r.text
        assert r.json()["box_code"] == "L", "10 dm³ of goods at 80 % fill needs L"
        assert r.json()["weight_g"] == 2 * 900 + 300 + 260, "products + box tare"
        assert _status(client, first["number"]) == "packed"

        slip = client.get(f"/api/v1/shipments/{shipment}/packing-slip.pdf").content
        slip_text = pdf_text(slip)
        assert first["number"] in slip_text and "Иван Петров" in slip_text and "SKU-A" in slip_text
        assert "Возврат" in slip_text and "Returns" in slip_text
        assert shipment in pdf_barcodes(slip)

        # Rate shopping: the choice and every rejected alternative with its reason are stored.
        shopped = client.post(f"/api/v1/shipments/{shipment}/rate-shop", json={}).json()
        choice = shopped["rate_choice"]
        assert choice["chosen"] and choice["policy"] == "cheapest_on_time" and choice["rejected"]
        assert all(
            r["reason"] in {"too_late", "more_expensive", "slower", "over_weight_limit"}
            for r in choice["rejected"]
        )
        carrier = shopped["carrier"]
        fake.state.settings.webhook_url = hook.format(carrier)

        r = client.post(f"/api/v1/shipments/{shipment}/label", headers={"Idempotency-Key": "label-1"})
        assert r.status_code == 201, r.text
        tracking_number = r.json()["tracking_number"]
        assert r.json()["status"] == "label_created" and tracking_number
        again = client.post(f"/api/v1/shipments/{shipment}/label", headers={"Idempotency-Key": "label-1"})
        assert again.status_code == 200 and again.json()["tracking_number"] == tracking_number
        assert len(fake.state.bookings) == 1, "no second booking"
        label = client.get(f"/api/v1/shipments/{shipment}/label.pdf").content
        assert tracking_number in pdf_barcodes(label)

        # Manifest: hand-over consumes the reservations (on_hand and reserved both go down).
        r = client.post("/api/v1/manifests", json={"carrier": carrier, "warehouse": "MSK"})
        assert r.status_code == 201, r.text
        manifest = r.json()
        assert [s["shipment"] for s in manifest["shipments"]] == [shipment]
        assert _status(client, first["number"]) == "shipped"
        assert stock_of(engine, "MSK", "SKU-A") == (8, 1) and stock_of(engine, "MSK", "SKU-B") == (4, 0)
        with unit_of_work(engine, read_only=True) as s:
            statuses = s.scalars(select(Reservation.status).where(Reservation.order_id == first["id"])).all()
        assert sorted(statuses) == ["consumed", "consumed"]
        csv_body = client.get(f"/api/v1/manifests/{manifest['number']}/manifest.csv").content.decode(
            "utf-8-sig"
        )
        assert tracking_number in csv_body and shipment in csv_body
        manifest_pdf = client.get(f"/api/v1/manifests/{manifest['number']}/manifest.pdf").content
        assert manifest["number"] in pdf_text(manifest_pdf)
        assert {manifest["number"], tracking_number} <= pdf_barcodes(manifest_pdf)

        # Tracking by signed webhook: in order, a late one, a duplicate, then delivered.
        handed, transit_1, transit_2, out, delivered = CODES[carrier]
        t0 = datetime.now(UTC) - timedelta(hours=6)
        fake.add_event(tracking_number, handed, t0 + timedelta(hours=1))
        fake.add_event(tracking_number, transit_2, t0 + timedelta(hours=3))
        late = fake.add_event(tracking_number, transit_1, t0 + timedelta(hours=2))
        assert _shipment(client, shipment)["status"] == "in_transit"
        body = json.dumps(
            {"type": "tracking.updated", "tracking_number": tracking_number, "events": [late]}
        ).encode()
        now = int(time.time())
        headers = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign_webhook(SECRET, now, body)}
        dup = client.post(f"/api/v1/carriers/{carrier}/tracking", content=body, headers=headers)
        assert dup.status_code == 200 and dup.json()["duplicates"] == 1 and dup.json()["applied"] == 0
        bad = client.post(
            f"/api/v1/carriers/{carrier}/tracking",
            content=body,
            headers={**headers, SIGNATURE_HEADER: "sha256=00"},
        )
        assert bad.status_code == 401 and bad.json()["type"] == "/problems/carrier-webhook-signature"
        fake.add_event(tracking_number, out, t0 + timedelta(hours=4))
        fake.add_event(tracking_number, delivered, t0 + timedelta(hours=5))
        fake.add_event(tracking_number, transit_1, t0 + timedelta(hours=4, minutes=30))  # late again
        assert all(d["status"] == 200 for d in fake.state.webhook_deliveries), fake.state.webhook_deliveries

    detail = _shipment(client, shipment)
    assert detail["status"] == "delivered"
    tracking_events = [e for e in detail["events"] if e["type"] == "tracking"]
    assert [e["applied"] for e in tracking_events].count(False) == 2, "two late events recorded, not applied"
    assert _status(client, first["number"]) == "delivered"
    order = client.get(f"/api/v1/orders/{first['number']}").json()
    types = [e["type"] for e in order["timeline"]]
    assert "shipment_delivered" in types and "shipment_tracking" in types
    assert [e["to_status"] for e in order["timeline"] if e["type"] == "status_changed"] == [
        "confirmed",
        "allocated",
        "picking",
        "packed",
        "shipped",
        "delivered",
    ]
    with unit_of_work(engine, read_only=True) as s:
        topics = set(s.scalars(select(OutboxMessage.topic).where(OutboxMessage.aggregate_type == "shipment")))
    assert {
        "shipment.ready_to_pick",
        "shipment.picking",
        "shipment.packed",
        "shipment.label_created",
        "shipment.handed_over",
        "shipment.in_transit",
        "shipment.delivered",
    } <= topics
    assert stock_of(engine, "MSK", "SKU-A") == (8, 1) and _status(client, second["number"]) == "picking"


def _shipment(client: TestClient, number: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/shipments/{number}")
    assert r.status_code == 200, r.text
    return dict(r.json())
