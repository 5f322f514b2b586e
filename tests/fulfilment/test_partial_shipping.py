"""A split order ships leg by leg: partially_shipped (never a false "packed"), then shipped, then delivered.

On SQLite and PostgreSQL, through the HTTP API, with the fake carrier booking labels and sending tracking
webhooks to a live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.factories import order_payload
from tests.fulfilment.helpers import API_KEY, SECRET, registry_for, seed_catalogue, stock_of
from tests.fulfilment.test_end_to_end import CODES
from zakaz.carriers.fake_server import FakeCarrierSettings, RunningFakeCarrier, running_fake_carrier
from zakaz.db import unit_of_work
from zakaz.fulfilment.states import ShipmentState as S
from zakaz.fulfilment.states import derived_order_status
from zakaz.notifications.models import Delivery
from zakaz.notifications.planner import plan_shopper
from zakaz.notifications.settings import NotifySettings
from zakaz.orders.models import Order
from zakaz.orders.states import OrderStatus
from zakaz.outbox import OutboxMessage
from zakaz.worker.types import Message

BARCODES = {"SKU-A": "4601234567893", "SKU-B": "4601234567800"}


def _split_order(client: TestClient, engine: Engine) -> dict[str, Any]:
    """SKU-A only in Moscow, SKU-B only in St Petersburg: one order, two warehouse legs."""
    seed_catalogue(engine, {"MSK": {"SKU-A": (5, "A-01")}, "SPB": {"SKU-B": (5, "B-01")}})
    r = client.post("/api/v1/orders", json=order_payload([("SKU-A", 1), ("SKU-B", 1)], city="Москва"))
    assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
    return dict(r.json())


def _status(client: TestClient, number: str) -> str:
    return str(client.get(f"/api/v1/orders/{number}").json()["status"])


def _steps(client: TestClient, number: str) -> list[str]:
    timeline = client.get(f"/api/v1/orders/{number}").json()["timeline"]
    return [e["to_status"] for e in timeline if e["type"] == "status_changed"]


def _pick_all(client: TestClient, warehouse: str, order_number: str) -> str:
    """A wave at ``warehouse`` that must include the order; every line picked. Returns the shipment."""
    r = client.post("/api/v1/pick-lists", json={"warehouse": warehouse})
    assert r.status_code == 201, r.text
    wave = r.json()
    shipments = {o["shipment"] for ln in wave["lines"] for o in ln["orders"]}
    assert len(shipments) == 1 and shipments.pop().startswith(order_number), wave
    for line in wave["lines"]:
        r = client.post(
            f"/api/v1/pick-lists/{wave['number']}/lines/{line['seq']}/pick",
            json={"quantity": line["quantity"]},
        )
        assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/pick-lists/{wave['number']}/complete").status_code == 200
    return str(wave["lines"][0]["orders"][0]["shipment"])


def _pack_and_label(client: TestClient, shipment: str, sku: str) -> tuple[str, str]:
    """Pack the one item, rate-shop, book the label. Returns (carrier, tracking number)."""
    assert client.post("/api/v1/packing/start", json={"barcode": shipment}).status_code == 200
    r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": BARCODES[sku]})
    assert r.status_code == 200 and r.json()["complete"] is True, r.text
    r = client.post(f"/api/v1/packing/{shipment}/close", json={})
    assert r.status_code == 200, r.text
    carrier = client.post(f"/api/v1/shipments/{shipment}/rate-shop", json={}).json()["carrier"]
    r = client.post(f"/api/v1/shipments/{shipment}/label")
    assert r.status_code == 201 and r.json()["status"] == "label_created", r.text
    return str(carrier), str(r.json()["tracking_number"])


def _hand_over(client: TestClient, carrier: str, warehouse: str, shipment: str) -> None:
    r = client.post("/api/v1/manifests", json={"carrier": carrier, "warehouse": warehouse})
    assert r.status_code == 201, r.text
    assert [s["shipment"] for s in r.json()["shipments"]] == [shipment]


@contextmanager
def _carrier(app: Any, live_server: LiveServer) -> Iterator[RunningFakeCarrier]:
    settings = FakeCarrierSettings(api_key=API_KEY, webhook_url=None, webhook_secret=SECRET)
    with running_fake_carrier(settings) as fake:
        app.state.carriers = registry_for(fake.base_url)
        yield fake


def _deliver(fake: RunningFakeCarrier, live_server: LiveServer, carrier: str, tracking_number: str) -> None:
    """The carrier's scans, handed over to delivered, arrive as signed webhooks."""
    fake.state.settings.webhook_url = f"{live_server.url}/api/v1/carriers/{carrier}/tracking"
    handed, transit, _, out, delivered = CODES[carrier]
    t0 = datetime.now(UTC) - timedelta(hours=5)
    for i, code in enumerate((handed, transit, out, delivered), start=1):
        fake.add_event(tracking_number, code, t0 + timedelta(hours=i))
    assert all(d["status"] == 200 for d in fake.state.webhook_deliveries), fake.state.webhook_deliveries


