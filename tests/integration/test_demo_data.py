"""Demo data: deterministic generator, consistent money and stock, open orders through the real intake."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zakaz.catalog.models import Product
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.demo.generator import generate, split_orders
from zakaz.demo.loader import load_if_empty
from zakaz.inventory.models import Reservation, ReservationStatus, StockLevel, Warehouse
from zakaz.orders.models import Order, OrderEvent, OrderLine

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def ean13_ok(code: str) -> bool:
    digits = [int(d) for d in code]
    return len(code) == 13 and (sum(digits[0::2]) + 3 * sum(digits[1::2])) % 10 == 0


def test_generator_is_deterministic_and_plausible() -> None:
    first = generate(orders=300, seed=7, now=NOW)
    assert first == generate(orders=300, seed=7, now=NOW)
    assert first.history != generate(orders=300, seed=8, now=NOW).history

    assert len(first.warehouses) == 5
    assert 180 <= len(first.products) <= 220
    assert len({p.sku for p in first.products}) == len(first.products)
    assert all(ean13_ok(p.barcode) and p.barcode.startswith("460") for p in first.products)
    assert any(p.allow_backorder for p in first.products)
    assert len({(s.warehouse, s.bin_location) for s in first.stock}) == len(first.stock)
    assert len(first.history) + len(first.open_orders) == 300
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(c.phone)) for c in first.customers)
    assert len({c.email for c in first.customers}) == len(first.customers)
    assert {o.channel for o in first.history} == {"ozon", "web", "api"}
    assert all(
        o.created_at < NOW and o.events == tuple(sorted(o.events, key=lambda e: e.at)) for o in first.history
    )
    assert {o.status for o in first.history} <= {"delivered", "cancelled", "shipped"}


def test_split_orders_keeps_open_orders_small() -> None:
    assert split_orders(20000) == (19850, 150)
    assert split_orders(300) == (295, 5)


def _counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, read_only=True) as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Warehouse, Product, Customer, Order, OrderLine, OrderEvent, Reservation)
        }


def test_demo_load_is_consistent(engine: Engine) -> None:
    assert load_if_empty(engine, orders=300, seed=3) is True
    counts = _counts(engine)
    assert counts["orders"] == 300
    assert counts["warehouses"] == 5
    assert counts["order_events"] > 3 * 300

    with unit_of_work(engine, read_only=True) as s:
        orders = s.execute(
            select(Order.id, Order.customer_id, Order.status, Order.subtotal_minor, Order.shipping_minor,
                   Order.discount_minor, Order.total_minor, Order.hold_reasons)
        ).all()  # fmt: skip
        line_sums = dict(
            s.execute(
                select(OrderLine.order_id, func.sum(OrderLine.line_total_minor)).group_by(OrderLine.order_id)
            ).all()
        )
        bad_lines = s.scalar(
            select(func.count()).where(
                OrderLine.line_total_minor != OrderLine.quantity * OrderLine.unit_price_minor
            )
        )
        customers = s.execute(select(Customer.id, Customer.order_count, Customer.total_spent_minor)).all()
        levels = s.execute(select(StockLevel.id, StockLevel.on_hand, StockLevel.reserved)).all()
        active = dict(
            s.execute(
                select(Reservation.stock_level_id, func.sum(Reservation.quantity))
                .where(Reservation.status == ReservationStatus.active.value)
                .group_by(Reservation.stock_level_id)
            ).all()
        )

    assert bad_lines == 0
    for o in orders:
        assert line_sums[o.id] == o.subtotal_minor
        assert o.total_minor == o.subtotal_minor + o.shipping_minor - o.discount_minor >= 0
    per_customer: dict[int, list[int]] = {}
    for o in orders:
        per_customer.setdefault(o.customer_id, []).append(o.total_minor)
    for c in customers:
        totals = per_customer.get(c.id, [])
        assert (c.order_count, c.total_spent_minor) == (len(totals), sum(totals))
    for level in levels:
        assert level.reserved == active.get(level.id, 0)
        assert 0 <= level.reserved <= level.on_hand

    statuses = Counter(o.status for o in orders)
    assert statuses["delivered"] > 200
    open_orders = [o for o in orders if o.status not in {"delivered", "cancelled", "shipped"}]
    assert len(open_orders) == 5
    assert {o.status for o in open_orders} <= {"new", "on_hold", "allocated", "backordered"}
    holds = {h["code"] for o in open_orders for h in o.hold_reasons}
    assert {"address_unlocatable", "first_order_high_value"} <= holds
    assert sum(active.values()) > 0  # some of today's orders hold stock

    assert load_if_empty(engine, orders=300, seed=3) is False
    assert _counts(engine) == counts
