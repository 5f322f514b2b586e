"""Read side of the inbox for the API and the back office: plain dicts, one query per list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.marketplaces.models import MarketplaceConnection, MarketplaceSyncState
from zakaz.orders.models import Order
from zakaz.support import service
from zakaz.support.models import SupportConversation, SupportMessage
from zakaz.support.rules import ConversationStatus, ReplyCheck
from zakaz.support.sync import CHATS, NO_ACCESS

MAX_MESSAGES = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def conversation_view(
    c: SupportConversation, order_number: str | None = None, customer: str | None = None
) -> dict[str, Any]:
    return {
        "id": c.id,
        "channel": c.channel,
        "chat_id": c.external_id,
        "chat_type": c.chat_type,
        "status": c.status,
        "order": {"id": c.order_id, "number": order_number} if c.order_id else None,
        "order_ref": c.order_ref,
        "customer": customer or None,
        "unread_count": c.unread_count,
        "last_message_at": _iso(c.last_message_at),
        "last_customer_message_at": _iso(c.last_customer_message_at),
        "created_at": _iso(c.created_at),
    }


def message_view(m: SupportMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "external_id": m.external_id,
        "direction": m.direction,
        "author_type": m.author_type,
        "author": m.author,
        "text": m.text,
        "created_at": _iso(m.created_at),
        "read_at": _iso(m.read_at),
        "delivery_status": m.delivery_status,
        "error": m.error,
        "sent_at": _iso(m.sent_at),
    }


def reply_view(check: ReplyCheck) -> dict[str, Any]:
    return {
        "allowed": check.allowed,
        "reason": check.reason.value if check.reason else None,
        "window_ends_at": _iso(check.window_ends_at),
    }


def list_conversations(
    session: Session,
    *,
    status: ConversationStatus | None = None,
    unread: bool | None = None,
    order_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Unread conversations first, then the most recent; each with its order number and customer name."""
    stmt = select(SupportConversation, Order.number, Order.contact_name).outerjoin(
        Order, Order.id == SupportConversation.order_id
    )
    if status is not None:
        stmt = stmt.where(SupportConversation.status == status.value)
    if unread is True:
        stmt = stmt.where(SupportConversation.unread_count > 0)
    elif unread is False:
        stmt = stmt.where(SupportConversation.unread_count == 0)
    if order_id is not None:
        stmt = stmt.where(SupportConversation.order_id == order_id)
    stmt = stmt.order_by(
        (SupportConversation.unread_count > 0).desc(),
        func.coalesce(SupportConversation.last_message_at, SupportConversation.created_at).desc(),
        SupportConversation.id.desc(),
    )
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return [conversation_view(c, number, name) for c, number, name in rows]


def conversation_detail(
    session: Session, conversation_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    conv = service.load_conversation(session, conversation_id)
    number, name = None, None
    if conv.order_id is not None:
        found = session.execute(
            select(Order.number, Order.contact_name).where(Order.id == conv.order_id)
        ).first()
        if found is not None:
            number, name = found
    messages = session.scalars(
        select(SupportMessage)
        .where(SupportMessage.conversation_id == conversation_id)
        .order_by(SupportMessage.created_at.desc(), SupportMessage.id.desc())
        .limit(MAX_MESSAGES)
    ).all()
    return {
        **conversation_view(conv, number, name),
        "messages": [message_view(m) for m in reversed(messages)],
        "reply": reply_view(service.can_reply(session, conv, now or utcnow())),
    }


def conversations_for_order(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SupportConversation)
        .where(SupportConversation.order_id == order_id)
        .order_by(SupportConversation.id)
    ).all()
    return [conversation_view(c) for c in rows]


def chat_access(session: Session) -> list[dict[str, Any]]:
    """Connections whose chat access Ozon refused (shown above the inbox)."""
    state = MarketplaceSyncState
    rows = session.execute(
        select(MarketplaceConnection.name, state.last_error, state.last_finished_at)
        .join(MarketplaceConnection, MarketplaceConnection.id == MarketplaceSyncState.connection_id)
        .where(MarketplaceSyncState.kind == CHATS, MarketplaceSyncState.status == NO_ACCESS)
    ).all()
    return [{"connection": name, "error": error, "at": _iso(at)} for name, error, at in rows]
