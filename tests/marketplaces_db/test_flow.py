"""The offline flow against the fake: new posting -> allocated -> packed -> shipped on Ozon -> label ->
delivered; and our own cancellation going out to Ozon with a reason from its list."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.marketplaces_db.conftest import Ozon, by_type
from zakaz.db import unit_of_work
from zakaz.marketplaces.ozon.fake_server import (
    build_push_new_posting_for,
    build_push_state_changed,
    seed_postings,
)
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE
from zakaz.marketplaces.sync import sync_orders
from zakaz.orders import service as orders
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition
from zakaz.orders.views import load_order

PUSH = "/api/v1/marketplaces/ozon/push"


def move(ozon: Ozon, order_id: int, *targets: OrderStatus) -> None:
    """Stand-in for fulfilment (pick/pack/hand-over): the same transition() it uses."""
    with unit_of_work(ozon.engine) as s:
        order = load_order(s, order_id, for_update=True)
        timeline = Timeline()
        for target in targets:
            transition(order, target, timeline=timeline, actor="test-warehouse")
        timeline.flush(s)


def state_push(ozon: Ozon, number: str, state: str) -> dict[str, Any]:
    return build_push_state_changed(
        posting_number=number,
        new_state=state,
        changed_state_date=ozon.state.now(),
        warehouse_id=FBS_WAREHOUSE,
        seller_id=ozon.state.seller_id,
    )


def test_new_posting_to_delivered(ozon: Ozon, app: Any, client: TestClient) -> None:
    [number] = seed_postings(ozon.state, 1)
    posting = ozon.state.postings[number]
    with TestClient(app) as ozon_side:
        # 1. Ozon announces the posting; the worker re-reads it and imports it: allocated.
        push = build_push_new_posting_for(posting, seller_id=ozon.state.seller_id)
        assert ozon_side.post(PUSH, json=push).json() == {"result": True}
        ozon.drain()
        order = ozon.order(number)
        assert order.status == "allocated"

        # 2. Packed in our warehouse -> the ship call goes to Ozon with the Ozon SKUs.
        move(ozon, order.id, OrderStatus.picking, OrderStatus.packed)
        ozon.drain()
        [ship] = ozon.state.bodies("/v4/posting/fbs/ship")
        sent = {(i["product_id"], i["quantity"]) for i in ship["packages"][0]["products"]}
        assert sent == {(p["sku"], p["quantity"]) for p in posting["products"]}
        assert posting["status"] == "awaiting_deliver"
        row = ozon.posting(number)
        assert row.shipped_at is not None and row.external_status == "awaiting_deliver"

        # 3. The label is not ready for 45 s: the job is deferred, then fetched.
        assert row.label_fetched_at is None and ozon.state.calls_to("/v2/posting/fbs/package-label") == 1
        ozon.clock.advance(46)
        with unit_of_work(ozon.engine) as s:  # let the deferred message come due now
            from sqlalchemy import update

            from zakaz.clock import utcnow
            from zakaz.outbox import OutboxMessage

            s.execute(
                update(OutboxMessage).values(available_at=utcnow()).where(OutboxMessage.status == "pending")
            )
        ozon.drain()
        assert ozon.posting(number).label_fetched_at is not None
        label = client.get(f"/api/v1/marketplaces/ozon/postings/{number}/label")
        assert label.status_code == 200 and label.content.startswith(b"%PDF")

        # 4. Our warehouse hands it over (fulfilment marks it shipped); Ozon delivers.
        move(ozon, order.id, OrderStatus.shipped)
        ozon.state.set_status(number, "delivering", "posting_on_way_to_city")
        ozon_side.post(PUSH, json=state_push(ozon, number, "posting_on_way_to_city"))
        ozon.drain()
        ozon.state.set_status(number, "delivered", "posting_delivered")
        ozon_side.post(PUSH, json=state_push(ozon, number, "posting_delivered"))
        ozon.drain()

    order = ozon.order(number)
    assert order.status == "delivered"
    events = ozon.events(order.id)
    assert [e["to"] for e in by_type(events, "marketplace_status")] == ["delivering", "delivered"]
    assert by_type(events, "marketplace_shipped")[0]["status"] == "awaiting_deliver"
    assert by_type(events, "marketplace_label")
    assert [e.to_status for e in events if e.type == "status_changed"][-1] == "delivered"
    # Repeats change nothing: a second packed message or sync does not ship again.
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert ozon.state.calls_to("/v4/posting/fbs/ship") == 1


def test_our_cancellation_is_sent_to_ozon_once(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    with unit_of_work(ozon.engine) as s:
        orders.cancel(s, order.id, actor="operator", reason="out of stock")
    ozon.drain()
    [body] = ozon.state.bodies("/v2/posting/fbs/cancel")
    assert body["posting_number"] == number and body["cancel_reason_id"] == 352
    assert ozon.state.postings[number]["status"] == "cancelled"
    assert by_type(ozon.events(order.id), "marketplace_cancelled")[0]["reason_id"] == "352"
    # The next sync sees Ozon's cancellation: nothing more happens.
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.errors == 0
    ozon.drain()
    assert ozon.state.calls_to("/v2/posting/fbs/cancel") == 1


def test_ship_refused_by_ozon_is_recorded_and_dead_lettered(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    ozon.state.postings[number]["products"][0]["quantity"] += 1  # Ozon now expects another quantity
    move(ozon, order.id, OrderStatus.picking, OrderStatus.packed)
    worker = ozon.drain()
    assert worker.stats["dead"] == 1
    row = ozon.posting(number)
    assert row.needs_attention and "HAS_INCORRECT_PRODUCT_QUANTITY" in row.note


def test_rfbs_tracking_number_is_sent(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1, seed=3, rfbs=True)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    from zakaz.outbox import add_messages, outbox_row

    with unit_of_work(ozon.engine) as s:  # what fulfilment queues when a carrier label is created
        payload = {"order_id": order.id, "tracking_number": "RA123456789RU", "to_status": "label_created"}
        add_messages(s, [outbox_row("shipment.label_created", "shipment", 1, payload)])
        add_messages(s, [outbox_row("shipment.handed_over", "shipment", 1, payload)])
    ozon.drain()
    assert ozon.state.postings[number]["tracking_number"] == "RA123456789RU"
    assert ozon.state.calls_to("/v2/fbs/posting/tracking-number/set") == 1
