"""A batch of orders received in one transaction on PostgreSQL: one read and one write statement in all.

The intake thread (:mod:`zakaz.orders.batching`) receives the orders that arrive together in one
transaction. Received one by one, each order would cost two statements (:mod:`zakaz.orders.intake_pg`);
here the whole batch costs two, whatever its size:

1. :func:`begin` (before the first order): one statement reads everything the batch's orders look up: the
   customers matching their e-mail addresses and phone numbers (locked until the batch commits, in id
   order, as single-order intake locks the customer it counts: another transaction's order of the same
   customer waits and then sees the batch's orders in the history), orders already received under their
   external ids, their catalogue rows with every active warehouse and stock row, and ids drawn from the
   sequences of orders, lines, timeline events and new customers.
2. Each order is then received by the usual unit of work (``intake.receive``): :func:`intake_pg.read`,
   :func:`intake_pg.find_existing` and :func:`intake_pg.write` are answered by the :class:`Batch` set on
   the session. It sees the orders before it in the batch as if they were written (customer history and
   new customers, stock they took, external ids received); its rows are kept, with their ids, so that its
   answer is complete before anything is written.
3. :meth:`Batch.finish` (after the last order): one statement writes every row of the batch, counts the
   customers and reserves the stock. It takes its locks in the order single-order intake takes them, so
   that concurrent batches and single orders never wait for each other in a cycle: the customer rows (in
   id order), then the orders' unique keys (the order rows are inserted), then the stock rows (in id
   order; the conditions on ``ck`` and ``o`` make that scan wait until both are done), and only then the
   idempotency records of its requests (:func:`zakaz.db.execute_or_defer`), as a single order writes its
   record last. A customer is counted only if its history is still the one the batch judged the orders on
   (a guard: the batch holds their locks since its read), and
   each stock row is updated only if it still has the units (``on_hand - reserved >= q``). When the batch
   creates customers, their contacts are first claimed (:func:`intake_pg.claim_contacts`, as single-order
   intake does) and the statement counts the customers others created with those contacts meanwhile.
   A short stock row, a changed history or such a customer raises :class:`RetryableConflict`: the batch
   is rolled back and run again once (it then reads the new state), then its orders are received one by
   one.

Anything else the batch cannot answer as the orders one by one would be answered (the same external id
twice in one batch, more ids needed than drawn, an order it did not read) raises :class:`NotForBatch`: its
orders are received one by one at once. Ids drawn and not used (an order refused, or fewer new customers
than the upper bound drawn) leave gaps in the sequences, as a rolled-back transaction does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from zakaz.allocation.routing import Plan
from zakaz.customers.service import CustomerRef
from zakaz.db import RetryableConflict, defer_writes, run_deferred
from zakaz.inventory.models import MovementReason, ReservationStatus
from zakaz.inventory.service import WarehouseInfo
from zakaz.orders import intake_pg, rules
from zakaz.orders.intake_pg import ORDER_COLUMNS, ReadResult, Written
from zakaz.orders.rules import KnownProduct
from zakaz.orders.timeline import Timeline
from zakaz.outbox import outbox_row

if TYPE_CHECKING:
    from zakaz.orders.intake import IntakeConfig
    from zakaz.orders.schemas import OrderCreate

EVENTS_PER_ORDER = 3  # received, then on hold; or received, confirmed, allocated (or backordered)

READ = intake_pg.numbered(
    f"""\
WITH k AS MATERIALIZED (
    SELECT DISTINCT * FROM json_to_recordset(%(customers)s::json) AS v(email text, phone text)
), x AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(external)s::json) AS v(channel text, external_id text)
), matched AS (
    -- the customer one-by-one intake would find for each e-mail and for each phone: the lowest id
    SELECT c.id FROM (SELECT DISTINCT email FROM k WHERE email IS NOT NULL) e
    CROSS JOIN LATERAL (SELECT id FROM customers WHERE email = e.email ORDER BY id LIMIT 1) c
    UNION
    SELECT c.id FROM (SELECT DISTINCT phone FROM k WHERE phone IS NOT NULL) p
    CROSS JOIN LATERAL (SELECT id FROM customers WHERE phone = p.phone ORDER BY id LIMIT 1) c
), locked AS MATERIALIZED (
    -- locked until the batch commits, in id order, as single-order intake locks the one it counts; the
    -- counts are those of the row as locked (the latest), not of this statement's snapshot
    SELECT id, email, phone, order_count, total_spent_minor FROM customers
    WHERE id = ANY(ARRAY(SELECT id FROM matched))
    ORDER BY id FOR NO KEY UPDATE
)
SELECT 0, id, order_count, total_spent_minor, NULL::int, email::text, phone::text, NULL::bool, NULL::bool,
    NULL::text, NULL::int, NULL::float8, NULL::float8
