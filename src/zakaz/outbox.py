"""Transactional outbox: side effects are rows written in the same transaction as the change.

A worker (see the notifications issue) claims rows, runs idempotent handlers and retries with backoff.
Payloads carry ids, never objects.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import JSON, Index, Integer, String, Table, Text, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import UTCDateTime


class OutboxStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    done = "done"
    dead = "dead"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def outbox_row(
    topic: str, aggregate_type: str, aggregate_id: int, payload: dict[str, Any], *, at: datetime | None = None
) -> dict[str, Any]:
    now = at or utcnow()
    return {
        "topic": topic,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "payload": payload,
        "status": OutboxStatus.pending.value,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }


def add_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue messages in the caller's transaction (one executemany)."""
    if rows:
        session.execute(insert(cast(Table, OutboxMessage.__table__)), rows)
