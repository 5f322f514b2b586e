"""The single way an order changes status: :func:`transition`.

It checks the transition table, sets the status, and records a timeline event plus an outbox message
in the caller's transaction. Events are buffered in a :class:`Timeline` and written with one
``executemany`` each when the unit of work flushes it, so intake pays two statements for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.orders.models import OrderEvent
from zakaz.orders.states import TOPICS, OrderStatus, check_transition
from zakaz.outbox import add_messages, outbox_row

EVENTS_TABLE = cast(Table, OrderEvent.__table__)


class OrderLike(Protocol):
    """An ORM ``Order`` or an intake draft: anything with these attributes."""

    @property
    def id(self) -> int | None: ...

    number: str
    status: str
    updated_at: datetime


@dataclass
class _Pending:
    order: OrderLike
    row: dict[str, Any]
    topic: str | None

    def payload(self) -> dict[str, Any]:
        """The outbox message's payload but its leading ``order_id``, which every writer puts first."""
        return {
            "number": self.order.number,
            "event": self.row["type"],
            "from_status": self.row["from_status"],
            "to_status": self.row["to_status"],
            "at": self.row["created_at"].isoformat(),
        }


@dataclass
class Timeline:
    """Timeline events and outbox messages waiting to be written in this unit of work."""

    items: list[_Pending] = field(default_factory=list)

    def record(
        self,
        order: OrderLike,
        type_: str,
        *,
        actor: str,
        from_status: str | None = None,
        to_status: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        topic: str | None = None,
        at: datetime | None = None,
    ) -> None:
        row = {
            "type": type_,
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor,
            "reason": reason or None,
            "data": data or {},
            "created_at": at or utcnow(),
        }
        self.items.append(_Pending(order, row, topic))

    def flush(self, session: Session) -> None:
        if not self.items:
            return
        events, messages = [], []
        for item in self.items:
            assert item.order.id is not None, "flush the order before its timeline"
            events.append({**item.row, "order_id": item.order.id})
            if item.topic:
                payload = {"order_id": item.order.id, **item.payload()}
                messages.append(outbox_row(item.topic, "order", item.order.id, payload))
        # Core table insert: one executemany however the None values vary between rows.
        session.execute(insert(EVENTS_TABLE), events)
        add_messages(session, messages)
        self.items.clear()


def transition(
    order: OrderLike,
    target: OrderStatus,
    *,
    timeline: Timeline,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Move ``order`` to ``target`` or raise InvalidTransition (409 with the allowed targets)."""
    check_transition(order.status, target)
    previous = order.status
    now = utcnow()
    order.status = target.value
    order.updated_at = now
    timeline.record(
        order,
        "status_changed",
        actor=actor,
        from_status=previous,
        to_status=target.value,
        reason=reason,
        data=data,
        topic=TOPICS[target],
        at=now,
    )
