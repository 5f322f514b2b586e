"""Periodic jobs: late orders are announced once; expired idempotency keys and old outbox rows purged."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from tests.notifications.support import drain, fetch, seed_and_order
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.idempotency import IdempotencyRecord
from zakaz.notifications.jobs import detect_delayed, purge
from zakaz.notifications.models import Delivery
from zakaz.orders.models import Order, OrderEvent
from zakaz.outbox import OutboxMessage


def test_an_order_past_ship_by_is_announced_once(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    with unit_of_work(engine) as s:
        s.execute(update(Order).where(Order.id == order["id"]).values(ship_by=utcnow() - timedelta(hours=1)))
    assert detect_delayed(engine) == "1 orders marked delayed"
    assert detect_delayed(engine) == "0 orders marked delayed"
    drain(engine)
    delayed = fetch(engine, select(Delivery).where(Delivery.event == "delayed").order_by(Delivery.channel))
    assert [d.channel for d in delayed] == ["email", "sms"]
    assert "задерживается" in delayed[0].subject
    events = fetch(engine, select(OrderEvent).where(OrderEvent.type == "delayed"))
    assert len(events) == 1 and events[0].actor == "worker"
    page = client.get("/api/v1/orders/" + order["number"]).json()
    assert "delayed" in [e["type"] for e in page["timeline"]]


def test_purge_removes_old_keys_and_done_rows(client: TestClient, engine: Engine) -> None:
    seed_and_order(client, engine)
    client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers={"Idempotency-Key": "k1"})
    drain(engine)
    with unit_of_work(engine) as s:
        s.execute(update(IdempotencyRecord).values(created_at=utcnow() - timedelta(days=3)))
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "done")
            .values(processed_at=utcnow() - timedelta(days=8))
        )
    result = purge(engine, keep_done=timedelta(days=7))
    assert result.startswith("1 idempotency keys")
    with unit_of_work(engine, read_only=True) as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "done"))
            == 0
        )
