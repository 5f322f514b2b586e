"""Read side: an order as the API and UI show it, and the filtered, cursor-paginated list."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, selectinload

from zakaz.clock import as_utc
from zakaz.errors import FieldError, NotFound, ValidationFailed
from zakaz.orders.models import Order, OrderEvent, OrderLine
from zakaz.orders.states import allowed_actions


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_summary(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "number": o.number,
        "channel": o.channel,
        "external_id": o.external_id,
        "status": o.status,
        "payment_status": o.payment_status,
        "currency": o.currency,
        "total_minor": o.total_minor,
        "customer_name": o.contact_name,
        "contact_phone": o.contact_phone,
        "city": o.ship_city,
        "hold_reasons": o.hold_reasons,
        "ship_by": _iso(o.ship_by),
        "created_at": _iso(o.created_at),
    }


def order_detail(o: Order, *, events: list[OrderEvent] | None = None) -> dict[str, Any]:
    view = order_summary(o) | {
        "customer_id": o.customer_id,
        "subtotal_minor": o.subtotal_minor,
        "shipping_minor": o.shipping_minor,
        "discount_minor": o.discount_minor,
        "customer": {"name": o.contact_name, "email": o.contact_email, "phone": o.contact_phone},
        "shipping_address": {
            "name": o.ship_name,
            "country": o.ship_country,
            "region": o.ship_region,
            "city": o.ship_city,
            "postcode": o.ship_postcode,
            "line1": o.ship_line1,
            "line2": o.ship_line2,
            "latitude": o.ship_latitude,
            "longitude": o.ship_longitude,
            "geo_precision": o.geo_precision,
        },
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "line_total_minor": line.line_total_minor,
            }
            for line in o.lines
        ],
        "allocation": o.allocation,
        "note": o.note,
        "updated_at": _iso(o.updated_at),
        "allowed_actions": allowed_actions(o.status),
    }
    if events is not None:
        view["timeline"] = [event_view(e) for e in events]
    return view


def event_view(e: OrderEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "actor": e.actor,
        "reason": e.reason,
        "data": e.data,
        "at": _iso(e.created_at),
    }


EVENTS = cast(Table, OrderEvent.__table__)
_TIMELINE = select(EVENTS).where(EVENTS.c.order_id == bindparam("order_id")).order_by(EVENTS.c.id)


def new_order_detail(
    session: Session,
    order: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """:func:`order_detail` of an order intake has just written, built from the rows it wrote.

    Saves reading the order and its lines back; the timeline is read for the event ids unless ``events``
    (the rows written, with their ids) are given. The rows carry the model's column names, which is all
    the views read.
    """
    o = SimpleNamespace(**order, lines=[SimpleNamespace(**line) for line in lines])
    if o.ship_by is not None:
        o.ship_by = as_utc(o.ship_by)  # as it reads back from the database
    if events is not None:
        return order_detail(cast(Order, o), events=[cast(OrderEvent, SimpleNamespace(**e)) for e in events])
    rows = session.execute(_TIMELINE, {"order_id": order["id"]}).all()
    return order_detail(cast(Order, o), events=cast(list[OrderEvent], rows))


def load_order(session: Session, order_id: int, *, for_update: bool = False) -> Order:
    stmt = select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
    if for_update:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt)
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def find_order_id(session: Session, ref: str) -> int:
    """Accept an id or an order number."""
    if ref.isascii() and ref.isdigit():  # int() refuses other digits, such as "²"
        if int(ref) > 2**31 - 1:  # beyond the INTEGER id column: no such order (not a database error)
            raise NotFound(f"no order {ref}")
        return int(ref)
    found = session.scalar(select(Order.id).where(Order.number == ref))
    if found is None:
        raise NotFound(f"no order {ref}")
    return found


def timeline_of(session: Session, order_id: int) -> list[OrderEvent]:
    return list(
        session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    )


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    sku: str | None = None
    customer_id: int | None = None


MAX_PAGE = 200


def encode_cursor(created_at: datetime, order_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at.isoformat(), order_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(raw[0]), int(raw[1])
    except (ValueError, TypeError, IndexError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "cursor is not one this API issued")]
        ) from exc


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def apply_filter(stmt: SelectT, f: OrderFilter) -> SelectT:
    if f.status:
        stmt = stmt.where(Order.status == f.status)
    if f.channel:
        stmt = stmt.where(Order.channel == f.channel)
    if f.created_from:
        stmt = stmt.where(Order.created_at >= f.created_from)
    if f.created_to:
        stmt = stmt.where(Order.created_at < f.created_to)
    if f.customer_id:
        stmt = stmt.where(Order.customer_id == f.customer_id)
    if f.sku:
        stmt = stmt.where(Order.id.in_(select(OrderLine.order_id).where(OrderLine.sku == f.sku)))
    if f.q:
        q = f.q.strip()
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            Order.number == q.upper(),
            Order.external_id == q,
            func.lower(Order.contact_name).contains(q.lower()),
        ]
        if "@" in q:
            conditions.append(Order.contact_email == q.lower())
        if len(digits) >= 6:
            conditions.append(Order.contact_phone.contains(digits[-10:]))
        stmt = stmt.where(or_(*conditions))
    return stmt


def list_orders(
    session: Session, f: OrderFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Order], str | None]:
    """Newest first, keyset-paginated on (created_at, id): a page costs the same at any depth."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed([FieldError("limit", "out_of_range", f"limit must be 1..{MAX_PAGE}")])
    stmt = apply_filter(select(Order), f)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(or_(Order.created_at < at, and_(Order.created_at == at, Order.id < last_id)))
    rows = list(session.scalars(stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def count_by_status(session: Session, f: OrderFilter | None = None) -> dict[str, int]:
    stmt = select(Order.status, func.count()).group_by(Order.status)
    if f is not None:
        stmt = apply_filter(stmt, OrderFilter(**{**f.__dict__, "status": None}))
    return {status: n for status, n in session.execute(stmt).all()}
