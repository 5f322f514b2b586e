"""Order intake: receive once, validate, hold or confirm, allocate and reserve, in one transaction.

This is the hot path (see docs/benchmarks.md), so it works on plain rows with a handful of statements:
look-ups first, then the order, its lines, customer totals, timeline and outbox, and the guarded stock
updates last, where the row locks are held for the shortest time.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from zakaz.allocation.routing import LineDemand, Policy
from zakaz.allocation.service import plan_lines, plan_over, plan_to_json, reserve_items
from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.config import Settings
from zakaz.customers import service as customers
from zakaz.errors import FieldError, ValidationFailed
from zakaz.geo import LatLon, locate
from zakaz.inventory import service as stock
from zakaz.orders import intake_pg, rules
from zakaz.orders.models import Order, OrderLine
from zakaz.orders.rules import Hold, HoldPolicy, KnownProduct, Limits
from zakaz.orders.schemas import AddressIn, OrderCreate
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
assert len(_ALPHABET) == 32

# Prebuilt Core statements: the hot path neither builds statements nor goes through the ORM per order.
ORDERS = cast(Table, Order.__table__)
LINES = cast(Table, OrderLine.__table__)
PRODUCTS = cast(Table, Product.__table__)
_FIND_EXISTING = select(ORDERS.c.id).where(
    ORDERS.c.channel == bindparam("channel"), ORDERS.c.external_id == bindparam("external_id")
)
_LOAD_CATALOG = select(
    PRODUCTS.c.id, PRODUCTS.c.sku, PRODUCTS.c.name, PRODUCTS.c.allow_backorder, PRODUCTS.c.active
).where(PRODUCTS.c.sku.in_(bindparam("skus", expanding=True)))
_INSERT_ORDER = insert(ORDERS).returning(ORDERS.c.id)
_INSERT_LINES = insert(LINES).returning(LINES.c.id, LINES.c.line_no, sort_by_parameter_order=True)


@dataclass(frozen=True)
class IntakeConfig:
    limits: Limits
    holds: HoldPolicy
    policy: Policy
    ship_within: timedelta
    unknown_sku_holds: bool = False

    @classmethod
    def from_settings(cls, s: Settings, *, unknown_sku_holds: bool = False) -> IntakeConfig:
        return cls(
            limits=Limits(s.max_line_quantity, s.max_lines_per_order, s.default_phone_region),
            holds=HoldPolicy(s.first_order_hold_above_minor, s.history_hold_multiplier, s.history_min_orders),
            policy=Policy(s.allocation_policy),
            ship_within=timedelta(hours=s.default_ship_within_hours),
            unknown_sku_holds=unknown_sku_holds,
        )


@dataclass
class Draft:
    """The order being received, before it has a row (satisfies ``OrderLike``)."""

    id: int | None
    number: str
    status: str
    updated_at: datetime


@dataclass(frozen=True)
class IntakeResult:
    """The order's id; for a new order also the rows just written, so callers need not read them back."""

    order_id: int
    created: bool
    order: dict[str, Any] | None = None
    lines: list[dict[str, Any]] | None = None
    events: list[dict[str, Any]] | None = None  # the timeline with ids, when intake knows them (PostgreSQL)


def new_order_number(now: datetime) -> str:
    """Human-readable and contention-free: ZK-YYMMDD-XXXXX (no 0/O/1/I). Clashes are retried by the caller."""
    bits = secrets.randbits(25)  # 5 x 5 bits: each character uniform over the 32 of _ALPHABET
    a = _ALPHABET
    suffix = a[bits >> 20] + a[(bits >> 15) & 31] + a[(bits >> 10) & 31] + a[(bits >> 5) & 31] + a[bits & 31]
    return f"ZK-{now.year % 100:02d}{now.month:02d}{now.day:02d}-{suffix}"  # %y%m%d


def find_existing(session: Session, channel: str, external_id: str | None) -> int | None:
    if external_id is None:
        return None
    if intake_pg.enabled(session):
        return intake_pg.find_existing(session, channel, external_id)
    found: int | None = session.execute(
        _FIND_EXISTING, {"channel": channel, "external_id": external_id}
    ).scalar_one_or_none()
    return found


