"""Issue #7, Ozon FBS end to end through OUR fulfilment, on SQLite and PostgreSQL, against the fake Ozon on
loopback: a new posting -> sync -> allocated -> pick list -> packing scans -> shipped on Ozon (the posting
number is the tracking number) -> Ozon's label on the shipment -> hand-over manifest -> Ozon delivers ->
push and sync -> our shipment and order are delivered, every step on the timelines. Our own carriers are
configured (on the fake carrier server) and never called."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.fulfilment.helpers import registry_for, stock_of
from tests.marketplaces_db.conftest import Ozon, by_type, our_sku
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.cli.worker_cmd import add_fulfilment_work
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.fulfilment.models import Shipment, ShipmentEvent
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.inventory.models import MovementReason, StockMovement
from zakaz.marketplaces.jobs import build_handlers
from zakaz.marketplaces.ozon.fake_control import CONTROL_PATH
from zakaz.marketplaces.ozon.fake_server import build_push_state_changed, seed_postings
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE
from zakaz.marketplaces.sync import sync_orders
from zakaz.outbox import OutboxMessage
from zakaz.worker.runner import Worker
from zakaz.worker.settings import WorkerSettings

PUSH = "/api/v1/marketplaces/ozon/push"
CARRIER_METHODS = ("quote", "book", "label", "track", "cancel")


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def carriers(app: Any) -> Iterator[tuple[CarrierRegistry, list[str]]]:
    """Our three carriers on the fake carrier server, each call to them recorded (``"cdek.quote"``...)."""
    with running_fake_carrier(FakeCarrierSettings(api_key="fake-key", webhook_url=None)) as fake:
        registry = registry_for(fake.base_url)
        calls: list[str] = []
        for code, carrier in registry.carriers.items():
            for name in CARRIER_METHODS:
                original = getattr(carrier, name)

                def spy(*args: Any, _call: Callable[..., Any] = original, _n: str = f"{code}.{name}") -> Any:
                    calls.append(_n)
                    return _call(*args)

                setattr(carrier, name, spy)
        app.state.carriers = registry
        yield registry, calls


def drain(ozon: Ozon, registry: CarrierRegistry, rounds: int = 20) -> Worker:
    """The worker as ``zakaz worker`` wires it for these topics: Ozon jobs plus fulfilment's handlers."""
    handlers = build_handlers(ozon.settings, factory=ozon.factory)
    add_fulfilment_work(handlers, [], registry=registry)
    worker = Worker(
        ozon.engine,
        handlers,
        settings=WorkerSettings(batch_size=20, backoff_base_seconds=0.01, max_attempts=3),
    )
    for _ in range(rounds):
        if not worker.run_once():
            break
    return worker


def make_due(engine: Engine) -> None:
    """Deferred outbox messages (the label job waiting for Ozon) come due now."""
    with unit_of_work(engine) as s:
        s.execute(
            update(OutboxMessage).values(available_at=utcnow()).where(OutboxMessage.status == "pending")
        )


def pick(client: TestClient, warehouse: str = "MSK") -> list[str]:
    """A wave at the warehouse with every line picked; the shipments on it."""
    r = client.post("/api/v1/pick-lists", json={"warehouse": warehouse})
    assert r.status_code == 201, r.text
    wave = r.json()
    for line in wave["lines"]:
        path = f"/api/v1/pick-lists/{wave['number']}/lines/{line['seq']}/pick"
        r = client.post(path, json={"quantity": line["quantity"]})
        assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/pick-lists/{wave['number']}/complete").status_code == 200
    return sorted({o["shipment"] for line in wave["lines"] for o in line["orders"]})


def pack(client: TestClient, shipments: list[str]) -> list[str]:
    """Each shipment scanned at the packing station item by item, and its box closed."""
    for number in shipments:
        r = client.post("/api/v1/packing/start", json={"barcode": number})
        assert r.status_code == 200, r.text
        for line in r.json()["lines"]:
            for _ in range(line["remaining"]):  # one scan per unit, as at the station
                r = client.post(f"/api/v1/packing/{number}/scan", json={"barcode": line["sku"]})
                assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/packing/{number}/close", json={})
        assert r.status_code == 200, r.text
    return shipments


