"""Issue #7, Ozon FBS shipments in our fulfilment, case by case (SQLite and PostgreSQL, fake Ozon on
loopback): our carriers are never asked about an FBS shipment while rFBS keeps them; Ozon's label is waited
for (API, back office, hand-over) and then served; Ozon's cancellation after packing; one package per
shipment when an order ships from two warehouses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.fulfilment.helpers import stock_of
from tests.marketplaces_db import test_ozon_fbs_flow as flow
from tests.marketplaces_db.conftest import Ozon, by_type, our_sku
from tests.marketplaces_db.test_ozon_fbs_flow import (
    PUSH,
    drain,
    fake_moves,
    make_due,
    pack,
    pick,
    pick_and_pack,
    sync_later,
)
from tests.web import conftest as web_fixtures
from tests.web.conftest import WebClient
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.outbound import LABEL_TOPIC
from zakaz.marketplaces.ozon.fake_server import build_push_posting_cancelled, seed_postings
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE
from zakaz.marketplaces.sync import sync_orders
from zakaz.orders.models import Order
from zakaz.outbox import OutboxMessage

Carriers = tuple[CarrierRegistry, list[str]]
# Fixtures of other modules used here: our carriers (spied), the back office's users and logged-in client.
carriers = flow.carriers
web, web_users, as_role = web_fixtures.web, web_fixtures.web_users, web_fixtures.as_role


def sync(ozon: Ozon) -> None:
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.errors == 0, report.error_ids


def shipment_of(client: TestClient, order_number: str) -> dict[str, Any]:
    [found] = client.get("/api/v1/shipments", params={"order": order_number}).json()["items"]
    return dict(client.get(f"/api/v1/shipments/{found['number']}").json())


def test_fbs_shipment_never_reaches_our_carriers_while_rfbs_uses_them(
    ozon: Ozon, client: TestClient, carriers: Carriers
) -> None:
    registry, calls = carriers
    [fbs] = seed_postings(ozon.state, 1, seed=11)
    [rfbs] = seed_postings(ozon.state, 1, seed=3, rfbs=True)
    sync(ozon)
    fbs_order, rfbs_order = ozon.order(fbs).number, ozon.order(rfbs).number
    warehouses = {s["warehouse"] for s in client.get("/api/v1/shipments").json()["items"]} or {"MSK"}
    pick_and_pack(client, "MSK")
    if "SPB" in warehouses:  # pragma: no cover  (routing puts both at MSK today)
        pick_and_pack(client, "SPB")

    # FBS: Ozon is the carrier; shopping and booking refuse to involve ours, with a reason.
    shipment = shipment_of(client, fbs_order)
    number = shipment["number"]
    r = client.post(f"/api/v1/shipments/{number}/rate-shop", json={})
    assert r.status_code == 200 and r.json()["carrier"] == "ozon"
    assert r.json()["rate_choice"]["policy"] == "marketplace" and r.json()["rate_choice"]["rejected"] == []
    for body in ({}, {"carrier": "cdek", "service": "136"}):
        r = client.post(f"/api/v1/shipments/{number}/label", json=body)
        assert r.status_code == 409 and r.json()["type"] == "/problems/booked-by-marketplace", r.text
    assert client.post("/api/v1/carriers/ozon/tracking", content=b"{}").status_code == 404
    assert calls == []

    # rFBS: the seller delivers with our carriers, and Ozon is told the tracking number.
    rfbs_shipment = shipment_of(client, rfbs_order)
    assert rfbs_shipment["carrier"] is None and rfbs_shipment["delivered_by_marketplace"] is False
    r = client.post(f"/api/v1/shipments/{rfbs_shipment['number']}/label", json={})
    assert r.status_code == 201, r.text
    booked = r.json()
    assert booked["carrier"] in registry.carriers and booked["label_status"] == "ready"
    assert {c.split(".")[1] for c in calls} == {"quote", "book", "label"}  # book renders the label
    drain(ozon, registry)
    assert ozon.state.postings[rfbs]["tracking_number"] == booked["tracking_number"]
    assert shipment_of(client, rfbs_order)["tracking_number"] == booked["tracking_number"]

    # Both postings were shipped on Ozon; only the FBS shipment took the posting number.
    assert ozon.state.calls_to("/v4/posting/fbs/ship") == 2
    assert shipment_of(client, fbs_order)["tracking_number"] == fbs
    assert [c for c in calls if c.endswith(".book")] == [f"{booked['carrier']}.book"]


def test_label_not_ready_is_waited_for_then_served(
    ozon: Ozon, client: TestClient, carriers: Carriers, as_role: Callable[[str], WebClient]
) -> None:
    registry, _ = carriers
    [number] = seed_postings(ozon.state, 1, seed=11)
    sync(ozon)
    [shipment] = pick_and_pack(client)
    office = as_role("warehouse")
    station = office.get(f"/fulfilment/packing/{shipment}").text
    assert "Ozon (FBS)" in station and "Ozon delivers this parcel" in station
    assert "Create label" not in station

    drain(ozon, registry)
    # The label job was deferred without using an attempt; nothing is dead.
    with unit_of_work(ozon.engine, read_only=True) as s:
        [job] = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == LABEL_TOPIC)).all()
        assert (job.status, job.attempts) == ("pending", 0) and job.available_at > utcnow()
        assert not s.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")).all()
    assert ozon.state.calls_to("/v2/posting/fbs/package-label") == 1

    # Visible everywhere, and never an error page: the station says so, the PDF link comes back to it,
    # the API answers 409 label-not-ready and the hand-over waits for the label.
    station = office.get(f"/fulfilment/packing/{shipment}").text
    assert "Ozon has not printed this label yet" in station and f"{number}" in station
    assert "Label (PDF)" not in station
    r = office.get(f"/fulfilment/shipments/{shipment}/label.pdf", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/fulfilment/packing/{shipment}"
    assert "Ozon has not printed this label yet" in office.get(r.headers["location"]).text
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert r.status_code == 409 and r.json()["type"] == "/problems/label-not-ready"
    r = client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"})
    assert r.status_code == 409 and "wait for the marketplace's label" in r.json()["detail"]

    # Still not ready on the next try (40 s later): deferred again, no attempt used.
    ozon.clock.advance(40)
    make_due(ozon.engine)
    drain(ozon, registry)
    assert ozon.state.calls_to("/v2/posting/fbs/package-label") == 2
    assert client.get(f"/api/v1/shipments/{shipment}").json()["label_status"] == "pending"

    ozon.clock.advance(10)
    make_due(ozon.engine)
    drain(ozon, registry)
    r = office.get(f"/fulfilment/shipments/{shipment}/label.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    station = office.get(f"/fulfilment/packing/{shipment}").text
    assert "Label (PDF)" in station and "Ozon has not printed this label yet" not in station
    assert client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"}).status_code == 201
    with unit_of_work(ozon.engine, read_only=True) as s:
        [job] = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == LABEL_TOPIC)).all()
        assert (job.status, job.attempts) == ("done", 1)


def _cancel_push(ozon: Ozon, number: str, old_state: str) -> dict[str, Any]:
    posting = ozon.state.postings[number]
    return build_push_posting_cancelled(
        posting_number=number,
        products=[(p["sku"], p["quantity"]) for p in posting["products"]],
        old_state=old_state,
        changed_state_date=ozon.state.now(),
        reason_id=0,
        reason_message="Отменено Ozon",
        warehouse_id=FBS_WAREHOUSE,
        seller_id=ozon.state.seller_id,
    )


def test_ozon_cancels_after_packing(ozon: Ozon, client: TestClient, carriers: Carriers) -> None:
    registry, calls = carriers
    [shipped, unshipped] = seed_postings(ozon.state, 2, seed=11)
    sync(ozon)
    order = ozon.order(shipped)
    units = {our_sku(p["offer_id"]): p["quantity"] for p in ozon.state.postings[shipped]["products"]}
    before = {sku: stock_of(ozon.engine, "MSK", sku) for sku in units}
    numbers = pick_and_pack(client)
    [shipment] = [n for n in numbers if n.startswith(order.number)]
    drain(ozon, registry)  # both postings shipped on Ozon: our shipments have labels coming
    assert client.get(f"/api/v1/shipments/{shipment}").json()["status"] == "label_created"

    # Ozon cancels the first one after assembly: the push is re-read and applied.
    assert fake_moves(ozon, shipped, "cancelled").status_code == 200
    push = _cancel_push(ozon, shipped, "posting_transferring_to_delivery")
    assert client.post(PUSH, json=push).status_code == 200
    worker = drain(ozon, registry)
    assert worker.stats.get("dead", 0) == 0
    detail = client.get(f"/api/v1/shipments/{shipment}").json()
    assert detail["status"] == "cancelled" and ozon.order(shipped).status == "cancelled"
    # The reservations are released (nothing left the warehouse), Ozon is not asked to cancel again,
    # and neither Ozon's nor our carriers' booking is "cancelled" by us.
    for sku in units:
        assert stock_of(ozon.engine, "MSK", sku)[0] == before[sku][0]
    assert ozon.state.calls_to("/v2/posting/fbs/cancel") == 0 and calls == []
    events = ozon.events(order.id)
    reasons = [e["reason"] for e in by_type(events, "status_changed") if e["to"] == "cancelled"]
    assert reasons and "cancelled on Ozon by ozon" in reasons[0]
    assert [e.type for e in events].count("shipment_cancelled") == 1

    # The second: Ozon cancels it once our courier has it -> our order is not undone; a human looks.
    assert client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"}).status_code == 409
    ozon.clock.advance(46)
    make_due(ozon.engine)
    drain(ozon, registry)
    assert client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"}).status_code == 201
    assert fake_moves(ozon, unshipped, "cancelled").status_code == 200
    sync_later(ozon)
    assert ozon.order(unshipped).status == "shipped"
    row = ozon.posting(unshipped)
    assert row.needs_attention and "check the return" in row.note


def test_ozon_cancels_before_our_ship_call(ozon: Ozon, client: TestClient, carriers: Carriers) -> None:
    registry, calls = carriers
    [number] = seed_postings(ozon.state, 1, seed=11)
    sync(ozon)
    [shipment] = pick_and_pack(client)
    assert fake_moves(ozon, number, "cancelled").status_code == 200
    sync_later(ozon)
    drain(ozon, registry)  # the queued ship job finds nothing to do
    assert ozon.state.calls_to("/v4/posting/fbs/ship") == 0
    assert client.get(f"/api/v1/shipments/{shipment}").json()["status"] == "cancelled"
    assert ozon.order(number).status == "cancelled" and calls == []


def _two_product_posting(ozon: Ozon) -> str:
    for seed in range(20, 60):
        numbers = seed_postings(ozon.state, 1, seed=seed)
        if len(ozon.state.postings[numbers[0]]["products"]) == 2:
            return numbers[0]
        del ozon.state.postings[numbers[0]]
    raise AssertionError("no two-product posting")


def test_order_from_two_warehouses_ships_one_package_per_shipment(
    ozon: Ozon, client: TestClient, carriers: Carriers, engine: Engine
) -> None:
    registry, calls = carriers
    number = _two_product_posting(ozon)
    first, second = (our_sku(p["offer_id"]) for p in ozon.state.postings[number]["products"])
    from tests.factories import set_stock

    set_stock(engine, "MSK", second, 0)  # MSK has only the first article, SPB only the second
    set_stock(engine, "SPB", first, 0)
    sync(ozon)
    order = ozon.order(number)
    assert order.status == "allocated"
    msk, spb = pick(client, "MSK"), pick(client, "SPB")
    pack(client, msk)
    drain(ozon, registry)
    assert ozon.state.calls_to("/v4/posting/fbs/ship") == 0  # waits until the SPB parcel is packed too
    pack(client, spb)
    drain(ozon, registry)

    [ship] = ozon.state.bodies("/v4/posting/fbs/ship")
    assert len(ship["packages"]) == 2
    children = [f"{ozon.state.postings[number]['order_number']}-{k}" for k in (2, 3)]
    assert [ozon.state.postings[c]["status"] for c in children] == ["awaiting_deliver"] * 2
    by_shipment = {s: client.get(f"/api/v1/shipments/{s}").json() for s in [*msk, *spb]}
    assert sorted(d["tracking_number"] for d in by_shipment.values()) == children
    assert {d["status"] for d in by_shipment.values()} == {"label_created"}

    # The split parent does not cancel our order; the children are followed, never imported as orders.
    sync(ozon)
    assert ozon.order(number).status == "packed"
    with unit_of_work(ozon.engine, read_only=True) as s:
        assert s.scalar(select(Order.id).where(Order.external_id.in_(children))) is None
        rows = s.scalars(select(MarketplacePosting).where(MarketplacePosting.order_id == order.id)).all()
        assert sorted(r.external_id for r in rows) == sorted([number, *children])

    ozon.clock.advance(46)
    make_due(ozon.engine)
    drain(ozon, registry)
    for shipment, detail in by_shipment.items():
        r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
        assert r.status_code == 200 and detail["tracking_number"].encode() in r.content
    for warehouse in ("MSK", "SPB"):
        r = client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": warehouse})
        assert r.status_code == 201, r.text
    assert ozon.order(number).status == "shipped"
    for child in children:
        assert fake_moves(ozon, child, "delivering").status_code == 200
        assert fake_moves(ozon, child, "delivered").status_code == 200
    sync_later(ozon)
    assert ozon.order(number).status == "delivered" and calls == []


def test_ship_job_is_retry_safe_after_ozon_took_the_call(
    ozon: Ozon, client: TestClient, carriers: Carriers
) -> None:
    """Ozon applied our ship call but the answer was lost (or we crashed before storing it): the retry gets
    POSTING_ALREADY_SHIPPED, which counts as success, and the shipment is stored once."""
    registry, _ = carriers
    [number] = seed_postings(ozon.state, 1, seed=11)
    sync(ozon)
    [shipment] = pick_and_pack(client)
    products = [
        {"product_id": p["sku"], "quantity": p["quantity"]} for p in ozon.state.postings[number]["products"]
    ]
    headers = {"Client-Id": ozon.state.client_id, "Api-Key": ozon.state.api_key}
    body = {"posting_number": number, "packages": [{"products": products}]}
    assert httpx.post(ozon.url + "/v4/posting/fbs/ship", json=body, headers=headers).status_code == 200
    worker = drain(ozon, registry)
    assert worker.stats.get("dead", 0) == 0 and ozon.state.calls_to("/v4/posting/fbs/ship") == 2
    detail = client.get(f"/api/v1/shipments/{shipment}").json()
    assert (detail["status"], detail["tracking_number"]) == ("label_created", number)
    assert not ozon.posting(number).needs_attention
    drain(ozon, registry)  # the shipment.packed and order.packed messages both ran: still one booking
    assert [e["type"] for e in detail["events"]].count("status_changed") == 3
