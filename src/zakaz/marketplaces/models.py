"""Tables of the marketplace integration: connections, mappings, postings, sync state, push inbox, returns.

One connection per marketplace account (``channel`` + ``client_id``). Everything else hangs off a
connection, so a second Ozon shop (or another marketplace) is more rows, not more tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import Money, UTCDateTime


class MarketplaceConnection(Base):
    """Credentials of one marketplace account. The API key is stored encrypted (``crypto.py``)."""

    __tablename__ = "marketplace_connections"
    __table_args__ = (UniqueConstraint("channel", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default="")
    client_id: Mapped[str] = mapped_column(String(64))
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    api_key_last4: Mapped[str] = mapped_column(String(4))
    base_url: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MarketplaceWarehouse(Base):
    """Marketplace warehouse id -> our warehouse (the stock source and, for FBS, the order's address)."""

    __tablename__ = "marketplace_warehouses"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    external_id: Mapped[str] = mapped_column(String(32))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    name: Mapped[str] = mapped_column(String(255), default="")
    push_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MarketplaceProduct(Base):
    """Seller article (Ozon ``offer_id``) -> our product. Without a row, ``offer_id`` == our SKU."""

    __tablename__ = "marketplace_products"
    __table_args__ = (
        UniqueConstraint("connection_id", "offer_id"),
        Index("ix_marketplace_products_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    offer_id: Mapped[str] = mapped_column(String(64))
    marketplace_sku: Mapped[str | None] = mapped_column(String(32))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MarketplacePosting(Base):
    """One marketplace posting and the order it became (``order_id`` None: seen but not imported)."""

    __tablename__ = "marketplace_postings"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        Index("ix_marketplace_postings_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    external_status: Mapped[str] = mapped_column(String(48), default="")
    external_substatus: Mapped[str | None] = mapped_column(String(64))
    warehouse_external_id: Mapped[str | None] = mapped_column(String(32))
    fulfilment_scheme: Mapped[str | None] = mapped_column(String(32))
    #: [{"offer_id", "marketplace_sku", "quantity"}]: what the ship call needs (Ozon SKUs).
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # our ship call was accepted
    tracking_sent: Mapped[str | None] = mapped_column(String(64))
    cancel_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    label_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MarketplaceSyncState(Base):
    """Cursor and outcome of one kind of sync (``orders``, ``returns``, ``stocks``) per connection."""

    __tablename__ = "marketplace_sync_state"
    __table_args__ = (UniqueConstraint("connection_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    kind: Mapped[str] = mapped_column(String(16))
    cursor_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    position: Mapped[int] = mapped_column(Integer, default=0)  # e.g. last stock_movements id seen
    status: Mapped[str] = mapped_column(String(16), default="never")
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)


class MarketplaceSyncError(Base):
    """One thing that went wrong (a posting that could not be imported, a refused stock pair...)."""

    __tablename__ = "marketplace_sync_errors"
    __table_args__ = (Index("ix_marketplace_sync_errors_connection", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MarketplacePush(Base):
    """The push inbox: every accepted notification, once (``dedupe_key`` is unique)."""

    __tablename__ = "marketplace_push_inbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_marketplace_push_inbox_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_connections.id"))
    message_type: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/done/stored/failed
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MarketplaceStock(Base):
    """Free stock per (marketplace warehouse, offer): what we want there and what was last accepted."""

    __tablename__ = "marketplace_stocks"
    __table_args__ = (UniqueConstraint("connection_id", "warehouse_external_id", "offer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    warehouse_external_id: Mapped[str] = mapped_column(String(32))
    offer_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    pushed_quantity: Mapped[int | None] = mapped_column(Integer)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class MarketplaceReturn(Base):
    """Returns pulled from the marketplace, kept as a plain list for after-sales (not built yet)."""

    __tablename__ = "marketplace_returns"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        Index("ix_marketplace_returns_posting", "posting_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    posting_number: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    offer_id: Mapped[str | None] = mapped_column(String(64))
    marketplace_sku: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_price_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    barcode: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