def test_leg_shipped_while_another_is_still_to_pick(
    client: TestClient, engine: Engine, app: Any, live_server: LiveServer
) -> None:
    order = _split_order(client, engine)
    number = order["number"]
    with _carrier(app, live_server) as fake:
        # Leg A (Moscow) is picked, packed and labelled; leg B (St Petersburg) has no pick list yet.
        leg_a = _pick_all(client, "MSK", number)
        assert _status(client, number) == "picking"
        carrier_a, tracking_a = _pack_and_label(client, leg_a, "SKU-A")
        assert _status(client, number) == "picking", "one leg packed, the other not even picked: not packed"

        _hand_over(client, carrier_a, "MSK", leg_a)
        assert _status(client, number) == "partially_shipped"
        assert _steps(client, number) == ["confirmed", "allocated", "picking", "partially_shipped"]
        assert stock_of(engine, "MSK", "SKU-A") == (4, 0) and stock_of(engine, "SPB", "SKU-B") == (5, 1)

        # Leg B is still pickable although the order is partially shipped.
        leg_b = _pick_all(client, "SPB", number)
        assert leg_b != leg_a and _status(client, number) == "partially_shipped"
        carrier_b, tracking_b = _pack_and_label(client, leg_b, "SKU-B")
        assert _status(client, number) == "partially_shipped"
        _hand_over(client, carrier_b, "SPB", leg_b)
        assert _status(client, number) == "shipped"
        assert stock_of(engine, "SPB", "SKU-B") == (4, 0)

        # Delivered leg by leg: the order is delivered once both are.
        _deliver(fake, live_server, carrier_a, tracking_a)
        assert client.get(f"/api/v1/shipments/{leg_a}").json()["status"] == "delivered"
        assert _status(client, number) == "shipped"
        _deliver(fake, live_server, carrier_b, tracking_b)
        assert _status(client, number) == "delivered"

    assert _steps(client, number) == [
        "confirmed",
        "allocated",
        "picking",
        "partially_shipped",
        "shipped",
        "delivered",
    ]

    # The shopper hears "part of your order is on its way" with the first parcel's tracking number.
    with unit_of_work(engine) as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "order.partially_shipped")).one()
        message = Message(row.id, row.topic, row.aggregate_type, row.aggregate_id, row.payload, 1)
        settings = NotifySettings(secret_key="test", email_events=["partially_shipped"])
        assert plan_shopper(s, message, settings=settings) >= 1
        bodies = s.scalars(select(Delivery.body_text).where(Delivery.event == "partially_shipped")).all()
    assert bodies and all("Часть вашего заказа" in b and tracking_a in b for b in bodies), bodies
    assert all(tracking_b not in b for b in bodies), "the second parcel had not left yet"


def test_leg_of_an_order_already_packed_can_still_be_picked(client: TestClient, engine: Engine) -> None:
    """Orders marked packed while a leg had no pick list (before partial shipping was derived honestly)."""
    order = _split_order(client, engine)
    leg_a = _pick_all(client, "MSK", order["number"])
    assert client.post("/api/v1/packing/start", json={"barcode": leg_a}).status_code == 200
    client.post(f"/api/v1/packing/{leg_a}/scan", json={"barcode": BARCODES["SKU-A"]})
    assert client.post(f"/api/v1/packing/{leg_a}/close", json={}).status_code == 200
    assert _status(client, order["number"]) == "picking"
    with unit_of_work(engine) as s:
        s.execute(update(Order).where(Order.id == order["id"]).values(status=OrderStatus.packed.value))

    leg_b = _pick_all(client, "SPB", order["number"])
    assert client.get(f"/api/v1/shipments/{leg_b}").json()["status"] == "picking"
    assert _status(client, order["number"]) == "packed", "derived status never goes backwards"


def test_unpicked_leg_counts_as_still_in_the_warehouse() -> None:
    assert derived_order_status([S.packed], unpicked=True) is OrderStatus.picking
    assert derived_order_status([S.handed_over], unpicked=True) is OrderStatus.partially_shipped
    assert derived_order_status([S.delivered], unpicked=True) is OrderStatus.partially_shipped
    assert derived_order_status([S.handed_over]) is OrderStatus.shipped
    assert derived_order_status([S.cancelled], unpicked=True) is None
