"""Warehouses, stock levels (on hand / reserved), reservations and the stock-movement ledger."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import UTCDateTime


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(500), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cutoff_time: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StockLevel(Base):
    """One row per (warehouse, product). ``available`` is derived: on_hand - reserved."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "product_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
        Index("ix_stock_levels_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    bin_location: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementReason(StrEnum):
    receipt = "receipt"
    adjustment = "adjustment"
    stocktake = "stocktake"
    damage = "damage"
    reservation = "reservation"
    release = "release"
    shipment = "shipment"
    return_restock = "return_restock"
    #: issue #6: returned units kept out of stock (on_hand_delta 0; the note says how many) and their
    #: write-off; the column is a plain string, so no migration
    return_quarantine = "return_quarantine"
    write_off = "write_off"
    import_ = "import"


class StockMovement(Base):
    """Append-only ledger: every change of on_hand or reserved is one row."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_stock_level", "stock_level_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReservationStatus(StrEnum):
    active = "active"
    released = "released"
    consumed = "consumed"


class Reservation(Base):
    """Units of one order line held at one warehouse."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_order", "order_id"),
        Index("ix_reservations_stock_level_status", "stock_level_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no foreign-key constraints to the order and its line (migration 0015; ``zakaz db check``)
    order_id: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int] = mapped_column(Integer)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.active)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
