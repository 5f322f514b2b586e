"""Tables of the support inbox: conversations (one per marketplace chat) and their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zakaz.clock import utcnow
from zakaz.db import Base
from zakaz.sqltypes import UTCDateTime


class SupportConversation(Base):
    """One chat on a channel (``ozon``: a chat of a marketplace connection), linked to an order when known."""

    __tablename__ = "support_conversations"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_support_conversations_order", "order_id"),
        Index("ix_support_conversations_inbox", "status", "last_message_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_connections.id"))
    external_id: Mapped[str] = mapped_column(String(64))  # Ozon chat_id
    chat_type: Mapped[str] = mapped_column(String(48), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    #: The marketplace order/posting number seen in the chat (kept even when no order matches yet).
    order_ref: Mapped[str | None] = mapped_column(String(64))
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The newest marketplace message id stored: history is fetched from here (the sync cursor).
    last_external_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SupportMessage(Base):
    """One message. Incoming ones are unique by the marketplace's message id; outgoing ones get that id
    when the send is confirmed through the chat history (until then ``external_id`` is NULL)."""

    __tablename__ = "support_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "external_id"),
        Index("ix_support_messages_conversation", "conversation_id", "created_at", "id"),
        Index("ix_support_messages_delivery", "delivery_status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("support_conversations.id"))
    external_id: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))  # rules.Direction
    author_type: Mapped[str] = mapped_column(String(16))  # rules.AuthorType (open vocabulary)
    author: Mapped[str] = mapped_column(String(128), default="")  # "user:<e-mail>" or "ozon:<type>:<id>"
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Incoming: when someone here (or in the marketplace cabinet) read it. Outgoing: read by the buyer.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # outgoing only: rules.DeliveryStatus
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Set (and committed) just before each send: a message with an attempt may already be on Ozon.
    send_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
