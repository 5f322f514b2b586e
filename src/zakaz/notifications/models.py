"""Delivery log, channel preferences, push subscriptions and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import UTCDateTime


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    push = "push"
    webhook = "webhook"


class DeliveryStatus(StrEnum):
    pending = "pending"  # planned (possibly deferred to ``scheduled_for``), not tried yet
    sending = "sending"  # handed to the provider; a crash here means "maybe sent": the retry resends
    sent = "sent"  # the provider accepted it
    recorded = "recorded"  # no provider configured: rendered and kept, nothing left the building
    failed = "failed"  # the last try failed (the outbox retries with backoff, then dead-letters)
    skipped = "skipped"  # opted out since it was planned, or the subscription is gone


#: A delivery in one of these states is never sent again (the channel-side dedupe).
FINAL = frozenset({DeliveryStatus.sent, DeliveryStatus.recorded, DeliveryStatus.skipped})


class Delivery(Base):
    """One message to one recipient over one channel; unique per (source message, channel, recipient)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", "recipient"),
        Index("ix_notification_deliveries_order", "order_id", "id"),
        Index("ix_notification_deliveries_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(Integer)  # the outbox row that caused it
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    topic: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(8), default="ru")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Preference(Base):
    """A customer's choice for one channel; no row means the channel's default (on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PushSubscription(Base):
    """A browser's Web Push subscription to one order (from that order's tracking page); a browser may
    follow several orders, one row each."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        Index("ix_push_subscriptions_customer", "customer_id"),
        UniqueConstraint("order_id", "endpoint", name="uq_push_subscriptions_order_id_endpoint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEndpoint(Base):
    """A URL the seller registered; ``events`` lists topics (empty = every order event)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(64))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
