"""Shipments, their lines and events, wave pick lists and carrier manifests.

A shipment line is bound to exactly one stock reservation (``reservation_id`` is unique), so hand-over
consumes precisely the units that shipment carries even when an order has several legs or re-allocations.
Bins are not modelled here: a pick-list line copies ``StockLevel.bin_location`` when the list is made.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import Money, UTCDateTime


class PickList(Base):
    """A wave: many orders' lines at one warehouse, merged per SKU and bin and sorted in walking order."""

    __tablename__ = "pick_lists"
    __table_args__ = (Index("ix_pick_lists_warehouse_status", "warehouse_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(16))
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    unit_count: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PickListLine(Base):
    __tablename__ = "pick_list_lines"
    __table_args__ = (
        CheckConstraint("picked_qty + short_qty <= quantity", name="picked_within_quantity"),
        Index("ix_pick_list_lines_list", "pick_list_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"))
    seq: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    bin_location: Mapped[str | None] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    picked_qty: Mapped[int] = mapped_column(Integer, default=0)
    short_qty: Mapped[int] = mapped_column(Integer, default=0)


class Manifest(Base):
    """End-of-day hand-over list for one carrier at one warehouse; closing it hands its shipments over."""

    __tablename__ = "manifests"
    __table_args__ = (Index("ix_manifests_carrier_warehouse", "carrier_code", "warehouse_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(48), unique=True)
    carrier_code: Mapped[str] = mapped_column(String(32))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    shipment_count: Mapped[int] = mapped_column(Integer, default=0)
    parcel_count: Mapped[int] = mapped_column(Integer, default=0)
    total_weight_g: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(128), default="system")
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier_code", "tracking_number"),
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_status_warehouse", "status", "warehouse_id", "id"),
        Index("ix_shipments_manifest", "manifest_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(48), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(24))
    pick_list_id: Mapped[int | None] = mapped_column(ForeignKey("pick_lists.id"))
    manifest_id: Mapped[int | None] = mapped_column(ForeignKey("manifests.id"))
    box_code: Mapped[str | None] = mapped_column(String(32))
    weight_g: Mapped[int | None] = mapped_column(Integer)
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    carrier_code: Mapped[str | None] = mapped_column(String(32))
    service_code: Mapped[str | None] = mapped_column(String(32))
    price_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    promised_date: Mapped[date | None] = mapped_column(Date)
    estimated_delivery_date: Mapped[date | None] = mapped_column(Date)
    #: policy, chosen rate and every rejected alternative with its reason (what the UI shows).
    rate_choice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    booking_id: Mapped[str | None] = mapped_column(String(64))
    label_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    #: occurred_at of the newest carrier event applied; older events are recorded but never applied.
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShipmentLine(Base):
    """The units of one reservation travelling in one shipment; effective quantity = quantity - short_qty."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("picked_qty + short_qty <= quantity", name="picked_within_quantity"),
        CheckConstraint("packed_qty <= picked_qty", name="packed_within_picked"),
        Index("ix_shipment_lines_shipment", "shipment_id"),
        Index("ix_shipment_lines_pick_list_line", "pick_list_line_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), unique=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id"))
    pick_list_line_id: Mapped[int | None] = mapped_column(ForeignKey("pick_list_lines.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    picked_qty: Mapped[int] = mapped_column(Integer, default=0)
    packed_qty: Mapped[int] = mapped_column(Integer, default=0)
    short_qty: Mapped[int] = mapped_column(Integer, default=0)


class ShipmentEvent(Base):
    """Shipment history: our own status changes and every carrier scan (``event_id`` dedupes scans)."""

    __tablename__ = "shipment_events"
    __table_args__ = (Index("ix_shipment_events_shipment", "shipment_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    event_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    raw_code: Mapped[str | None] = mapped_column(String(64))
    applied: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(128), default="system")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
