"""Claiming and settling outbox rows.

One statement per status claims a batch on both databases::

    UPDATE outbox SET status='processing', claimed_by=:me, attempts=attempts+1, available_at=:lease_end
    WHERE id IN (SELECT id FROM outbox WHERE status = :s AND available_at <= :now
                 ORDER BY available_at, id LIMIT :n FOR UPDATE SKIP LOCKED)
      AND status = :s AND available_at <= :now
    RETURNING ...

(run for ``processing`` rows whose lease expired, then for ``pending`` rows).

On PostgreSQL ``SKIP LOCKED`` lets several workers claim disjoint batches without waiting on each other.
SQLite has no row locks (SQLAlchemy drops the clause); the write transaction starts with
``BEGIN IMMEDIATE``, so the conditional ``UPDATE`` is serialised and two workers can never claim one row.

``available_at`` doubles as the lease: a ``processing`` row whose ``available_at`` has passed belongs to
a worker that crashed (or stalled) and is claimable again. ``attempts`` is counted at claim time, so a
message that kills its worker every time still reaches ``max_attempts`` and is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zakaz.outbox import OutboxMessage as M
from zakaz.outbox import OutboxStatus as S
from zakaz.worker.types import Message

_NO_SYNC = {"synchronize_session": False}


def claim(session: Session, *, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Message]:
    """Claim up to ``limit`` due rows: expired leases first (rare), then pending rows, oldest first.

    One status per statement keeps each a range scan of ``ix_outbox_status_available``
    (status, available_at, id) in index order; ``status IN (...)`` would sort every due row per claim.
    """
    got = _claim(session, S.processing, worker_id=worker_id, limit=limit, lease=lease, now=now)
    if len(got) < limit:
        got += _claim(session, S.pending, worker_id=worker_id, limit=limit - len(got), lease=lease, now=now)
    return sorted(got, key=lambda m: m.id)


def _claim(
    session: Session, status: S, *, worker_id: str, limit: int, lease: timedelta, now: datetime
) -> list[Message]:
    due = (M.status == status.value) & (M.available_at <= now)
    batch = (
        select(M.id)
        .where(due)
        .order_by(M.available_at, M.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(M)
        .where(M.id.in_(batch), due)
        .values(
            status=S.processing.value, claimed_by=worker_id, attempts=M.attempts + 1, available_at=now + lease
        )
        .returning(M.id, M.topic, M.aggregate_type, M.aggregate_id, M.payload, M.attempts)
        .execution_options(**_NO_SYNC)
    )
    return [Message(*row) for row in session.execute(stmt).all()]


def extend_lease(session: Session, ids: Sequence[int], *, worker_id: str, until: datetime) -> None:
    if ids:
        session.execute(
            update(M)
            .where(M.id.in_(ids), M.claimed_by == worker_id, M.status == S.processing.value)
            .values(available_at=until)
            .execution_options(**_NO_SYNC)
        )


def complete(session: Session, ids: Sequence[int], *, worker_id: str, now: datetime) -> int:
    """Mark done; a row whose lease was lost to another worker is left to that worker."""
    if not ids:
        return 0
    result = session.execute(
        update(M)
        .where(M.id.in_(ids), M.claimed_by == worker_id, M.status == S.processing.value)
        .values(status=S.done.value, processed_at=now, last_error=None)
        .execution_options(**_NO_SYNC)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def fail(
    session: Session, message: Message, *, worker_id: str, error: str, retry_at: datetime | None
) -> None:
    """Back to pending at ``retry_at``, or dead when ``retry_at`` is None."""
    values: dict[str, object] = {"last_error": error[:4000]}
    if retry_at is None:
        values.update(status=S.dead.value, processed_at=None)
    else:
        values.update(status=S.pending.value, available_at=retry_at)
    session.execute(
        update(M)
        .where(M.id == message.id, M.claimed_by == worker_id, M.status == S.processing.value)
        .values(**values)
        .execution_options(**_NO_SYNC)
    )


def defer(session: Session, message: Message, *, worker_id: str, until: datetime, reason: str) -> None:
    """Pending again at ``until``; the attempt taken by the claim is given back."""
    session.execute(
        update(M)
        .where(M.id == message.id, M.claimed_by == worker_id, M.status == S.processing.value)
        .values(status=S.pending.value, available_at=until, attempts=M.attempts - 1, last_error=reason)
        .execution_options(**_NO_SYNC)
    )
