"""Read side of the tracking page: lookup without enumeration, and the shopper-visible state."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.orders.models import Order, OrderEvent

#: Status -> step of the progress bar (0 received ... 4 delivered).
STEP_OF = {
    "new": 0,
    "on_hold": 0,
    "confirmed": 1,
    "allocated": 1,
    "backordered": 1,
    "picking": 2,
    "packed": 2,
    "partially_shipped": 3,
    "shipped": 3,
    "delivered": 4,
    "cancelled": 0,
}
VISIBLE_STATUSES = frozenset(
    {"confirmed", "picking", "packed", "partially_shipped", "shipped", "delivered", "cancelled"}
)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _same_contact(given: str, email: str | None, phone: str | None) -> bool:
    given = given.strip()
    email_ok = hmac.compare_digest(given.lower().encode(), (email or "\0").strip().lower().encode())
    digits = _digits(given)
    # The last ten digits: +7 916..., 8 916... and 916... are the same Russian number.
    phone_ok = len(digits) >= 10 and hmac.compare_digest(
        digits[-10:].encode(), _digits(phone or "")[-10:].encode()
    )
    return email_ok or phone_ok


def lookup(session: Session, *, number: str, contact: str) -> int | None:
    """The order id when the number and the e-mail or phone match; None for every kind of miss."""
    row = session.execute(
        select(Order.id, Order.contact_email, Order.contact_phone).where(
            Order.number == number.strip().upper()
        )
    ).first()
    if row is None:
        _same_contact(contact, "nobody@invalid", "0000000000")  # same work on a miss as on a hit
        return None
    return (
        row.id if contact.strip() and _same_contact(contact, row.contact_email, row.contact_phone) else None
    )


def event_key(e: OrderEvent) -> str | None:
    """The shopper-visible name of a timeline event, or None to hide it (holds, edits, stock moves)."""
    if e.type in ("received", "delayed", "out_for_delivery"):
        return e.type
    if e.type == "status_changed" and e.to_status in VISIBLE_STATUSES:
        return e.to_status
    return None


@dataclass
class TrackState:
    order_id: int
    number: str
    status: str
    step: int
    cancelled: bool
    ship_by: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    shipping: dict[str, str] = field(default_factory=dict)
    last_event_id: int = 0


def state(
    session: Session, order_id: int, *, after_event_id: int = 0, tz: str = "Europe/Moscow"
) -> TrackState | None:
    order = session.get(Order, order_id)
    if order is None:
        return None
    zone = ZoneInfo(tz)
    rows = session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id, OrderEvent.id > after_event_id)
        .order_by(OrderEvent.id)
    ).all()
    result = TrackState(
        order_id=order.id,
        number=order.number,
        status=order.status,
        step=STEP_OF.get(order.status, 0),
        cancelled=order.status == "cancelled",
        ship_by=order.ship_by.astimezone(zone).strftime("%d.%m.%Y") if order.ship_by else None,
        last_event_id=after_event_id,
    )
    for e in rows:
        result.last_event_id = e.id
        key = event_key(e)
        if key is None:
            continue
        result.events.append(
            {"id": e.id, "key": key, "at": e.created_at.astimezone(zone).strftime("%d.%m.%Y %H:%M")}
        )
        if key == "shipped":
            data = e.data or {}
            result.shipping = {
                k: str(data[k]) for k in ("carrier", "tracking_number", "tracking_url") if data.get(k)
            }
    return result