def pick_and_pack(client: TestClient, warehouse: str = "MSK") -> list[str]:
    return pack(client, pick(client, warehouse))


def fake_moves(ozon: Ozon, number: str, status: str, substatus: str | None = None) -> httpx.Response:
    """Ozon's logistics moves the posting: the fake's fake-only control endpoint, over HTTP."""
    body: dict[str, Any] = {"posting_number": number, "status": status}
    if substatus:
        body["substatus"] = substatus
    headers = {"Client-Id": ozon.state.client_id, "Api-Key": ozon.state.api_key}
    return httpx.post(ozon.url + CONTROL_PATH, json=body, headers=headers, timeout=5)


def sync_later(ozon: Ozon) -> None:
    """A sync at the fake's "now" (its virtual clock runs ahead of ours once labels were waited for)."""
    now = ozon.state.now() + timedelta(seconds=1)  # listing windows are whole seconds
    report = sync_orders(
        ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory, now=now
    )
    assert report.errors == 0 and report.listing_failed is None, report.error_ids


def state_push(ozon: Ozon, number: str, new_state: str) -> dict[str, Any]:
    return build_push_state_changed(
        posting_number=number,
        new_state=new_state,
        changed_state_date=ozon.state.now(),
        warehouse_id=FBS_WAREHOUSE,
        seller_id=ozon.state.seller_id,
    )


def shipment_events(engine: Engine, number: str) -> list[tuple[str, str | None, str | None]]:
    with unit_of_work(engine, read_only=True) as s:
        rows = s.execute(
            select(ShipmentEvent.type, ShipmentEvent.from_status, ShipmentEvent.to_status)
            .join(Shipment, Shipment.id == ShipmentEvent.shipment_id)
            .where(Shipment.number == number)
            .order_by(ShipmentEvent.id)
        ).all()
    return [(r.type, r.from_status, r.to_status) for r in rows]


# ------------------------------------------------------------------------------------------------- test