def load_catalog(session: Session, skus: Sequence[str]) -> dict[str, KnownProduct]:
    rows = session.execute(_LOAD_CATALOG, {"skus": sorted(set(skus))}).all()
    return {r.sku: KnownProduct(r.id, r.sku, r.name, r.allow_backorder, r.active) for r in rows}


def validate(
    data: OrderCreate,
    catalog: dict[str, KnownProduct],
    config: IntakeConfig,
    customer_errors: list[FieldError] | None = None,
) -> None:
    """422 for a structurally invalid order; ``customer_errors`` from :func:`rules.normalise_customer`."""
    if customer_errors is None:
        customer_errors = rules.check_customer(data.customer, config.limits)
    errors = [
        *rules.check_lines(
            data.lines, catalog, config.limits, unknown_sku_is_error=not config.unknown_sku_holds
        ),
        *customer_errors,
        *rules.check_address(data.shipping_address, data.customer.name),
        *rules.check_totals(
            data.lines, data.shipping_minor, data.discount_minor, data.total_minor, data.currency
        ),
    ]
    if errors:
        raise ValidationFailed(errors)


def locate_address(address: AddressIn) -> tuple[LatLon | None, str | None]:
    if address.latitude is not None and address.longitude is not None:
        return LatLon(address.latitude, address.longitude), "exact"
    match = locate(address.city or None, address.region or None)
    if match is None:
        return None, None
    return LatLon(match.lat, match.lon), match.precision


