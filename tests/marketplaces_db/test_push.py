"""POST /api/v1/marketplaces/ozon/push: documented answer shapes, dedupe, processing by the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.marketplaces_db.conftest import Ozon, by_type, our_sku
from zakaz.db import unit_of_work
from zakaz.inventory.models import Reservation, StockLevel
from zakaz.marketplaces.models import MarketplacePush
from zakaz.marketplaces.ozon.fake_server import (
    build_push_new_posting_for,
    build_push_posting_cancelled,
    build_push_state_changed,
    seed_postings,
)
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE
from zakaz.marketplaces.sync import sync_orders

PUSH = "/api/v1/marketplaces/ozon/push"


@pytest.fixture
def ozon_client(app: Any, ozon: Ozon) -> Any:
    with TestClient(app) as c:  # no Authorization header: Ozon has no API key of ours
        yield c


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["details"] is None
    return str(body["error"]["code"])


def test_ping_answers_version_name_time(ozon_client: TestClient) -> None:
    r = ozon_client.post(PUSH, json={"message_type": "TYPE_PING", "time": "2026-11-27T06:56:36.294Z"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"version", "name", "time"}
    assert body["name"] == "Zakaz" and body["time"].endswith("Z")
    datetime.fromisoformat(body["time"].replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "ERROR_UNKNOWN"),
        (b"", 400, "ERROR_UNKNOWN"),
        (b"[1, 2]", 400, "ERROR_UNKNOWN"),
        (b'{"posting_number": "1-2-3"}', 400, "ERROR_PARAMETER_VALUE_MISSED"),
        (b'{"message_type": "TYPE_NEW_POSTING", "products": []}', 400, "ERROR_PARAMETER_VALUE_MISSED"),
        (
            b'{"message_type": "TYPE_STATE_CHANGED", "posting_number": "1", "changed_state_date": "soon"}',
            400,
            "ERROR_PARAMETER_VALUE_MISSED",
        ),
    ],
)
def test_malformed_push_gets_the_documented_error_shape(
    ozon_client: TestClient, raw: bytes, status: int, code: str
) -> None:
    r = ozon_client.post(PUSH, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert error_code(r) == code


def test_duplicate_push_is_answered_and_processed_once(ozon: Ozon, ozon_client: TestClient) -> None:
    [number] = seed_postings(ozon.state, 1)
    body = build_push_new_posting_for(ozon.state.postings[number], seller_id=ozon.state.seller_id)
    first = ozon_client.post(PUSH, json=body)
    assert first.status_code == 200 and first.json() == {"result": True}
    again = ozon_client.post(PUSH, json=body)
    # acknowledged like the first (a non-200 would be resent and count against Ozon's 50% rule), stored once
    assert again.status_code == 200 and again.json() == {"result": True}
    assert len(ozon.outbox("marketplace.push_received")) == 1
    ozon.drain()
    ozon.drain()
    assert [o.external_id for o in ozon.orders()] == [number]
    assert ozon.order(number).status == "allocated"
    with unit_of_work(ozon.engine, read_only=True) as s:
        assert [p.status for p in s.scalars(select(MarketplacePush))] == ["done"]


def test_chat_push_is_stored_not_processed(ozon: Ozon, ozon_client: TestClient) -> None:
    body = {
        "message_type": "TYPE_NEW_MESSAGE",
        "chat_id": "b646d975-0c9c-4872-9f41-8b1e57181063",
        "chat_type": "Buyer_Seller",
        "message_id": "3000000000817031942",
        "created_at": "2022-07-18T20:58:04.528Z",
        "user": {"id": "115568", "type": "Customer"},
        "data": ["Здравствуйте"],
        "seller_id": "7",
    }
    assert ozon_client.post(PUSH, json=body).json() == {"result": True}
    assert ozon_client.post(PUSH, json=body).json() == {"result": True}
    assert ozon.outbox("marketplace.push_received") == []
    with unit_of_work(ozon.engine, read_only=True) as s:
        assert [p.status for p in s.scalars(select(MarketplacePush))] == ["stored"]


def test_source_allow_list(ozon: Ozon, ozon_client: TestClient) -> None:
    ozon.settings.push_allowed_networks = ["195.34.21.0/24"]
    r = ozon_client.post(PUSH, json={"message_type": "TYPE_PING", "time": "2026-11-27T06:56:36.294Z"})
    assert r.status_code == 403 and error_code(r) == "ERROR_UNKNOWN"


def reserved(ozon: Ozon, sku: str) -> int:
    with unit_of_work(ozon.engine, read_only=True) as s:
        from zakaz.catalog.models import Product

        return sum(
            s.scalars(
                select(StockLevel.reserved)
                .join(Product, Product.id == StockLevel.product_id)
                .where(Product.sku == sku)
            )
        )


def test_cancellation_push_cancels_and_releases_stock(ozon: Ozon, ozon_client: TestClient) -> None:
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    products = ozon.state.postings[number]["products"]
    skus = [our_sku(p["offer_id"]) for p in products]
    assert order.status == "allocated" and all(reserved(ozon, sku) > 0 for sku in skus)

    ozon.state.postings[number]["cancellation"].update(
        {"cancel_reason_id": 507, "cancel_reason": "Покупатель передумал", "cancellation_type": "client"}
    )
    ozon.state.set_status(number, "cancelled", "posting_canceled")
    push = build_push_posting_cancelled(
        posting_number=number,
        products=[(p["sku"], p["quantity"]) for p in products],
        old_state="posting_created",
        changed_state_date=ozon.state.now(),
        reason_id=507,
        reason_message="Покупатель передумал",
        warehouse_id=FBS_WAREHOUSE,
        seller_id=ozon.state.seller_id,
    )
    assert ozon_client.post(PUSH, json=push).json() == {"result": True}
    assert ozon_client.post(PUSH, json=push).json() == {"result": True}  # a resend: acknowledged, stored once
    ozon.drain()

    order = ozon.order(number)
    assert order.status == "cancelled"
    assert all(reserved(ozon, sku) == 0 for sku in skus)
    with unit_of_work(ozon.engine, read_only=True) as s:
        statuses = set(s.scalars(select(Reservation.status).where(Reservation.order_id == order.id)))
    assert statuses == {"released"}
    events = ozon.events(order.id)
    assert by_type(events, "marketplace_status")[0]["to"] == "cancelled"
    cancel = [e for e in events if e.to_status == "cancelled"]
    assert len(cancel) == 1 and "Покупатель передумал" in (cancel[0].reason or "")
    # Ozon cancelled it: we must not call Ozon's cancel back.
    assert ozon.state.calls_to("/v2/posting/fbs/cancel") == 0


def test_state_push_is_a_hint_the_posting_is_reread(ozon: Ozon, ozon_client: TestClient) -> None:
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    # The push claims "delivered" but Ozon's current state is still awaiting_packaging (out of order).
    push = build_push_state_changed(
        posting_number=number,
        new_state="posting_delivered",
        changed_state_date=ozon.state.now(),
        warehouse_id=FBS_WAREHOUSE,
        seller_id=ozon.state.seller_id,
    )
    assert ozon_client.post(PUSH, json=push).status_code == 200
    ozon.drain()
    assert ozon.order(number).status == "allocated"
    assert ozon.state.calls_to("/v3/posting/fbs/get") == 1


def test_push_for_unknown_connection_is_kept_and_marked_failed(ozon: Ozon, ozon_client: TestClient) -> None:
    with unit_of_work(ozon.engine) as s:
        from zakaz.marketplaces.models import MarketplaceConnection

        row = s.get(MarketplaceConnection, ozon.connection_id)
        assert row is not None
        row.active = False
    body: dict[str, Any] = orjson.loads(
        orjson.dumps(
            build_push_state_changed(
                posting_number="1-1-1",
                new_state="posting_delivered",
                changed_state_date=ozon.state.now(),
                warehouse_id=FBS_WAREHOUSE,
                seller_id=42,
            )
        )
    )
    assert ozon_client.post(PUSH, json=body).status_code == 200
    ozon.drain()
    with unit_of_work(ozon.engine, read_only=True) as s:
        [push] = s.scalars(select(MarketplacePush)).all()
        assert push.status == "failed" and "no Ozon connection" in (push.error or "")
