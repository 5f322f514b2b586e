"""Stored results of mutating requests keyed by ``Idempotency-Key`` (Stripe's semantics).

The first response is replayed for the same key and the same request; the same key with a different
request is a conflict. Keys are scoped to the API key that used them and kept at least 24 hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import JSON, Integer, String, UniqueConstraint, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base, execute_or_defer
from zakaz.errors import IdempotencyMismatch
from zakaz.sqltypes import UTCDateTime

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=48)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def lookup(session: Session, *, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
    row = session.execute(
        select(
            IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response
        ).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch(
            "this Idempotency-Key was already used with a different request", idempotency_key=key
        )
    return StoredResponse(row.status_code, row.response)


def remember(
    session: Session, *, scope: str, key: str, fingerprint: str, status_code: int, body: dict[str, Any]
) -> None:
    """Store the response in the same transaction as the change it describes (in a batch of orders, after
    the batch's own rows: :func:`zakaz.db.execute_or_defer`)."""
    execute_or_defer(
        session,
        insert(IdempotencyRecord),
        [
            {
                "scope": scope,
                "key": key,
                "request_hash": fingerprint,
                "status_code": status_code,
                "response": body,
                "created_at": utcnow(),
            }
        ],
    )


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - RETENTION
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
