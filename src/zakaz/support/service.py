"""Support inbox services: take a ``Session``, never commit (the request or job owns the transaction).

Incoming messages are stored once per (conversation, marketplace message id). A reply is a queued
outgoing message plus an outbox row (``support.reply_queued``); the worker sends it (``support.sync``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.errors import Conflict, FieldError, NotFound, ValidationFailed
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.orders.models import Order
from zakaz.outbox import add_messages, outbox_row
from zakaz.support.channel import ChatMessage
from zakaz.support.models import SupportConversation, SupportMessage
from zakaz.support.ozon import BUYER_CHAT_TYPES
from zakaz.support.rules import (
    AuthorType,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Refusal,
    ReplyCheck,
    ReplyContext,
    clean_text,
    message_order,
    reply_check,
    same_text,
    text_problem,
)
from zakaz.worker.sql import insert_ignore

REPLY_TOPIC = "support.reply_queued"
READ_TOPIC = "support.read_requested"
#: Our clock and the marketplace's may differ: a reply is matched to a history message written up to
#: this long before our send attempt.
CLOCK_SKEW = timedelta(minutes=10)

TEXT_MESSAGES = {
    Refusal.empty: "write a message (plain text)",
    Refusal.too_long: "at most 1000 characters",
}
REFUSAL_MESSAGES = {
    Refusal.closed: "the chat is closed",
    Refusal.window_expired: "more than 48 hours since the buyer's last message and the order is finished",
    Refusal.not_supported: "this chat is not a chat with a buyer; it cannot be answered here",
}


class ReplyNotAllowed(Conflict):
    kind = "reply-not-allowed"


@dataclass(frozen=True)
class ConversationRef:
    """What the network side needs, without a live ORM object."""

    id: int
    connection_id: int | None
    external_id: str
    chat_type: str
    last_external_message_id: str | None


def ref_of(c: SupportConversation) -> ConversationRef:
    return ConversationRef(c.id, c.connection_id, c.external_id, c.chat_type, c.last_external_message_id)


def load_conversation(session: Session, conversation_id: int, *, lock: bool = False) -> SupportConversation:
    found = session.get(SupportConversation, conversation_id, with_for_update=lock)
    if found is None:
        raise NotFound(f"no conversation {conversation_id}")
    return found


def ensure_conversation(
    session: Session,
    *,
    channel: str,
    connection_id: int | None,
    external_id: str,
    chat_type: str = "",
    status: ConversationStatus | None = None,
    created_at: datetime | None = None,
) -> SupportConversation:
    """The conversation of a chat, created on first sight (concurrent creators meet on the unique key)."""
    now = utcnow()
    insert_ignore(
        session,
        SupportConversation.__table__,  # type: ignore[arg-type]
        {
            "channel": channel,
            "connection_id": connection_id,
            "external_id": external_id,
            "chat_type": chat_type,
            "status": (status or ConversationStatus.open).value,
            "unread_count": 0,
            "created_at": created_at or now,
            "updated_at": now,
        },
    )
    row = session.scalar(
        select(SupportConversation)
        .where(SupportConversation.channel == channel, SupportConversation.external_id == external_id)
        .with_for_update()
    )
    assert row is not None
    if chat_type and row.chat_type != chat_type:
        row.chat_type = chat_type
    if status is not None and row.status != status.value:
        row.status, row.updated_at = status.value, now
    return row


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"


def find_order(session: Session, connection_id: int | None, ref: str) -> int | None:
    """Our order for a marketplace order/posting number: the posting itself, or the order's first posting."""
    if connection_id is None:
        return None
    stmt = (
        select(MarketplacePosting.order_id)
        .where(
            MarketplacePosting.connection_id == connection_id,
            MarketplacePosting.order_id.is_not(None),
            (MarketplacePosting.external_id == ref)
            | MarketplacePosting.external_id.like(_like_prefix(ref), escape="\\"),
        )
        .order_by((MarketplacePosting.external_id == ref).desc(), MarketplacePosting.id)
        .limit(1)
    )
    return session.scalar(stmt)


# ------------------------------------------------------------------------------------------ incoming


@dataclass
class Recorded:
    inbound: int = 0  # new messages from the buyer / marketplace
    outbound: int = 0  # new seller messages written elsewhere (the marketplace cabinet)
    confirmed: int = 0  # our queued/attempted replies found in the history
    updated: int = 0


