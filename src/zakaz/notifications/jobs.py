"""Periodic jobs: late orders (notify once), purge of expired idempotency keys and old done outbox rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz import idempotency
from zakaz.clock import utcnow
from zakaz.db import run_in_transaction
from zakaz.orders.models import Order, OrderEvent
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline
from zakaz.outbox import OutboxMessage, OutboxStatus
from zakaz.worker.scheduler import PeriodicJob
from zakaz.worker.settings import WorkerSettings

#: Statuses in which an order has not left the warehouse yet, so a passed ship_by means it is late.
NOT_SHIPPED = [
    s.value
    for s in (
        OrderStatus.new,
        OrderStatus.on_hold,
        OrderStatus.confirmed,
        OrderStatus.allocated,
        OrderStatus.backordered,
        OrderStatus.picking,
        OrderStatus.packed,
    )
]
DELAYED_BATCH = 500


def mark_delayed(session: Session, *, limit: int = DELAYED_BATCH) -> int:
    """Record a ``delayed`` timeline event (outbox topic ``order.delayed``) once per late order."""
    already = exists().where(OrderEvent.order_id == Order.id, OrderEvent.type == "delayed")
    late = session.scalars(
        select(Order)
        .where(Order.status.in_(NOT_SHIPPED), Order.ship_by.is_not(None), Order.ship_by < utcnow(), ~already)
        .order_by(Order.id)
        .limit(limit)
    ).all()
    timeline = Timeline()
    for order in late:
        ship_by = order.ship_by.isoformat() if order.ship_by else None
        timeline.record(order, "delayed", actor="worker", data={"ship_by": ship_by}, topic="order.delayed")
    timeline.flush(session)
    return len(late)


def detect_delayed(engine: Engine) -> str:
    return f"{run_in_transaction(engine, mark_delayed)} orders marked delayed"


def purge(engine: Engine, *, keep_done: timedelta) -> str:
    def work(session: Session) -> tuple[int, int]:
        keys = idempotency.purge_expired(session)
        result = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.done.value,
                OutboxMessage.processed_at < utcnow() - keep_done,
            )
        )
        return keys, int(getattr(result, "rowcount", 0) or 0)

    keys, rows = run_in_transaction(engine, work)
    return f"{keys} idempotency keys and {rows} done outbox rows purged"


def periodic_jobs(settings: WorkerSettings) -> list[PeriodicJob]:
    keep = timedelta(days=settings.keep_done_days)
    return [
        PeriodicJob(
            "orders.detect_delayed", timedelta(seconds=settings.delayed_check_seconds), detect_delayed
        ),
        PeriodicJob(
            "maintenance.purge",
            timedelta(seconds=settings.purge_interval_seconds),
            lambda e: purge(e, keep_done=keep),
        ),
    ]
