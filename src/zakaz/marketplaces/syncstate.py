"""Sync cursors, outcomes and the error list (what the status API shows). Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.marketplaces.models import MarketplaceSyncError, MarketplaceSyncState
from zakaz.worker.sql import insert_ignore

KINDS = ("orders", "stocks", "returns")


def state_for(session: Session, connection_id: int, kind: str, *, lock: bool = False) -> MarketplaceSyncState:
    insert_ignore(
        session,
        MarketplaceSyncState.__table__,  # type: ignore[arg-type]
        {"connection_id": connection_id, "kind": kind, "status": "never", "position": 0, "summary": {}},
    )
    stmt = select(MarketplaceSyncState).where(
        MarketplaceSyncState.connection_id == connection_id, MarketplaceSyncState.kind == kind
    )
    state = session.scalar(stmt.with_for_update() if lock else stmt)
    assert state is not None
    return state


def record_error(
    session: Session,
    connection_id: int,
    kind: str,
    message: str,
    *,
    external_id: str | None = None,
    keep: int = 500,
) -> None:
    session.add(
        MarketplaceSyncError(
            connection_id=connection_id,
            kind=kind,
            external_id=external_id,
            message=message[:4000],
            created_at=utcnow(),
        )
    )
    session.flush()
    oldest_kept = session.scalar(
        select(MarketplaceSyncError.id)
        .where(MarketplaceSyncError.connection_id == connection_id)
        .order_by(MarketplaceSyncError.id.desc())
        .offset(keep)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(MarketplaceSyncError).where(
                MarketplaceSyncError.connection_id == connection_id, MarketplaceSyncError.id <= oldest_kept
            )
        )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def status_view(session: Session, connection_id: int, *, errors: int = 50) -> dict[str, Any]:
    states = session.scalars(
        select(MarketplaceSyncState).where(MarketplaceSyncState.connection_id == connection_id)
    ).all()
    recent = session.scalars(
        select(MarketplaceSyncError)
        .where(MarketplaceSyncError.connection_id == connection_id)
        .order_by(MarketplaceSyncError.id.desc())
        .limit(errors)
    ).all()
    return {
        "syncs": {
            s.kind: {
                "status": s.status,
                "cursor": _iso(s.cursor_at),
                "last_started_at": _iso(s.last_started_at),
                "last_finished_at": _iso(s.last_finished_at),
                "last_success_at": _iso(s.last_success_at),
                "summary": s.summary,
                "last_error": s.last_error,
            }
            for s in states
        },
        "errors": [
            {
                "id": e.id,
                "kind": e.kind,
                "external_id": e.external_id,
                "message": e.message,
                "at": e.created_at.isoformat(),
            }
            for e in recent
        ],
    }