def _new_message(conversation_id: int, m: ChatMessage) -> SupportMessage:
    outgoing = m.author_type == AuthorType.seller
    return SupportMessage(
        conversation_id=conversation_id,
        external_id=m.external_id,
        direction=(Direction.outbound if outgoing else Direction.inbound).value,
        author_type=m.author_type.value,
        author=m.author,
        text=m.text,
        created_at=m.created_at,
        read_at=m.created_at if m.is_read and not outgoing else None,
        delivery_status=DeliveryStatus.sent.value if outgoing else None,
        sent_at=m.created_at if outgoing else None,
        attempts=0,
    )


def _awaiting_confirmation(session: Session, conversation_id: int) -> list[SupportMessage]:
    """Our replies with a send attempt whose marketplace id we have not seen yet, oldest first."""
    return list(
        session.scalars(
            select(SupportMessage)
            .where(
                SupportMessage.conversation_id == conversation_id,
                SupportMessage.direction == Direction.outbound.value,
                SupportMessage.external_id.is_(None),
                SupportMessage.send_attempted_at.is_not(None),
            )
            .order_by(SupportMessage.id)
        )
    )


def record_messages(
    session: Session,
    conversation_id: int,
    messages: Sequence[ChatMessage],
    *,
    update_existing: bool = False,
    now: datetime | None = None,
) -> Recorded:
    """Store what the marketplace's history returned. Idempotent by message id; a seller message that is
    one of our attempted replies (same text, written after the attempt) confirms that reply instead."""
    now = now or utcnow()
    done = Recorded()
    conv = load_conversation(session, conversation_id, lock=True)
    ids = [m.external_id for m in messages]
    known = {
        row.external_id: row
        for row in session.scalars(
            select(SupportMessage).where(
                SupportMessage.conversation_id == conversation_id, SupportMessage.external_id.in_(ids)
            )
        )
    }
    pending = _awaiting_confirmation(session, conversation_id)
    for m in sorted(messages, key=lambda x: message_order(x.external_id)):
        row = known.get(m.external_id)
        if row is not None:
            if update_existing and row.text != m.text:
                row.text, done.updated = m.text, done.updated + 1
            continue
        mine = next(
            (
                p
                for p in pending
                if m.author_type == AuthorType.seller
                and same_text(p.text, m.text)
                and p.send_attempted_at is not None
                and m.created_at >= p.send_attempted_at - CLOCK_SKEW
            ),
            None,
        )
        if mine is not None:
            pending.remove(mine)
            mine.external_id, mine.error = m.external_id, None
            mine.delivery_status, mine.sent_at = DeliveryStatus.sent.value, mine.sent_at or now
            known[m.external_id] = mine
            done.confirmed += 1
            _advance(conv, m)
            continue
        row = _new_message(conversation_id, m)
        session.add(row)
        known[m.external_id] = row
        if row.direction == Direction.inbound.value:
            done.inbound += 1
        else:
            done.outbound += 1
        _advance(conv, m)
    session.flush()
    _relink(session, conv)
    conv.unread_count = _unread(session, conversation_id)
    conv.updated_at = now
    return done


def _advance(conv: SupportConversation, m: ChatMessage) -> None:
    if conv.last_message_at is None or m.created_at > conv.last_message_at:
        conv.last_message_at = m.created_at
    if m.author_type == AuthorType.customer and (
        conv.last_customer_message_at is None or m.created_at > conv.last_customer_message_at
    ):
        conv.last_customer_message_at = m.created_at
    if message_order(m.external_id) > message_order(conv.last_external_message_id):
        conv.last_external_message_id = m.external_id
    if conv.order_ref is None and m.order_ref:
        conv.order_ref = m.order_ref[:64]


def _relink(session: Session, conv: SupportConversation) -> None:
    if conv.order_id is None and conv.order_ref:
        conv.order_id = find_order(session, conv.connection_id, conv.order_ref)


def _unread(session: Session, conversation_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(SupportMessage.id)).where(
                SupportMessage.conversation_id == conversation_id,
                SupportMessage.direction == Direction.inbound.value,
                SupportMessage.read_at.is_(None),
            )
        )
        or 0
    )


def close_conversation(session: Session, conversation_id: int) -> None:
    conv = load_conversation(session, conversation_id, lock=True)
    conv.status, conv.updated_at = ConversationStatus.closed.value, utcnow()


def link_order(session: Session, conversation_id: int, *, order_id: int, order_ref: str) -> None:
    conv = load_conversation(session, conversation_id, lock=True)
    conv.order_id, conv.order_ref = order_id, conv.order_ref or order_ref[:64]


