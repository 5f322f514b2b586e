"""Create, verify and revoke API keys."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from zakaz.auth.models import ApiKey
from zakaz.auth.roles import Role
from zakaz.clock import utcnow
from zakaz.errors import NotFound

KEY_PREFIX = "zk_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough to authorise and to write ``actor`` on timeline rows."""

    key_id: int
    role: Role
    name: str

    @property
    def actor(self) -> str:
        return f"apikey:{self.name or self.key_id}"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(session: Session, *, role: Role, name: str = "") -> tuple[ApiKey, str]:
    """Return the stored row and the raw key (shown once, never stored)."""
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=hash_key(raw), role=role.value)
    session.add(row)
    session.flush()
    return row, raw


def revoke_api_key(session: Session, *, prefix: str) -> None:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise NotFound(f"no API key with prefix {prefix}")
    row.revoked_at = utcnow()


class KeyCache:
    """A short-lived cache of verified keys so that a request does not pay a query for its key."""

    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        # Least recently used first; bounded, since unknown tokens (a client guessing keys) are cached too.
        self._entries: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_maker: sessionmaker[Session], raw: str) -> Principal | None:
        digest = hash_key(raw)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and now - hit[0] < self.ttl:
            with self._lock:
                if digest in self._entries:
                    self._entries.move_to_end(digest)
            return hit[1]
        with session_maker() as session:
            row = session.execute(
                select(ApiKey.id, ApiKey.role, ApiKey.name, ApiKey.revoked_at).where(
                    ApiKey.key_hash == digest
                )
            ).first()
        principal = None
        if row is not None and row.revoked_at is None:
            principal = Principal(key_id=row.id, role=Role(row.role), name=row.name)
        with self._lock:
            self._entries[digest] = (now, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return principal

    def clear(self) -> None:
        self._entries.clear()