FROM locked
{intake_pg.CATALOG}UNION ALL
SELECT 3, o.id, NULL, NULL, NULL, x.channel, x.external_id, NULL, NULL, NULL, NULL, NULL, NULL
FROM x CROSS JOIN LATERAL (
    SELECT id FROM orders WHERE channel = x.channel AND external_id = x.external_id LIMIT 1
) o
UNION ALL
-- at most one new customer per distinct contact that matches nobody yet
SELECT 4, nextval('customers_id_seq'::regclass)::int, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL
FROM k
WHERE NOT EXISTS (SELECT FROM customers c WHERE c.email = k.email)
    AND NOT EXISTS (SELECT FROM customers c WHERE c.phone = k.phone)
UNION ALL
SELECT 5, nextval('orders_id_seq'::regclass)::int, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL
FROM generate_series(1, %(orders)s::int)
UNION ALL
SELECT 6, nextval('order_lines_id_seq'::regclass)::int, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL
FROM generate_series(1, %(lines)s::int)
UNION ALL
SELECT 7, nextval('order_events_id_seq'::regclass)::int, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL
FROM generate_series(1, %(events)s::int)
"""
)


def _insert(table: str, columns: Sequence[str], param: str) -> str:
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names})\n"
        f"    SELECT {names} FROM json_populate_recordset(NULL::{table}, %({param})s::json)"
    )


_CUSTOMER_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "locale",
    "order_count",
    "total_spent_minor",
    "created_at",
)
_LINE_COLUMNS = (
    "id",
    "order_id",
    "line_no",
    "product_id",
    "sku",
    "name",
    "quantity",
    "unit_price_minor",
    "line_total_minor",
)
_EVENT_COLUMNS = (
    "id",
    "order_id",
    "type",
    "from_status",
    "to_status",
    "actor",
    "reason",
    "data",
    "created_at",
)
_MESSAGE_COLUMNS = (
    "topic",
    "aggregate_type",
    "aggregate_id",
    "payload",
    "status",
    "attempts",
    "available_at",
    "created_at",
)
_RESERVATION_COLUMNS = (
    "order_id",
    "order_line_id",
    "stock_level_id",
    "warehouse_id",
    "product_id",
    "quantity",
    "status",
    "created_at",
)
_MOVEMENT_COLUMNS = (
    "stock_level_id",
    "warehouse_id",
    "product_id",
    "on_hand_delta",
    "reserved_delta",
    "reason",
    "reference",
    "actor",
    "created_at",
)

WRITE = intake_pg.numbered(
    f"""\
