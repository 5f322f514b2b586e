"""The orders board's read side: filters from the query string, counts per status, keyset pages.

Built on ``zakaz.orders.views.apply_filter`` (the API's filter) plus what only the board needs: a
warehouse filter, SKU search in the same box, and sorting by several columns. Pages are keyset
paginated on (sort column, id) with a seekable predicate (``col <= v AND (col < v OR id < last)``), so
page 1,000 costs what page 1 does when an index leads with the sort column.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from zakaz.catalog.models import Product
from zakaz.inventory.models import Reservation, Warehouse
from zakaz.orders.models import Order
from zakaz.orders.states import OrderStatus
from zakaz.orders.views import OrderFilter, apply_filter

SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "created": Order.created_at,
    "number": Order.number,
    "customer": Order.contact_name,
    "total": Order.total_minor,
}
DEFAULT_DIR = {"created": "desc", "number": "desc", "customer": "asc", "total": "desc"}
STATUSES = tuple(s.value for s in OrderStatus)
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class BoardQuery:
    status: str | None = None
    channel: str | None = None
    warehouse: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    sort: str = "created"
    dir: str = "desc"
    after: str | None = None

    @classmethod
    def parse(cls, params: dict[str, str], *, money: bool) -> BoardQuery:
        sort = params.get("sort") or "created"
        if sort not in SORTS or (sort == "total" and not money):
            sort = "created"
        direction = params.get("dir") or DEFAULT_DIR[sort]
        status = params.get("status") or None
        return cls(
            status=status if status in STATUSES else None,
            channel=(params.get("channel") or "").strip()[:32] or None,
            warehouse=(params.get("warehouse") or "").strip()[:32] or None,
            date_from=_parse_date(params.get("from")),
            date_to=_parse_date(params.get("to")),
            q=(params.get("q") or "").strip()[:100] or None,
            sort=sort,
            dir=direction if direction in ("asc", "desc") else DEFAULT_DIR[sort],
            after=params.get("after") or None,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """Query-string parameters of this view with ``changes`` (None drops a parameter)."""
        current = {
            "status": self.status,
            "channel": self.channel,
            "warehouse": self.warehouse,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "q": self.q,
            "sort": None if self.sort == "created" else self.sort,
            "dir": None if self.dir == DEFAULT_DIR[self.sort] else self.dir,
        }
        current.update(changes)
        return {k: str(v) for k, v in current.items() if v not in (None, "")}

    @property
    def filtered(self) -> bool:
        return any((self.channel, self.warehouse, self.date_from, self.date_to, self.q))


def _day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def order_filter(session: Session, query: BoardQuery, tz: str) -> OrderFilter:
    q, sku = query.q, None
    if q:
        # The same box searches SKUs: an exact SKU match filters by order line instead of by text.
        sku = session.scalar(select(Product.sku).where(Product.sku.in_({q, q.upper()})).limit(1))
        if sku is not None:
            q = None
    return OrderFilter(
        status=query.status,
        channel=query.channel,
        created_from=_day_start(query.date_from, tz) if query.date_from else None,
        created_to=_day_start(query.date_to + timedelta(days=1), tz) if query.date_to else None,
        q=q,
        sku=sku,
    )


def _restrict(session: Session, stmt: SelectT, query: BoardQuery, f: OrderFilter) -> SelectT:
    stmt = apply_filter(stmt, f)
    if query.warehouse:
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == query.warehouse))
        # Orders that were ever reserved there (cancelled ones too: their reservations are kept).
        stmt = stmt.where(
            Order.id.in_(select(Reservation.order_id).where(Reservation.warehouse_id == (warehouse_id or -1)))
        )
    return stmt


def encode_cursor(sort: str, direction: str, value: Any, order_id: int) -> str:
    raw = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(orjson.dumps([sort, direction, raw, order_id])).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, direction: str) -> tuple[Any, int] | None:
    """The (value, id) to continue after, or None when the cursor is foreign or for another sort."""
    try:
        s, d, value, order_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (s, d) != (sort, direction) or not isinstance(order_id, int):
            return None
        if sort == "created":
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int if sort == "total" else str):
            return None
        return value, order_id
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return None


def _after(
    column: InstrumentedAttribute[Any], direction: str, value: Any, last_id: int
) -> ColumnElement[bool]:
    if direction == "desc":
        return and_(column <= value, or_(column < value, Order.id < last_id))
    return and_(column >= value, or_(column > value, Order.id > last_id))


@dataclass(frozen=True)
class Page:
    orders: list[Order]
    next_cursor: str | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def load_page(session: Session, query: BoardQuery, *, tz: str, size: int) -> Page:
    f = order_filter(session, query, tz)
    column = SORTS[query.sort]
    stmt = _restrict(session, select(Order), query, f)
    position = decode_cursor(query.after, query.sort, query.dir) if query.after else None
    if position is not None:
        stmt = stmt.where(_after(column, query.dir, *position))
    order = (column.desc(), Order.id.desc()) if query.dir == "desc" else (column.asc(), Order.id.asc())
    rows = list(session.scalars(stmt.order_by(*order).limit(size + 1)))
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = encode_cursor(query.sort, query.dir, getattr(last, column.key), last.id)
    counts_stmt = select(Order.status, func.count()).group_by(Order.status)
    counts_stmt = _restrict(session, counts_stmt, query, replace(f, status=None))
    counts = {status: int(n) for status, n in session.execute(counts_stmt).all()}
    return Page(rows[:size], next_cursor, counts)


def load_by_ids(session: Session, ids: list[int]) -> list[Order]:
    if not ids:
        return []
    return list(session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.created_at.desc())))


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    warehouses = session.execute(
        select(Warehouse.code, Warehouse.name).order_by(Warehouse.priority, Warehouse.code)
    )
    channels = session.scalars(select(Order.channel).distinct().order_by(Order.channel))
    return {"warehouses": [(c, n) for c, n in warehouses], "channels": [(c, c) for c in channels]}