def receive(session: Session, data: OrderCreate, *, actor: str, config: IntakeConfig) -> IntakeResult:
    existing = find_existing(session, data.channel, data.external_id)
    if existing is not None:
        return IntakeResult(existing, created=False)
    now = utcnow()
    email, phone, customer_errors = rules.normalise_customer(data.customer, config.limits)
    if rules.amount_errors(data.lines, data.shipping_minor, data.discount_minor, data.total_minor):
        # refused before the customer is counted or any amount is sent to the database
        validate(data, load_catalog(session, [line.sku for line in data.lines]), config, customer_errors)
    subtotal = rules.subtotal(data.lines)
    total = subtotal + data.shipping_minor - data.discount_minor
    skus = [line.sku for line in data.lines]
    # Every order that passes validation is written, so it is counted in the customer's totals right away.
    # On PostgreSQL that happens in the same statement as the catalogue read, before validation: a
    # validation error rolls the transaction back, count included.
    fast = intake_pg.enabled(session)
    read = None
    if fast:
        read = intake_pg.read(
            session,
            skus,
            name=data.customer.name or data.shipping_address.name,
            email=email,
            phone=phone,
            locale=data.customer.locale,
            total_minor=total,
            now=now,
        )
        catalog = read.catalog
        validate(data, catalog, config, customer_errors)
        customer = read.customer
    else:
        catalog = load_catalog(session, skus)
        validate(data, catalog, config, customer_errors)
        customer = customers.find_and_count(
            session,
            name=data.customer.name or data.shipping_address.name,
            email=email,
            phone=phone,
            locale=data.customer.locale,
            total_minor=total,
        )
    destination, precision = locate_address(data.shipping_address)

    holds: list[Hold] = []
    if destination is None:
        holds.append(rules.unlocatable_hold(data.shipping_address.city, data.shipping_address.region))
    holds += rules.value_holds(
        total,
        rules.CustomerHistory(customer.order_count, customer.total_spent_minor),
        config.holds,
        currency=data.currency,
    )
    if data.payment_status == "failed":
        holds.append(rules.payment_failed_hold())
    unknown = [line.sku for line in data.lines if line.sku not in catalog]
    if unknown:
        holds.append(rules.unknown_sku_hold(unknown))

    demand = [
        LineDemand(i + 1, catalog[line.sku].id, line.sku, line.quantity, catalog[line.sku].allow_backorder)
        for i, line in enumerate(data.lines)
        if line.sku in catalog
    ]
    plan = None
    index: dict[tuple[int, int], int] = {}
    if not holds:
        if read is not None:
            plan = plan_over(demand, read.warehouses, read.available, destination, config.policy)
            index = read.index
        else:
            plan, index = plan_lines(session, demand, destination, config.policy)
        if plan.unfillable:
            holds.append(rules.short_stock_hold((s.sku, s.quantity) for s in plan.unfillable))

    draft = Draft(id=None, number=new_order_number(now), status=OrderStatus.new.value, updated_at=now)
    timeline = Timeline()
    timeline.record(
        draft,
        "received",
        actor=actor,
        to_status=OrderStatus.new.value,
        topic="order.received",
        data={"channel": data.channel, "external_id": data.external_id},
        at=now,
    )
    if holds:
        transition(
            draft,
            OrderStatus.on_hold,
            timeline=timeline,
            actor=actor,
            reason="; ".join(h.detail for h in holds),
            data={"holds": [h.code.value for h in holds]},
        )
    else:
        transition(
            draft, OrderStatus.confirmed, timeline=timeline, actor=actor, reason="all intake checks passed"
        )
        assert plan is not None
        target = OrderStatus.backordered if plan.backordered else OrderStatus.allocated
        transition(
            draft,
            target,
            timeline=timeline,
            actor=actor,
            data={"legs": [leg.code for leg in plan.legs], "backordered": [s.sku for s in plan.backordered]},
        )

    row: dict[str, Any] = {
        "number": draft.number,
        "channel": data.channel,
        "external_id": data.external_id,
        "customer_id": customer.id,
        "status": draft.status,
        "payment_status": data.payment_status,
        "currency": data.currency,
        "subtotal_minor": subtotal,
        "shipping_minor": data.shipping_minor,
        "discount_minor": data.discount_minor,
        "total_minor": total,
        "contact_name": data.customer.name or data.shipping_address.name,
        "contact_email": email,
        "contact_phone": phone,
        "ship_name": data.shipping_address.name or data.customer.name,
        "ship_country": data.shipping_address.country,
        "ship_region": data.shipping_address.region,
        "ship_city": data.shipping_address.city,
        "ship_postcode": data.shipping_address.postcode,
        "ship_line1": data.shipping_address.line1,
        "ship_line2": data.shipping_address.line2,
        "ship_latitude": destination.lat if destination else None,
        "ship_longitude": destination.lon if destination else None,
        "geo_precision": precision,
        "ship_by": data.ship_by or now + config.ship_within,
        "hold_reasons": [h.as_dict() for h in holds],
        "allocation": plan_to_json(plan, decided_at=now) if plan is not None and not holds else None,
        "note": data.note,
        "created_at": now,
        "updated_at": now,
    }
    line_rows = [
        {
            "order_id": None,
            "line_no": i + 1,
            "product_id": catalog[line.sku].id if line.sku in catalog else None,
            "sku": line.sku,
            "name": line.name or (catalog[line.sku].name if line.sku in catalog else line.sku),
            "quantity": line.quantity,
            "unit_price_minor": line.unit_price_minor,
            "line_total_minor": line.quantity * line.unit_price_minor,
        }
        for i, line in enumerate(data.lines)
    ]
    if fast:
        events = [item.row for item in timeline.items]
        written = intake_pg.write(
            session,
            row,
            line_rows,
            timeline,
            plan=plan if not holds else None,
            index=index,
            actor=actor,
        )
        row["id"] = draft.id = written.order_id
        for line in line_rows:
            line["order_id"] = written.order_id
            line["id"] = written.line_ids[cast(int, line["line_no"])]
        for event, event_id in zip(events, written.event_ids, strict=True):
            event["id"] = event_id
            event["order_id"] = written.order_id
        return IntakeResult(written.order_id, created=True, order=row, lines=line_rows, events=events)
    draft.id = session.execute(_INSERT_ORDER, row).scalar_one()
    row["id"] = draft.id
    for line in line_rows:
        line["order_id"] = draft.id
    inserted = session.execute(_INSERT_LINES, line_rows).all()
    timeline.flush(session)
    if plan is not None and not holds:
        line_ids = {r.line_no: r.id for r in inserted}
        stock.reserve(
            session,
            reserve_items(plan, line_ids, index),
            order_id=draft.id,
            reference=draft.number,
            actor=actor,
        )
    return IntakeResult(draft.id, created=True, order=row, lines=line_rows)
