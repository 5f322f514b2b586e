"""Orders, their lines and the timeline (order events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import Money, UTCDateTime


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        Index("ix_orders_status_created", "status", "created_at", "id"),
        Index("ix_orders_created", "created_at", "id"),
        Index("ix_orders_customer", "customer_id"),
        Index("ix_orders_contact_phone", "contact_phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(32), default="api")
    external_id: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(24))
    payment_status: Mapped[str] = mapped_column(String(24), default="pending")
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    subtotal_minor: Mapped[int] = mapped_column(Money, default=0)
    shipping_minor: Mapped[int] = mapped_column(Money, default=0)
    discount_minor: Mapped[int] = mapped_column(Money, default=0)
    total_minor: Mapped[int] = mapped_column(Money, default=0)
    contact_name: Mapped[str] = mapped_column(String(255), default="")
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    ship_name: Mapped[str] = mapped_column(String(255), default="")
    ship_country: Mapped[str] = mapped_column(String(2), default="RU")
    ship_region: Mapped[str] = mapped_column(String(120), default="")
    ship_city: Mapped[str] = mapped_column(String(120), default="")
    ship_postcode: Mapped[str] = mapped_column(String(16), default="")
    ship_line1: Mapped[str] = mapped_column(String(255), default="")
    ship_line2: Mapped[str] = mapped_column(String(255), default="")
    ship_latitude: Mapped[float | None] = mapped_column(Float)
    ship_longitude: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str | None] = mapped_column(String(16))
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hold_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    allocation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Lines, timeline events and reservations reference their order without a foreign-key constraint
    # (migration 0015: written with the order, checked by ``zakaz db check``).
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        order_by="OrderLine.line_no",
        cascade="all, delete-orphan",
        primaryjoin="Order.id == foreign(OrderLine.order_id)",
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
        Index("ix_order_lines_order", "order_id"),
        Index("ix_order_lines_sku", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Money)
    line_total_minor: Mapped[int] = mapped_column(Money)

    order: Mapped[Order] = relationship(
        back_populates="lines", primaryjoin="Order.id == foreign(OrderLine.order_id)"
    )


class OrderEvent(Base):
    """The timeline: who did what, when and why. Append-only."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    reason: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