def test_fbs_posting_from_sync_to_delivered_through_our_shipment(
    ozon: Ozon, client: TestClient, carriers: tuple[CarrierRegistry, list[str]]
) -> None:
    registry, carrier_calls = carriers
    [number] = seed_postings(ozon.state, 1, seed=11)
    posting = ozon.state.postings[number]
    units = {our_sku(p["offer_id"]): p["quantity"] for p in posting["products"]}

    # 1. The posting appears on Ozon; the sync imports it: allocated at MSK (mapped to the FBS warehouse).
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.created == 1 and report.errors == 0
    order = ozon.order(number)
    assert order.status == "allocated"
    before = {sku: stock_of(ozon.engine, "MSK", sku) for sku in units}
    assert all(reserved == units[sku] for sku, (_, reserved) in before.items())

    # 2. Pick list, packing scans, box closed: Ozon is the carrier, our carriers were not quoted.
    [shipment] = pick_and_pack(client)
    detail = client.get(f"/api/v1/shipments/{shipment}").json()
    assert detail["status"] == "packed" and detail["carrier"] == "ozon" and detail["service"] == "fbs"
    assert detail["delivered_by_marketplace"] is True and detail["label_status"] is None
    assert detail["rate_choice"]["policy"] == "marketplace"
    assert "delivered by marketplace" in detail["rate_choice"]["reason"]
    assert ozon.order(number).status == "packed"

    # 3. The worker ships the posting on Ozon, one package with what was packed (Ozon SKUs).
    drain(ozon, registry)
    [ship] = ozon.state.bodies("/v4/posting/fbs/ship")
    sent = {(i["product_id"], i["quantity"]) for i in ship["packages"][0]["products"]}
    assert len(ship["packages"]) == 1 and sent == {(p["sku"], p["quantity"]) for p in posting["products"]}
    assert posting["status"] == "awaiting_deliver"
    detail = client.get(f"/api/v1/shipments/{shipment}").json()
    assert detail["status"] == "label_created" and detail["tracking_number"] == number
    assert detail["label_status"] == "pending"  # Ozon prints the label 45-60 s after assembly

    # 4. Label not ready: a clear 409, never a 500; the job waits and then stores Ozon's PDF.
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert r.status_code == 409 and r.json()["type"] == "/problems/label-not-ready", r.text
    ozon.clock.advance(46)
    make_due(ozon.engine)
    drain(ozon, registry)
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and number.encode() in r.content
    assert client.get(f"/api/v1/shipments/{shipment}").json()["label_status"] == "ready"

    # 5. Hand-over: Ozon's courier collects; stock leaves exactly as for any carrier.
    r = client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"})
    assert r.status_code == 201, r.text
    assert [(s["shipment"], s["tracking_number"]) for s in r.json()["shipments"]] == [(shipment, number)]
    assert ozon.order(number).status == "shipped"
    for sku, qty in units.items():
        on_hand, reserved = before[sku]
        assert stock_of(ozon.engine, "MSK", sku) == (on_hand - qty, reserved - qty)
    with unit_of_work(ozon.engine, read_only=True) as s:
        moved = s.scalars(
            select(StockMovement.on_hand_delta).where(
                StockMovement.reference == order.number,
                StockMovement.reason == MovementReason.shipment.value,
            )
        ).all()
    assert sorted(moved) == sorted(-q for q in units.values())

    # 6. Ozon delivers: a push for "delivering", then the sync sees "delivered".
    assert fake_moves(ozon, number, "delivering").status_code == 200
    assert client.post(PUSH, json=state_push(ozon, number, "posting_on_way_to_city")).json() == {
        "result": True
    }
    drain(ozon, registry)
    assert client.get(f"/api/v1/shipments/{shipment}").json()["status"] == "in_transit"
    assert fake_moves(ozon, number, "delivered").status_code == 200
    sync_later(ozon)
    drain(ozon, registry)

    detail = client.get(f"/api/v1/shipments/{shipment}").json()
    assert detail["status"] == "delivered" and detail["delivered_at"]
    assert ozon.order(number).status == "delivered"
    assert shipment_events(ozon.engine, shipment) == [
        ("created", None, "ready_to_pick"),
        ("status_changed", "ready_to_pick", "picking"),
        ("status_changed", "picking", "packed"),
        ("status_changed", "packed", "label_created"),
        ("label", "label_created", "label_created"),
        ("status_changed", "label_created", "handed_over"),
        ("tracking", "handed_over", "in_transit"),
        ("tracking", "in_transit", "delivered"),
    ]
    events = ozon.events(order.id)
    steps = [e.type if e.type != "status_changed" else f"order_{e.to_status}" for e in events]
    expected = [
        "order_allocated",
        "shipment_ready_to_pick",
        "shipment_picking",
        "order_picking",
        "shipment_packed",
        "order_packed",
        "marketplace_shipped",
        "shipment_label_created",
        "marketplace_label",
        "shipment_handed_over",
        "order_shipped",
        "marketplace_status",
        "shipment_in_transit",
        "marketplace_status",
        "shipment_delivered",
        "order_delivered",
    ]
    assert steps[steps.index("order_allocated") :] == expected, steps
    assert [e["to"] for e in by_type(events, "marketplace_status")] == ["delivering", "delivered"]
    assert by_type(events, "marketplace_label")[0]["shipment"] == shipment

    # Repeats change nothing; our carriers were configured all along and never called.
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    drain(ozon, registry)
    assert ozon.state.calls_to("/v4/posting/fbs/ship") == 1
    assert len(shipment_events(ozon.engine, shipment)) == 8
    assert carrier_calls == []
