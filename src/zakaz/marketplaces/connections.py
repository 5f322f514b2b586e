"""Marketplace connections: store credentials (encrypted), read them back, build adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.errors import FieldError, NotFound, ValidationFailed
from zakaz.marketplaces import crypto
from zakaz.marketplaces.models import MarketplaceConnection
from zakaz.marketplaces.ozon.adapter import OzonAdapter
from zakaz.marketplaces.ozon.client import OzonClient, OzonCredentials, RetryPolicy
from zakaz.marketplaces.ozon.endpoints import BASE_URL, E
from zakaz.marketplaces.settings import MarketplaceSettings

OZON = "ozon"
#: What a Client-Id and an API address look like (the API's ``ConnectionIn`` checks the same; issue #7).
CLIENT_ID_PATTERN = r"^[0-9A-Za-z_\-]+$"
BASE_URL_PATTERN = r"^https?://"


@dataclass(frozen=True)
class Connection:
    """A connection with its key decrypted: lives only in memory, never in a view or a log."""

    id: int
    channel: str
    name: str
    client_id: str
    base_url: str
    api_key: str = field(repr=False)


#: Builds the adapter for a connection; tests pass their own (virtual clocks, small pages).
AdapterFactory = Callable[[Connection], OzonAdapter]


def ozon_adapter(connection: Connection) -> OzonAdapter:
    credentials = OzonCredentials(connection.client_id, connection.api_key)
    return OzonAdapter(OzonClient(credentials, base_url=connection.base_url))


@contextmanager
def open_adapter(factory: AdapterFactory, connection: Connection) -> Iterator[OzonAdapter]:
    adapter = factory(connection)
    try:
        yield adapter
    finally:
        adapter.client.close()


def connection_view(c: MarketplaceConnection) -> dict[str, Any]:
    """What the API shows: never the key, only its last four characters."""
    return {
        "id": c.id,
        "channel": c.channel,
        "name": c.name,
        "client_id": c.client_id,
        "api_key_last4": c.api_key_last4,
        "base_url": c.base_url,
        "active": c.active,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def find_connection(session: Session, channel: str = OZON) -> MarketplaceConnection | None:
    """The channel's connection (the oldest one when a shop has several)."""
    return session.scalar(
        select(MarketplaceConnection)
        .where(MarketplaceConnection.channel == channel)
        .order_by(MarketplaceConnection.id)
        .limit(1)
    )


def get_connection_row(session: Session, channel: str = OZON) -> MarketplaceConnection:
    row = find_connection(session, channel)
    if row is None:
        raise NotFound(f"no {channel} connection; create one first")
    return row


def active_connection_ids(session: Session, channel: str = OZON) -> list[int]:
    return list(
        session.scalars(
            select(MarketplaceConnection.id)
            .where(MarketplaceConnection.channel == channel, MarketplaceConnection.active.is_(True))
            .order_by(MarketplaceConnection.id)
        )
    )


def connection_for_seller(session: Session, seller_id: str | None, channel: str = OZON) -> int | None:
    """The connection a push belongs to: by seller id (= Client-Id) when it matches, else the first one."""
    if seller_id:
        found = session.scalar(
            select(MarketplaceConnection.id).where(
                MarketplaceConnection.channel == channel, MarketplaceConnection.client_id == seller_id
            )
        )
        if found is not None:
            return found
    ids = active_connection_ids(session, channel)
    return ids[0] if ids else None


def load_connection(session: Session, connection_id: int, settings: MarketplaceSettings) -> Connection:
    row = session.get(MarketplaceConnection, connection_id)
    if row is None:
        raise NotFound(f"no marketplace connection {connection_id}")
    return Connection(
        id=row.id,
        channel=row.channel,
        name=row.name,
        client_id=row.client_id,
        base_url=row.base_url,
        api_key=crypto.decrypt(row.api_key_encrypted, settings),
    )


def save_connection(
    session: Session,
    *,
    settings: MarketplaceSettings,
    channel: str = OZON,
    name: str,
    client_id: str,
    api_key: str | None,
    base_url: str | None = None,
    active: bool = True,
) -> tuple[MarketplaceConnection, bool]:
    """Create or update the channel's connection; ``api_key`` None keeps the stored one."""
    row = find_connection(session, channel)
    created = row is None
    if api_key is not None and len(api_key.strip()) < 8:
        raise ValidationFailed([FieldError("api_key", "too_short", "an API key has at least 8 characters")])
    if row is None:
        if not api_key:
            raise ValidationFailed([FieldError("api_key", "required", "give the API key")])
        row = MarketplaceConnection(channel=channel, created_at=utcnow())
        session.add(row)
    elif not api_key and base_url and base_url.rstrip("/") != (row.base_url or BASE_URL).rstrip("/"):
        # the stored key is only ever sent where it was entered for: a new address needs the key again
        raise ValidationFailed(
            [FieldError("api_key", "required", "give the API key again to change the API address")]
        )
    if api_key:
        row.api_key_encrypted = crypto.encrypt(api_key.strip(), settings)
        row.api_key_last4 = crypto.last4(api_key.strip())
    row.name, row.client_id, row.active = name, client_id.strip(), active
    row.base_url = (base_url or row.base_url or BASE_URL).rstrip("/")
    row.updated_at = utcnow()
    session.flush()
    return row, created


# ------------------------------------------------------------ calls made while a person waits (issue #7)

#: The back office asks Ozon while a page loads: a short timeout and one quick retry, never minutes.
INTERACTIVE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0, max_retry_after=2.0)


def interactive_client(connection: Connection, *, timeout: float = 10.0) -> OzonClient:
    credentials = OzonCredentials(connection.client_id, connection.api_key)
    return OzonClient(credentials, base_url=connection.base_url, timeout=timeout, retry=INTERACTIVE_RETRY)


@dataclass(frozen=True)
class KeyRoles:
    """What ``/v1/roles`` says about the API key: role names and when it expires (if Ozon tells)."""

    roles: tuple[str, ...]
    expires_at: str | None


def check_key(client: OzonClient) -> KeyRoles:
    """The cheap credential check (notes 1.1): raises the client's typed errors (403 bad key, ...)."""
    data = client.call(E.ROLES, {})
    roles = data.get("roles") if isinstance(data.get("roles"), list) else []
    names = tuple(str(r.get("name")) for r in roles or () if isinstance(r, dict) and r.get("name"))
    expires = data.get("expires_at")
    return KeyRoles(names, str(expires) if expires else None)


@dataclass(frozen=True)
class OzonWarehouse:
    external_id: str
    name: str
    is_rfbs: bool
    status: str


def list_ozon_warehouses(client: OzonClient) -> list[OzonWarehouse]:
    """The seller's warehouses on Ozon (``E.WAREHOUSES``: one call a minute, so callers keep the answer)."""
    items = client.iter_cursor(E.WAREHOUSES, {}, items_key=("warehouses", "items"))
    out = [
        OzonWarehouse(
            external_id=str(w["warehouse_id"]),
            name=str(w.get("name") or ""),
            is_rfbs=bool(w.get("is_rfbs")) or "rfbs" in str(w.get("warehouse_type") or "").lower(),
            status=str(w.get("status") or ""),
        )
        for w in items
        if w.get("warehouse_id") is not None
    ]
    return sorted(out, key=lambda w: (w.name, w.external_id))
