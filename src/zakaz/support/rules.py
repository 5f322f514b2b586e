"""Pure rules of the support inbox: vocabularies, may this reply be sent, text limits, matching.

No session, no I/O: dataclasses in, dataclasses out (unit-tested in tests/unit/test_support_rules.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ConversationStatus(StrEnum):
    open = "open"
    closed = "closed"


class Direction(StrEnum):
    inbound = "in"  # from the buyer or the marketplace to us
    outbound = "out"  # from us (the seller) to the buyer


class AuthorType(StrEnum):
    """Who wrote a message. Stored as a plain string column so that new kinds need no migration:
    a later bot that answers from live order data (and hands off to a person) adds ``bot`` here."""

    customer = "customer"  # the buyer
    seller = "seller"  # us: a person in the back office, or the seller's cabinet on the marketplace
    support = "support"  # the marketplace's own support staff
    system = "system"  # marketplace robots: notifications, couriers, CRM


class DeliveryStatus(StrEnum):
    """Outgoing messages only (incoming ones have none)."""

    queued = "queued"  # stored, the outbox job has not confirmed it yet (it may be on its way)
    sent = "sent"  # the marketplace accepted it (or we found it in the chat history)
    failed = "failed"  # refused or given up; ``error`` says why. Nothing is sent twice.


class Refusal(StrEnum):
    """Why a reply may not be sent. Text problems are 422s, the others 409s."""

    empty = "empty"
    too_long = "too_long"
    closed = "closed"
    window_expired = "window_expired"
    not_supported = "not_supported"


TEXT_PROBLEMS = frozenset({Refusal.empty, Refusal.too_long})
#: Ozon: 1..1000 characters of plain text per message (notes 2.14).
TEXT_MAX = 1000
#: After delivery the seller may answer only within 48 h of the buyer's last message (notes 2.14).
REPLY_WINDOW = timedelta(hours=48)
#: Order statuses after which the "may write freely" period is over (Ozon allows 72 h after delivery;
#: we do not store the delivery time, so we stop at delivery: a reply is never refused by Ozon for it).
ORDER_DONE = frozenset({"delivered", "cancelled"})


@dataclass(frozen=True)
class ReplyContext:
    status: str  # ConversationStatus
    buyer_chat: bool  # a chat with a buyer (other chat types are read-only in the inbox)
    last_customer_message_at: datetime | None
    order_status: str | None  # the linked order's status, None when no order is linked
    now: datetime


@dataclass(frozen=True)
class ReplyCheck:
    allowed: bool
    reason: Refusal | None = None
    #: When the 48-hour window closes (None: no buyer message yet, or the order keeps it open).
    window_ends_at: datetime | None = None


def order_in_progress(order_status: str | None) -> bool:
    """Paid and not yet delivered or cancelled: Ozon lets the seller write without a buyer message."""
    return order_status is not None and order_status not in ORDER_DONE


def reply_check(ctx: ReplyContext) -> ReplyCheck:
    """May a reply be queued in this conversation now? (The text is checked by :func:`text_problem`.)"""
    ends = ctx.last_customer_message_at + REPLY_WINDOW if ctx.last_customer_message_at is not None else None
    if ctx.status == ConversationStatus.closed:
        return ReplyCheck(False, Refusal.closed, ends)
    if not ctx.buyer_chat:
        return ReplyCheck(False, Refusal.not_supported, ends)
    if order_in_progress(ctx.order_status):
        return ReplyCheck(True, None, None)
    if ends is not None and ctx.now <= ends:
        return ReplyCheck(True, None, ends)
    return ReplyCheck(False, Refusal.window_expired, ends)


_NEWLINES = re.compile(r"\r\n?")


def clean_text(text: str) -> str:
    """What is sent: newlines normalised, surrounding whitespace removed."""
    return _NEWLINES.sub("\n", text).strip()


def text_problem(text: str) -> Refusal | None:
    cleaned = clean_text(text)
    if not cleaned:
        return Refusal.empty
    if len(cleaned) > TEXT_MAX:
        return Refusal.too_long
    return None


def same_text(a: str, b: str) -> bool:
    """Equal up to whitespace: how a reply we sent is recognised in the chat history."""
    return " ".join(a.split()) == " ".join(b.split())


def message_order(external_id: str | None) -> tuple[int, int, str]:
    """Sort key for marketplace message ids (int64, often sent as strings): numeric when they are digits."""
    value = external_id or ""
    return (1, int(value), value) if value.isdigit() else (0, 0, value)
