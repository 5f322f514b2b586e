"""Order intake's statements on PostgreSQL, run at the driver level (psycopg 3) in the session's transaction.

Intake on PostgreSQL is two statements besides BEGIN and COMMIT (docs/benchmarks.md):

1. :func:`read`: the customer found and counted (or created) and the catalogue rows of the order's SKUs
   with every active warehouse and its stock row, in one statement. It runs before validation; a
   validation error rolls the transaction back, so the customer is counted only for orders written. A
   customer it creates is claimed by contact (:func:`claim_contacts`) and checked against customers other
   transactions created meanwhile (two more statements, for new customers only).
2. :func:`write`: the order, its lines, timeline events, outbox messages and, for an allocated order, the
   guarded reservation of every stock row it takes, the reservation rows and the stock movements, as one
   statement of data-modifying CTEs. The stock rows are locked in primary-key order (``SELECT ... ORDER BY
   id FOR NO KEY UPDATE``, which locks rows in the order it emits them; NO KEY because the foreign-key
   checks of other transactions' reservation rows hold KEY SHARE locks on them) and updated only where
   ``on_hand - reserved >= q``; fewer rows updated than asked raises :class:`RetryableConflict` (the unit of
   work is re-run). It is the last statement of the transaction, so the row locks are held shortest.

Batched intake (:mod:`zakaz.orders.batching`, many orders in one transaction) reads and writes the whole
batch in one statement each instead (:mod:`zakaz.orders.intake_batch`): while a batch is set on the session
(:func:`set_batch`), :func:`find_existing`, :func:`read` and :func:`write` are answered by the batch.

The SQL texts are constant and take their rows as JSON documents, so psycopg prepares them after a few
executions and the server plans them once per connection. SQLite keeps the Core statements in
:mod:`zakaz.orders.intake`.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import orjson
import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from zakaz.allocation.routing import Plan
from zakaz.customers.service import CustomerRef
from zakaz.db import RetryableConflict
from zakaz.inventory.models import MovementReason, ReservationStatus
from zakaz.inventory.service import WarehouseInfo
from zakaz.orders.rules import KnownProduct
from zakaz.orders.timeline import Timeline
from zakaz.outbox import OutboxStatus

CATALOG = """\
UNION ALL
SELECT 1, p.id, w.id, s.id, s.available, p.sku, p.name, p.allow_backorder, p.active,
    w.code, w.priority, w.latitude, w.longitude
FROM products p
LEFT JOIN warehouses w ON w.active
LEFT JOIN LATERAL (
    -- one row at most (unique warehouse_id, product_id); LIMIT keeps the generic plan of the prepared
    -- statement on the unique index instead of hashing the whole stock_levels table
    SELECT s.id, s.on_hand - s.reserved AS available FROM stock_levels s
    WHERE s.warehouse_id = w.id AND s.product_id = p.id LIMIT 1
) s ON true
WHERE p.sku = ANY(%(skus)s::text[])
"""

_CUSTOMER_COUNTED = """\
WITH m AS (
    SELECT id FROM customers WHERE email = %(email)s OR phone = %(phone)s
    ORDER BY CASE WHEN email = %(email)s THEN 0 ELSE 1 END, id LIMIT 1
), u AS (
    UPDATE customers c
    SET order_count = c.order_count + 1, total_spent_minor = c.total_spent_minor + %(total)s
    FROM m WHERE c.id = m.id
    RETURNING c.id, c.order_count, c.total_spent_minor
), i AS (
    INSERT INTO customers (name, email, phone, locale, order_count, total_spent_minor, created_at)
    SELECT %(name)s, %(email)s, %(phone)s, %(locale)s, 1, %(total)s, %(now)s
    WHERE NOT EXISTS (SELECT FROM u)
    RETURNING id, order_count, total_spent_minor
)
SELECT 0, id, order_count, total_spent_minor, NULL::int, NULL::text, NULL::text, NULL::bool, NULL::bool,
    NULL::text, NULL::int, NULL::float8, NULL::float8
