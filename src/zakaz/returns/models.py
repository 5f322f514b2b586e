"""Return requests (RMA), their lines and events, the refund ledger and the quarantine of damaged units.

``refunds`` is the money ledger per order: one row per refund, each with a unique ``key`` so that a
repeated request finds the row it already wrote instead of refunding twice. ``return_quarantine`` keeps
units that came back unfit for sale: they never re-enter stock, yet nothing disappears from the records
(received = restocked + quarantined + missing, per line).

Return labels (issue #6): ``label_status`` is None (instructions only), ``pending`` (a booking is queued),
``ready`` (``carrier_code``/``service_code``/``booking_id``/``tracking_number``/``label_pdf`` hold the
booking) or ``failed`` (``label_error`` says why; the instructions still stand). ``label_attempt`` counts
bookings asked for: the carrier idempotency key contains it, so a retry books nothing new and a re-issue
books afresh. ``return_sources`` links each marketplace return (``marketplace_returns``) to the RMA it
became, or says why it could not become one yet (``problem``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import Money, UTCDateTime


class ReturnRequest(Base):
    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_returns_status_created", "status", "created_at", "id"),
        Index("ix_returns_order", "order_id"),
        Index("ix_returns_carrier_tracking", "carrier_code", "tracking_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: "return" (money back), "exchange" (a replacement order) or "cancellation" (a marketplace posting
    #: cancelled after it left: the goods come back to stock, nobody is refunded)
    kind: Mapped[str] = mapped_column(String(16), default="return")
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="api")
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    review_note: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    carrier_code: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    label_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    service_code: Mapped[str | None] = mapped_column(String(32))
    booking_id: Mapped[str | None] = mapped_column(String(64))
    #: None (instructions only) | pending | ready | failed
    label_status: Mapped[str | None] = mapped_column(String(16))
    label_error: Mapped[str | None] = mapped_column(Text)
    label_attempt: Mapped[int] = mapped_column(Integer, default=0)
    #: occurred_at of the newest carrier scan applied; older scans are recorded, never applied
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the carrier delivered the parcel to the warehouse (receiving, i.e. counting, is still to do)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    #: the units' value at the prices paid, when requested (auto-approval limit, queue)
    value_minor: Mapped[int] = mapped_column(Money, default=0)
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("restocked_qty + quarantined_qty <= quantity", name="inspected_within_quantity"),
        Index("ix_return_lines_return", "return_id"),
        Index("ix_return_lines_order_line", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    #: exchanges: what the shopper wants instead (another size or another SKU)
    exchange_sku: Mapped[str | None] = mapped_column(String(64))
    condition: Mapped[str | None] = mapped_column(String(24))
    restocked_qty: Mapped[int] = mapped_column(Integer, default=0)
    quarantined_qty: Mapped[int] = mapped_column(Integer, default=0)


class ReturnEvent(Base):
    """The return's own history (append-only); the order timeline gets a matching event."""

    __tablename__ = "return_events"
    __table_args__ = (
        Index("ix_return_events_return", "return_id", "id"),
        Index("ux_return_events_event_id", "event_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    #: carrier scan id (tracking events are deduplicated by it); None for our own events
    event_id: Mapped[str | None] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Refund(Base):
    """The refund ledger: money given back per order, by which provider, and why (the explanation)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        Index("ix_refunds_order", "order_id", "id"),
        Index("ix_refunds_return", "return_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id"))
    #: "refund" (quoted), "override" (operator's amount), "exchange_difference" or "exchange_charge" (issue
    #: #6: owed BY the shopper for a dearer replacement; never counted as refunded)
    kind: Mapped[str] = mapped_column(String(24), default="refund")
    amount_minor: Mapped[int] = mapped_column(Money)
    quoted_minor: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    provider: Mapped[str] = mapped_column(String(32))
    #: pending (sent, not confirmed) -> succeeded | recorded (marketplace / offline) | failed
    status: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: per line_no: units whose price / shipping share this refund covered (quote's input next time)
    units: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shipping_units: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedUnit(Base):
    """Returned units not fit for sale: kept on record (with the RMA) instead of going back to stock."""

    __tablename__ = "return_quarantine"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_return_quarantine_return", "return_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    return_line_id: Mapped[int] = mapped_column(ForeignKey("return_lines.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: issue #6: written off (a ``write_off`` stock movement with the RMA as reference); None: still held
    written_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    written_off_by: Mapped[str | None] = mapped_column(String(128))


class ReturnSource(Base):
    """A marketplace return and the RMA it became (``return_id``), or why not yet (``problem``).

    One row per ``marketplace_returns`` row (unique), so re-pulling the same marketplace return finds it.
    ``applied_status`` is the marketplace status last applied: the same status again changes nothing.
    """

    __tablename__ = "return_sources"
    __table_args__ = (Index("ix_return_sources_return", "return_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_return_id: Mapped[int] = mapped_column(ForeignKey("marketplace_returns.id"), unique=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id"))
    #: unknown_posting | order_not_imported | unknown_sku | quantity | None (linked)
    problem: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    applied_status: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReturnPhoto(Base):
    """A shopper's (or operator's) photo of a return (issue #6): JPEG, PNG or WebP, checked by its bytes.

    Kept in the database (``data`` deferred: lists never load it); see ``returns/photos.py``."""

    __tablename__ = "return_photos"
    __table_args__ = (Index("ix_return_photos_return", "return_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    filename: Mapped[str] = mapped_column(String(255))
    #: image/jpeg | image/png | image/webp, from the magic bytes (never the declared type)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