def marketplace_read(
    session: Session, conversation_id: int, *, upto: str | None, by: AuthorType, now: datetime | None = None
) -> int:
    """A "read" notice: the buyer read our messages (``by`` customer), else someone of the seller read the
    buyer's (e.g. in the marketplace cabinet). Marks messages up to ``upto`` (all when None)."""
    now = now or utcnow()
    direction = Direction.outbound if by == AuthorType.customer else Direction.inbound
    rows = session.scalars(
        select(SupportMessage).where(
            SupportMessage.conversation_id == conversation_id,
            SupportMessage.direction == direction.value,
            SupportMessage.read_at.is_(None),
            SupportMessage.external_id.is_not(None),
        )
    ).all()
    marked = 0
    for row in rows:
        if upto is None or message_order(row.external_id) <= message_order(upto):
            row.read_at, marked = now, marked + 1
    conv = load_conversation(session, conversation_id, lock=True)
    session.flush()
    conv.unread_count = _unread(session, conversation_id)
    return marked


# ------------------------------------------------------------------------------------------- outgoing


def reply_context(session: Session, conv: SupportConversation, now: datetime) -> ReplyContext:
    order_status = (
        session.scalar(select(Order.status).where(Order.id == conv.order_id)) if conv.order_id else None
    )
    return ReplyContext(
        status=conv.status,
        buyer_chat=conv.chat_type in BUYER_CHAT_TYPES,
        last_customer_message_at=conv.last_customer_message_at,
        order_status=order_status,
        now=now,
    )


def can_reply(session: Session, conv: SupportConversation, now: datetime | None = None) -> ReplyCheck:
    return reply_check(reply_context(session, conv, now or utcnow()))


def queue_reply(
    session: Session, conversation_id: int, text: str, *, actor: str, now: datetime | None = None
) -> SupportMessage:
    """Check and queue a reply; the worker sends it. Raises ``ValidationFailed`` (text) or
    ``ReplyNotAllowed`` (closed chat, 48-hour window, not a buyer chat)."""
    now = now or utcnow()
    problem = text_problem(text)
    if problem is not None:
        raise ValidationFailed([FieldError("text", problem.value, TEXT_MESSAGES[problem])])
    conv = load_conversation(session, conversation_id, lock=True)
    check = can_reply(session, conv, now)
    if not check.allowed:
        assert check.reason is not None
        raise ReplyNotAllowed(
            f"cannot reply: {REFUSAL_MESSAGES[check.reason]}",
            reason=check.reason.value,
            window_ends_at=check.window_ends_at.isoformat() if check.window_ends_at else None,
        )
    message = SupportMessage(
        conversation_id=conv.id,
        direction=Direction.outbound.value,
        author_type=AuthorType.seller.value,
        author=actor[:128],
        text=clean_text(text),
        created_at=now,
        delivery_status=DeliveryStatus.queued.value,
        attempts=0,
    )
    session.add(message)
    session.flush()
    add_messages(
        session, [outbox_row(REPLY_TOPIC, "support_message", message.id, {"message_id": message.id})]
    )
    mark_read(session, conv.id, now=now)  # answering a conversation means it was read
    conv.last_message_at = max(conv.last_message_at or now, now)
    return message


def mark_read(session: Session, conversation_id: int, *, now: datetime | None = None) -> int:
    """Everything incoming is read; the marketplace is told by the worker (``support.read_requested``)."""
    now = now or utcnow()
    conv = load_conversation(session, conversation_id, lock=True)
    marked = session.execute(
        update(SupportMessage)
        .where(
            SupportMessage.conversation_id == conversation_id,
            SupportMessage.direction == Direction.inbound.value,
            SupportMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(marked, "rowcount", 0) or 0)
    if count or conv.unread_count:
        conv.unread_count, conv.updated_at = 0, now
        add_messages(
            session, [outbox_row(READ_TOPIC, "support_conversation", conv.id, {"conversation_id": conv.id})]
        )
    return count


def last_inbound_id(session: Session, conversation_id: int) -> str | None:
    ids = session.scalars(
        select(SupportMessage.external_id).where(
            SupportMessage.conversation_id == conversation_id,
            SupportMessage.direction == Direction.inbound.value,
            SupportMessage.external_id.is_not(None),
        )
    ).all()
    return max(ids, key=message_order, default=None)