FROM u
UNION ALL
SELECT 0, id, order_count, total_spent_minor, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM i
"""

ORDER_COLUMNS = (
    "number",
    "channel",
    "external_id",
    "customer_id",
    "status",
    "payment_status",
    "currency",
    "subtotal_minor",
    "shipping_minor",
    "discount_minor",
    "total_minor",
    "contact_name",
    "contact_email",
    "contact_phone",
    "ship_name",
    "ship_country",
    "ship_region",
    "ship_city",
    "ship_postcode",
    "ship_line1",
    "ship_line2",
    "ship_latitude",
    "ship_longitude",
    "geo_precision",
    "ship_by",
    "hold_reasons",
    "allocation",
    "note",
    "created_at",
    "updated_at",
)
_JSON_COLUMNS = {"hold_reasons", "allocation"}

_WRITE = f"""\
WITH o AS (
    INSERT INTO orders ({", ".join(ORDER_COLUMNS)})
    VALUES ({", ".join(f"%({c})s::json" if c in _JSON_COLUMNS else f"%({c})s" for c in ORDER_COLUMNS)})
    RETURNING id
), l AS (
    INSERT INTO order_lines
        (order_id, line_no, product_id, sku, name, quantity, unit_price_minor, line_total_minor)
    SELECT o.id, v.line_no, v.product_id, v.sku, v.name, v.quantity, v.unit_price_minor, v.line_total_minor
    FROM o, json_to_recordset(%(lines)s::json) AS v(line_no int, product_id int, sku text, name text,
        quantity int, unit_price_minor bigint, line_total_minor bigint)
    RETURNING id, line_no
), e AS (
    INSERT INTO order_events (order_id, type, from_status, to_status, actor, reason, data, created_at)
    SELECT o.id, v.type, v.from_status, v.to_status, v.actor, v.reason, v.data, v.created_at
    FROM o, json_to_recordset(%(events)s::json) AS v(type text, from_status text, to_status text,
        actor text, reason text, data json, created_at timestamptz)
    RETURNING id
), x AS (
    INSERT INTO outbox
        (topic, aggregate_type, aggregate_id, payload, status, attempts, available_at, created_at)
    SELECT v.topic, 'order', o.id, ('{{"order_id":' || o.id || ',' || substr(v.payload, 2))::json,
        '{OutboxStatus.pending.value}', 0, %(now)s, %(now)s
    FROM o, json_to_recordset(%(messages)s::json) AS v(topic text, payload text)
)"""

_SELECT = """
SELECT 0, o.id, NULL::int FROM o
UNION ALL SELECT 1, l.id, l.line_no FROM l
UNION ALL SELECT 2, e.id, NULL FROM e"""

# ``items``: one object per pick (line_no, stock row, warehouse, product, quantity); ``rows``: the stock
# rows to take with their total quantity, in id order.
_LOCK_AND_UPDATE = """\
, q AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(rows)s::json) AS v(id int, q int)
), k AS MATERIALIZED (
    SELECT id FROM stock_levels WHERE id = ANY(ARRAY(SELECT id FROM q)) ORDER BY id FOR NO KEY UPDATE
), u AS (
    UPDATE stock_levels s SET reserved = s.reserved + q.q, updated_at = %(now)s
    FROM k JOIN q ON q.id = k.id
    WHERE s.id = k.id AND s.on_hand - s.reserved >= q.q
    RETURNING s.id
)"""
_RESERVE_ROWS = f"""\
, i AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(items)s::json) AS v(line_no int, sl int, w int, p int, q int)
), r AS (
    INSERT INTO reservations
        (order_id, order_line_id, stock_level_id, warehouse_id, product_id, quantity, status, created_at)
    SELECT o.id, l.id, i.sl, i.w, i.p, i.q, '{ReservationStatus.active.value}', %(now)s
    FROM o, i JOIN l ON l.line_no = i.line_no
), mv AS (
    INSERT INTO stock_movements (stock_level_id, warehouse_id, product_id, on_hand_delta, reserved_delta,
        reason, reference, actor, created_at)
    SELECT i.sl, i.w, i.p, 0, i.q, '{MovementReason.reservation.value}', %(number)s, %(actor)s, %(now)s
    FROM i
)"""


@dataclass(frozen=True)
class Statement:
    """A constant statement with ``$n`` placeholders and the names of its parameters, in order."""

    sql: bytes  # encoded once: psycopg would encode (and its prepared-statement cache hash) a str per call
    names: tuple[str, ...]
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # params dict -> the $n values


def numbered(sql: str) -> Statement:
    """``%(name)s`` placeholders -> ``$n`` (psycopg's RawCursor: no query parsing per call) and the names."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", number, sql)
    getter = operator.itemgetter(*names)
    values = getter if len(names) > 1 else lambda params: (getter(params),)
    return Statement(text.encode(), tuple(names), values)


# New customers' contacts, claimed for the rest of the transaction (advisory locks, in one order): the
# transaction that creates a customer for a contact holds the claim until it commits, so another one
# creating a customer for the same contact waits for it and then, in a new statement (a new snapshot),
# sees that customer and starts again (RetryableConflict): it then finds and counts it. Taken when no row
# lock is held yet but those of the customer just inserted (single order) or none (a batch, before its
# write), so a claim never waits in a cycle.
CLAIM = numbered(
    """\
SELECT count(*)::int FROM (
    SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended(v, 0) AS k FROM unnest(%(keys)s::text[]) AS v ORDER BY 1
    ) ordered
) taken"""
)
OTHERS = numbered(
    "SELECT count(*)::int FROM customers WHERE (email = %(email)s OR phone = %(phone)s) AND id <> %(id)s"
)


def claim_contacts(session: Session, contacts: Sequence[tuple[str | None, str | None]]) -> None:
    keys = [f"zakaz.customer.email:{e}" for e, _ in contacts if e is not None]
    keys += [f"zakaz.customer.phone:{p}" for _, p in contacts if p is not None]
    if keys:
        execute(session, CLAIM, {"keys": keys})


FIND_EXISTING = numbered(
    "SELECT id FROM orders WHERE channel = %(channel)s AND external_id = %(external_id)s"
)
READ = numbered(_CUSTOMER_COUNTED + CATALOG)
WRITE_ONLY = numbered(_WRITE + _SELECT)
WRITE_AND_RESERVE = numbered(
    _WRITE + _LOCK_AND_UPDATE + _RESERVE_ROWS + _SELECT + "\nUNION ALL SELECT 3, count(*)::int, NULL FROM u"
)

_CURSOR = "zakaz.intake.cursor"
_BATCH = "zakaz.intake.batch"


class BatchLike(Protocol):
    """The batch a session is receiving orders for (:class:`zakaz.orders.intake_batch.Batch`)."""

    def find_existing(self, channel: str, external_id: str) -> int | None: ...

    def read(
        self,
        skus: Sequence[str],
        *,
        name: str,
        email: str | None,
        phone: str | None,
        locale: str,
        now: datetime,
    ) -> ReadResult: ...

    def write(
        self,
        order: dict[str, Any],
        lines: Sequence[dict[str, Any]],
        timeline: Timeline,
        *,
        plan: Plan | None,
        index: dict[tuple[int, int], int],
        actor: str,
    ) -> Written: ...


def batch_of(session: Session) -> BatchLike | None:
    found: BatchLike | None = session.info.get(_BATCH)
    return found


def set_batch(session: Session, batch: BatchLike | None) -> None:
    if batch is None:
        session.info.pop(_BATCH, None)
    else:
        session.info[_BATCH] = batch


def _cursor(session: Session) -> psycopg.RawCursor[Any]:
    """A raw cursor on the session's connection, kept for the rest of its transaction (a batch runs a few
    statements per order; a cursor, and the adapters it looks up, cost more than the reuse check)."""
    transaction = session.get_transaction()
    cached = session.info.get(_CURSOR)
    if cached is not None and transaction is not None and cached[0] is transaction and not cached[1].closed:
        cursor: psycopg.RawCursor[Any] = cached[1]
        return cursor
    connection = session.connection().connection.driver_connection
    cursor = psycopg.RawCursor(connection)  # type: ignore[arg-type]
    session.info[_CURSOR] = (session.get_transaction(), cursor)
    return cursor


def execute(session: Session, statement: Statement, params: dict[str, Any]) -> list[Any]:
    # Persistent objects (the only ones that can be dirty or deleted) are in the identity map.
    if session.new or (session.identity_map and (session.dirty or session.deleted)):
        session.flush()  # the caller's pending ORM changes go first, as an execute would autoflush them
    cur = _cursor(session)
    try:
        cur.execute(statement.sql, statement.values(params))
    except psycopg.Error as exc:
        # As SQLAlchemy would raise it (IntegrityError for a unique clash, ...), so that
        # run_in_transaction retries lost races (a concurrent duplicate then replays).
        raise DBAPIError.instance(statement.sql.decode(), None, exc, psycopg.Error) from exc
    return cur.fetchall()


def enabled(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def find_existing(session: Session, channel: str, external_id: str) -> int | None:
    """The id of the order already received with this channel and external id (intake's idempotency)."""
    batch = batch_of(session)
    if batch is not None:
        return batch.find_existing(channel, external_id)
    rows = execute(session, FIND_EXISTING, {"channel": channel, "external_id": external_id})
    return cast(int, rows[0][0]) if rows else None  # unique (channel, external_id): one row at most


@dataclass(frozen=True)
class ReadResult:
    customer: CustomerRef
    catalog: dict[str, KnownProduct]
    warehouses: list[WarehouseInfo]  # in id order
    available: dict[int, dict[int, int]]  # warehouse id -> product id -> units (every warehouse has one)
    index: dict[tuple[int, int], int]  # (warehouse id, product id) -> stock row id


@functools.lru_cache(maxsize=256)  # immutable and keyed by every field: a changed warehouse is a new one
def warehouse_info(id_: int, code: str, priority: int, lat: float | None, lon: float | None) -> WarehouseInfo:
    return WarehouseInfo(id_, code, priority, lat, lon)


def read(
    session: Session,
    skus: Sequence[str],
    *,
    name: str,
    email: str | None,
    phone: str | None,
    locale: str,
    total_minor: int,
    now: datetime,
) -> ReadResult:
    """Find and count the customer (totals from before this order) and read catalogue, warehouses, stock."""
    params = {
        "email": email,
        "phone": phone,
        "total": total_minor,
        "name": name,
        "locale": locale,
        "now": now,
        "skus": sorted(set(skus)),
    }
    batch = batch_of(session)
    if batch is not None:
        return batch.read(skus, name=name, email=email, phone=phone, locale=locale, now=now)
    rows = execute(session, READ, params)
    customer: CustomerRef | None = None
    catalog: dict[str, KnownProduct] = {}
    warehouses: dict[int, WarehouseInfo] = {}
    stock: dict[int, dict[int, int]] = {}
    index: dict[tuple[int, int], int] = {}
    created = False
    for kind, a, b, c, available, sku, pname, backorder, active, code, priority, lat, lon in rows:
        if kind == 0:  # counted by the statement: the totals from before this order
            customer = CustomerRef(a, b - 1, c - total_minor)
            created = available == 1
            continue
        if sku not in catalog:
            catalog[sku] = KnownProduct(a, sku, pname, backorder, active)
        if b is not None and b not in warehouses:
            warehouses[b] = warehouse_info(b, code, priority, lat, lon)
            stock[b] = {}
        if c is not None:
            stock[b][a] = available
            index[(b, a)] = c
    assert customer is not None
    if created:  # two transactions must not both create a customer for one contact
        claim_contacts(session, [(email, phone)])
        [(others,)] = execute(session, OTHERS, {"email": email, "phone": phone, "id": customer.id})
        if others:
            raise RetryableConflict("another transaction created this customer meanwhile")
    ordered = sorted(warehouses)
    return ReadResult(
        customer, catalog, [warehouses[k] for k in ordered], {k: stock[k] for k in ordered}, index
    )


@dataclass(frozen=True)
class Written:
    order_id: int
    line_ids: dict[int, int]  # line_no -> id
    event_ids: list[int]  # in the timeline's order


def write(
    session: Session,
    order: dict[str, Any],
    lines: Sequence[dict[str, Any]],
    timeline: Timeline,
    *,
    plan: Plan | None,
    index: dict[tuple[int, int], int],
    actor: str,
) -> Written:
    """Write the order, lines, timeline and outbox, and reserve ``plan`` (if given), in one statement; in a
    batch (:mod:`zakaz.orders.intake_batch`) the rows are kept for the batch's one write at its end."""
    batch = batch_of(session)
    if batch is not None:
        return batch.write(order, lines, timeline, plan=plan, index=index, actor=actor)
    params = {c: order[c] for c in ORDER_COLUMNS}
    params["hold_reasons"] = dumps(order["hold_reasons"])
    params["allocation"] = None if order["allocation"] is None else dumps(order["allocation"])
    params["now"] = order["created_at"]
    params["actor"] = actor
    params["number"] = order["number"]
    params["lines"] = dumps(lines)
    events = []
    messages = []
    for item in timeline.items:
        row = item.row
        events.append(row)
        if item.topic:
            # ``{"order_id": <id>, ...`` is prefixed in SQL: the payload of Timeline.flush, key for key.
            messages.append({"topic": item.topic, "payload": dumps(item.payload())})
    params["events"] = dumps(events)
    params["messages"] = dumps(messages)
    per_row: dict[int, int] = {}
    statement = WRITE_ONLY
    if plan is not None and plan.legs:
        statement = WRITE_AND_RESERVE
        items = []
        for leg in plan.legs:
            for pick in leg.picks:
                sl = index[(leg.warehouse_id, pick.product_id)]
                items.append(
                    {
                        "line_no": pick.line_no,
                        "sl": sl,
                        "w": leg.warehouse_id,
                        "p": pick.product_id,
                        "q": pick.quantity,
                    }
                )
                per_row[sl] = per_row.get(sl, 0) + pick.quantity
        params["items"] = dumps(items)
        params["rows"] = dumps([{"id": i, "q": per_row[i]} for i in sorted(per_row)])
    rows = cast(list[tuple[int, int, int | None]], execute(session, statement, params))
    order_id = 0
    line_ids: dict[int, int] = {}
    event_ids: list[int] = []
    for kind, value, line_no in rows:
        if kind == 0:
            order_id = value
        elif kind == 1:
            assert line_no is not None
            line_ids[line_no] = value
        elif kind == 2:
            event_ids.append(value)
        elif value != len(per_row):
            raise RetryableConflict(f"stock rows {sorted(per_row)}: only {value} still had the units")
    timeline.items.clear()
    event_ids.sort()
    return Written(order_id, line_ids, event_ids)