WITH nc AS (
    {_insert("customers", _CUSTOMER_COLUMNS, "new_customers")}
), c AS MATERIALIZED (
    -- n orders for t more; c0 and t0: the history the batch judged them on
    SELECT * FROM json_to_recordset(%(customers)s::json) AS v(id int, n int, t bigint, c0 int, t0 bigint)
), ck AS MATERIALIZED (
    SELECT id FROM customers WHERE id = ANY(ARRAY(SELECT id FROM c)) ORDER BY id FOR NO KEY UPDATE
), cu AS (
    UPDATE customers x
    SET order_count = x.order_count + c.n, total_spent_minor = x.total_spent_minor + c.t
    FROM ck JOIN c ON c.id = ck.id
    WHERE x.id = ck.id AND x.order_count = c.c0 AND x.total_spent_minor = c.t0
    RETURNING x.id
), o AS (
    {_insert("orders", ("id", *ORDER_COLUMNS), "orders")}
    RETURNING id
), l AS (
    {_insert("order_lines", _LINE_COLUMNS, "lines")}
), e AS (
    {_insert("order_events", _EVENT_COLUMNS, "events")}
), m AS (
    {_insert("outbox", _MESSAGE_COLUMNS, "messages")}
), r AS (
    {_insert("reservations", _RESERVATION_COLUMNS, "reservations")}
), mv AS (
    {_insert("stock_movements", _MOVEMENT_COLUMNS, "movements")}
), q AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(rows)s::json) AS v(id int, q int, at timestamptz)
), k AS MATERIALIZED (
    -- as single-order intake takes them: the customers, then the orders' unique keys, then the stock rows
    -- (the conditions on ck and o are evaluated once, before the scan: it waits until they are done)
    SELECT id FROM stock_levels
    WHERE id = ANY(ARRAY(SELECT id FROM q))
        AND (SELECT count(*) FROM ck) >= 0 AND (SELECT count(*) FROM o) >= 0
    ORDER BY id FOR NO KEY UPDATE
), u AS (
    UPDATE stock_levels s SET reserved = s.reserved + q.q, updated_at = q.at
    FROM k JOIN q ON q.id = k.id
    WHERE s.id = k.id AND s.on_hand - s.reserved >= q.q
    RETURNING s.id
), dup AS (
    -- customers with a new customer's contact, committed by others before this statement (after the claim)
    SELECT count(*)::int AS n
    FROM json_to_recordset(%(new_customers)s::json) AS v(email text, phone text)
    CROSS JOIN LATERAL (
        SELECT 1 FROM customers x WHERE x.email = v.email
        UNION ALL
        SELECT 1 FROM customers x WHERE x.phone = v.phone
        LIMIT 1
    ) f
)
SELECT (SELECT count(*) FROM cu)::int, (SELECT count(*) FROM u)::int, (SELECT n FROM dup)"""
)


class NotForBatch(Exception):
    """What a batch cannot answer as one-by-one intake would: its orders are received one by one."""


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None


@dataclass
class Batch:
    """What :func:`begin` read, and the rows of the orders received so far (see the module)."""

    by_email: dict[str, tuple[int, int, int]]  # e-mail -> (id, order_count, total) of the lowest id
    by_phone: dict[str, tuple[int, int, int]]
    existing: dict[tuple[str, str], int]  # (channel, external id) -> order id
    catalog: dict[str, KnownProduct]
    warehouses: list[WarehouseInfo]  # in id order
    available: dict[int, dict[int, int]]  # warehouse id -> product id -> units when the batch began
    index: dict[tuple[int, int], int]  # (warehouse id, product id) -> stock row id
    ids: dict[int, Iterator[int]]  # row kind of READ -> the ids drawn for it
    asked: tuple[set[Contact], set[str], set[tuple[str, str]]]  # contacts, SKUs, external ids read
    new_by_email: dict[str, int] = field(default_factory=dict)
    new_by_phone: dict[str, int] = field(default_factory=dict)
    new_customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    counted: dict[int, tuple[int, int]] = field(default_factory=dict)  # customer id -> (orders, total)
    history: dict[int, tuple[int, int]] = field(default_factory=dict)  # existing customer -> as read
    taken: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # stock row -> (units, last order)
    received: set[tuple[str, str]] = field(default_factory=set)
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            k: [] for k in ("orders", "lines", "events", "messages", "reservations", "movements")
        }
    )
    now: datetime | None = None

    def _next_id(self, kind: int) -> int:
        try:
            return next(self.ids[kind])
        except StopIteration:
            raise NotForBatch(f"more ids of kind {kind} needed than drawn") from None

    def find_existing(self, channel: str, external_id: str) -> int | None:
        if (channel, external_id) in self.received:  # alone, the second would replay the first
            raise NotForBatch(f"{channel}/{external_id} twice")
        if (channel, external_id) not in self.asked[2]:
            raise NotForBatch("an order that was not read with the batch")
        return self.existing.get((channel, external_id))

    def _customer(self, contact: Contact, name: str, locale: str, now: datetime) -> CustomerRef:
        """The customer one-by-one intake would pick (e-mail match first, then the lowest id; the batch's new
        customers have higher ids than every existing one), or a new one; totals before this order."""
        email, phone = contact.email, contact.phone
        found: tuple[int, int, int] | None = None
        if email is not None:
            found = self.by_email.get(email) or self._new(self.new_by_email.get(email))
        if found is None and phone is not None:
            found = self.by_phone.get(phone) or self._new(self.new_by_phone.get(phone))
        if found is None:
            id_ = self._next_id(4)
            self.new_customers[id_] = {
                "id": id_,
                "name": name,
                "email": email,
                "phone": phone,
                "locale": locale,
                "created_at": now,
            }
            if email is not None:
                self.new_by_email.setdefault(email, id_)
            if phone is not None:
                self.new_by_phone.setdefault(phone, id_)
            found = (id_, 0, 0)
        id_, count, total = found
        if id_ not in self.new_customers:
            self.history[id_] = (count, total)
        n, t = self.counted.get(id_, (0, 0))
        return CustomerRef(id_, count + n, total + t)

    def _new(self, id_: int | None) -> tuple[int, int, int] | None:
        return None if id_ is None else (id_, 0, 0)

    def read(
        self,
        skus: Sequence[str],
        *,
        name: str,
        email: str | None,
        phone: str | None,
        locale: str,
        now: datetime,
    ) -> ReadResult:
        contact = Contact(email, phone)
        if contact not in self.asked[0] or not self.asked[1].issuperset(skus):
            raise NotForBatch("an order that was not read with the batch")
        customer = self._customer(contact, name, locale, now)
        catalog = {sku: self.catalog[sku] for sku in skus if sku in self.catalog}
        if not catalog:
            return ReadResult(customer, catalog, [], {}, self.index)
        products = {p.id for p in catalog.values()}
        available = {
            w: {
                p: units - self.taken.get(self.index[(w, p)], (0, now))[0]
                for p, units in per_product.items()
                if p in products
            }
            for w, per_product in self.available.items()
        }
        return ReadResult(customer, catalog, self.warehouses, available, self.index)

    def write(
        self,
        order: dict[str, Any],
        lines: Sequence[dict[str, Any]],
        timeline: Timeline,
        *,
        plan: Plan | None,
        index: dict[tuple[int, int], int],
        actor: str,
    ) -> Written:
        order_id = self._next_id(5)
        now: datetime = order["created_at"]
        self.now = now
        self.rows["orders"].append({"id": order_id, **{c: order[c] for c in ORDER_COLUMNS}})
        line_ids: dict[int, int] = {}
        for line in lines:
            line_id = line_ids[line["line_no"]] = self._next_id(6)
            self.rows["lines"].append({**line, "id": line_id, "order_id": order_id})
        event_ids: list[int] = []
        for item in timeline.items:
            event_id = self._next_id(7)
            event_ids.append(event_id)
            row = item.row
            self.rows["events"].append({**row, "id": event_id, "order_id": order_id})
            if item.topic:
                payload = {"order_id": order_id, **item.payload()}
                self.rows["messages"].append(outbox_row(item.topic, "order", order_id, payload, at=now))
        timeline.items.clear()
        if plan is not None:
            for leg in plan.legs:
                for pick in leg.picks:
                    stock_row = index[(leg.warehouse_id, pick.product_id)]
                    self.taken[stock_row] = (self.taken.get(stock_row, (0, now))[0] + pick.quantity, now)
                    where = {
                        "stock_level_id": stock_row,
                        "warehouse_id": leg.warehouse_id,
                        "product_id": pick.product_id,
                        "created_at": now,
                    }
                    self.rows["reservations"].append(
                        {
                            **where,
                            "order_id": order_id,
                            "order_line_id": line_ids[pick.line_no],
                            "quantity": pick.quantity,
                            "status": ReservationStatus.active.value,
                        }
                    )
                    self.rows["movements"].append(
                        {
                            **where,
                            "on_hand_delta": 0,
                            "reserved_delta": pick.quantity,
                            "reason": MovementReason.reservation.value,
                            "reference": order["number"],
                            "actor": actor,
                        }
                    )
        customer_id: int = order["customer_id"]
        n, t = self.counted.get(customer_id, (0, 0))
        self.counted[customer_id] = (n + 1, t + order["total_minor"])
        if order["external_id"] is not None:
            self.received.add((order["channel"], order["external_id"]))
        return Written(order_id, line_ids, event_ids)

    def finish(self, session: Session) -> None:
        """Write the batch (see the module); :class:`RetryableConflict` when a stock row is short, a
        customer's history changed since the batch read it, or another transaction created one of its new
        customers."""
        intake_pg.set_batch(session, None)
        if not self.rows["orders"]:
            run_deferred(session)
            return
        new_customers = []
        for id_, row in self.new_customers.items():
            n, t = self.counted.get(id_, (0, 0))
            new_customers.append({**row, "order_count": n, "total_spent_minor": t})
        counted = [
            {"id": i, "n": n, "t": t, "c0": self.history[i][0], "t0": self.history[i][1]}
            for i, (n, t) in sorted(self.counted.items())
            if i not in self.new_customers
        ]
        stock = [{"id": i, "q": q, "at": at} for i, (q, at) in sorted(self.taken.items())]
        if new_customers:  # two transactions must not both create a customer for one contact
            intake_pg.claim_contacts(session, [(c["email"], c["phone"]) for c in new_customers])
        params: dict[str, Any] = {name: intake_pg.dumps(rows) for name, rows in self.rows.items()}
        params.update(
            new_customers=intake_pg.dumps(new_customers),
            customers=intake_pg.dumps(counted),
            rows=intake_pg.dumps(stock),
            now=self.now,
        )
        [(customers, rows, duplicates)] = intake_pg.execute(session, WRITE, params)
        if customers != len(counted):
            raise RetryableConflict(f"batch: {len(counted) - customers} customers' history changed meanwhile")
        if duplicates:
            raise RetryableConflict(f"batch: {duplicates} new customers were created meanwhile by others")
        if rows != len(stock):
            raise RetryableConflict(f"batch: {rows} of {len(stock)} stock rows still had the units")
        run_deferred(session)  # idempotency records: last, as single-order intake writes them


def begin(session: Session, orders: Sequence[tuple[OrderCreate, IntakeConfig]]) -> Batch:
    """Read what the batch's ``orders`` look up (one statement) and set the batch on ``session``."""
    contacts: set[Contact] = set()
    external: set[tuple[str, str]] = set()
    skus: set[str] = set()
    lines = 0
    for data, config in orders:
        email, phone, _ = rules.normalise_customer(data.customer, config.limits)
        contacts.add(Contact(email, phone))
        if data.external_id is not None:
            external.add((data.channel, data.external_id))
        skus.update(line.sku for line in data.lines)
        lines += len(data.lines)
    params = {
        "customers": intake_pg.dumps([{"email": c.email, "phone": c.phone} for c in contacts]),
        "external": intake_pg.dumps([{"channel": c, "external_id": x} for c, x in external]),
        "skus": sorted(skus),
        "orders": len(orders),
        "lines": lines,
        "events": EVENTS_PER_ORDER * len(orders),
    }
    batch = Batch({}, {}, {}, {}, [], {}, {}, {}, (contacts, skus, external))
    warehouses: dict[int, WarehouseInfo] = {}
    ids: dict[int, list[int]] = {4: [], 5: [], 6: [], 7: []}
    rows = intake_pg.execute(session, READ, params)
    for kind, a, b, c, available, text, other, backorder, active, code, priority, lat, lon in rows:
        if kind == 1:
            if text not in batch.catalog:
                batch.catalog[text] = KnownProduct(a, text, other, backorder, active)
            if b is not None and b not in warehouses:
                warehouses[b] = intake_pg.warehouse_info(b, code, priority, lat, lon)
                batch.available[b] = {}
            if c is not None:
                batch.available[b][a] = available
                batch.index[(b, a)] = c
        elif kind == 0:  # in id order: the first row with an e-mail or phone is the one intake matches
            if text is not None:
                batch.by_email.setdefault(text, (a, b, c))
            if other is not None:
                batch.by_phone.setdefault(other, (a, b, c))
        elif kind == 3:
            batch.existing[(text, other)] = a
        else:
            ids[kind].append(a)
    batch.warehouses = [warehouses[k] for k in sorted(warehouses)]
    batch.available = {k: batch.available[k] for k in sorted(batch.available)}
    batch.ids = {kind: iter(sorted(values)) for kind, values in ids.items()}
    intake_pg.set_batch(session, batch)
    defer_writes(session)
    return batch
