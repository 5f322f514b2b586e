"""Duplicate requests racing each other over real HTTP still make exactly one order and one reservation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.db import unit_of_work
from zakaz.inventory.models import Reservation
from zakaz.orders.models import Order


def _seed(engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 100)


def _counts(engine: Engine) -> tuple[int, int]:
    with unit_of_work(engine, read_only=True) as s:
        orders = s.scalar(select(func.count()).select_from(Order)) or 0
        reserved = s.scalar(select(func.coalesce(func.sum(Reservation.quantity), 0))) or 0
    return int(orders), int(reserved)


def test_same_idempotency_key_sent_by_eight_clients_at_once(
    live_server: LiveServer, engine: Engine, make_key: Any
) -> None:
    _seed(engine)
    key = make_key("operator")
    payload = order_payload([("SKU-1", 3)])

    def send(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as c:
            return c.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert _counts(engine) == (1, 3)


def test_same_external_id_sent_by_eight_clients_at_once(
    live_server: LiveServer, engine: Engine, make_key: Any
) -> None:
    _seed(engine)
    key = make_key("operator")
    payload = order_payload([("SKU-1", 2)], channel="web", external_id="SHOP-77")

    def send(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as c:
            return c.post("/api/v1/orders", json=payload)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert _counts(engine) == (1, 2)


def test_retrying_a_cancel_with_its_key_replays_instead_of_failing(
    live_server: LiveServer, engine: Engine, make_key: Any
) -> None:
    _seed(engine)
    headers = {"Authorization": f"Bearer {make_key('operator')}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as c:
        order = c.post("/api/v1/orders", json=order_payload([("SKU-1", 1)])).json()
        first = c.post(f"/api/v1/orders/{order['id']}/cancel", headers={"Idempotency-Key": "cancel-1"})
        retry = c.post(f"/api/v1/orders/{order['id']}/cancel", headers={"Idempotency-Key": "cancel-1"})
        fresh = c.post(f"/api/v1/orders/{order['id']}/cancel", headers={"Idempotency-Key": "cancel-2"})
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert fresh.status_code == 409
