"""Operator actions on an order: confirm, hold, release, cancel, edit. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zakaz.allocation.routing import Policy
from zakaz.allocation.service import allocate
from zakaz.clock import utcnow
from zakaz.customers import service as customers
from zakaz.errors import Conflict, ValidationFailed
from zakaz.inventory import service as stock
from zakaz.inventory.models import Reservation
from zakaz.orders import rules
from zakaz.orders.intake import IntakeConfig, load_catalog, locate_address
from zakaz.orders.models import Order, OrderLine
from zakaz.orders.rules import manual_hold, unlocatable_hold
from zakaz.orders.schemas import OrderEdit
from zakaz.orders.states import EDITABLE, OrderStatus
from zakaz.orders.timeline import Timeline, transition
from zakaz.orders.views import load_order


def confirm(session: Session, order_id: int, *, actor: str, policy: Policy, reason: str = "") -> Order:
    order = load_order(session, order_id, for_update=True)
    timeline = Timeline()
    transition(
        order, OrderStatus.confirmed, timeline=timeline, actor=actor, reason=reason or "confirmed by operator"
    )
    allocate(session, order, timeline=timeline, actor=actor, policy=policy)
    timeline.flush(session)
    return order


def hold(session: Session, order_id: int, *, actor: str, reason: str) -> Order:
    order = load_order(session, order_id, for_update=True)
    timeline = Timeline()
    transition(order, OrderStatus.on_hold, timeline=timeline, actor=actor, reason=reason)
    order.hold_reasons = [*order.hold_reasons, manual_hold(reason).as_dict()]
    timeline.flush(session)
    return order


def release(session: Session, order_id: int, *, actor: str, policy: Policy, reason: str = "") -> Order:
    """Clear the holds, confirm, and allocate (which may hold again if stock is still short)."""
    order = load_order(session, order_id, for_update=True)
    timeline = Timeline()
    released = list(order.hold_reasons)
    transition(
        order,
        OrderStatus.confirmed,
        timeline=timeline,
        actor=actor,
        reason=reason or "released by operator",
        data={"released_holds": released},
    )
    order.hold_reasons = []
    allocate(session, order, timeline=timeline, actor=actor, policy=policy)
    timeline.flush(session)
    return order


def cancel(session: Session, order_id: int, *, actor: str, reason: str = "") -> Order:
    order = load_order(session, order_id, for_update=True)
    timeline = Timeline()
    transition(order, OrderStatus.cancelled, timeline=timeline, actor=actor, reason=reason or "cancelled")
    from zakaz.fulfilment.shipments import cancel_open_shipments  # issue #4: open shipments are cancelled too

    cancel_open_shipments(session, order, timeline=timeline, actor=actor)  # issue #4
    units = stock.release_order(
        session, order_id=order.id, reference=order.number, actor=actor, note="order cancelled"
    )
    if units:
        timeline.record(order, "stock_released", actor=actor, data={"units": units})
    if order.customer_id is not None:
        # A cancelled order is not spending: keep the history behind the value holds honest.
        customers.count_order(
            session, customer_id=order.customer_id, total_minor=-order.total_minor, orders=-1
        )
    timeline.flush(session)
    return order


def _snapshot(order: Order) -> dict[str, Any]:
    return {
        "customer": {"name": order.contact_name, "email": order.contact_email, "phone": order.contact_phone},
        "shipping_address": {
            "name": order.ship_name,
            "region": order.ship_region,
            "city": order.ship_city,
            "postcode": order.ship_postcode,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
        },
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "unit_price_minor": ln.unit_price_minor}
            for ln in order.lines
        ],
        "total_minor": order.total_minor,
    }


def edit(session: Session, order_id: int, data: OrderEdit, *, actor: str, config: IntakeConfig) -> Order:
    """Change an order until picking starts; re-validate, re-hold or re-allocate, and record before/after."""
    order = load_order(session, order_id, for_update=True)
    if OrderStatus(order.status) not in EDITABLE:
        raise Conflict(f"an order in status {order.status} can no longer be edited", current=order.status)
    from zakaz.fulfilment.shipments import refuse_edit_with_shipments  # issue #4: not once in a pick list

    refuse_edit_with_shipments(session, order)  # issue #4
    before = _snapshot(order)
    errors = []
    customer = data.customer
    if customer is not None:
        errors += rules.check_customer(customer, config.limits)
    if data.shipping_address is not None:
        errors += rules.check_address(
            data.shipping_address, customer.name if customer else order.contact_name
        )
    lines = data.lines
    catalog = load_catalog(session, [ln.sku for ln in lines]) if lines is not None else {}
    if lines is not None:
        errors += rules.check_lines(lines, catalog, config.limits)
    shipping = data.shipping_minor if data.shipping_minor is not None else order.shipping_minor
    discount = data.discount_minor if data.discount_minor is not None else order.discount_minor
    if lines is not None or data.shipping_minor is not None or data.discount_minor is not None:
        from zakaz.orders.schemas import LineIn

        effective = lines or [
            LineIn(sku=ln.sku, quantity=ln.quantity, unit_price_minor=ln.unit_price_minor)
            for ln in order.lines
        ]
        errors += rules.check_totals(effective, shipping, discount, None, order.currency)
    if errors:
        raise ValidationFailed(errors)

    timeline = Timeline()
    if customer is not None:
        order.contact_name = customer.name or order.contact_name
        order.contact_email = rules.normalise_email(customer.email) if customer.email else None
        phone = customer.phone
        order.contact_phone = rules.normalise_phone(phone, config.limits.phone_region) if phone else None
    relocate = False
    if data.shipping_address is not None:
        a = data.shipping_address
        order.ship_name, order.ship_country, order.ship_region = (
            a.name or order.ship_name,
            a.country,
            a.region,
        )
        order.ship_city, order.ship_postcode, order.ship_line1, order.ship_line2 = (
            a.city,
            a.postcode,
            a.line1,
            a.line2,
        )
        destination, precision = locate_address(a)
        order.ship_latitude = destination.lat if destination else None
        order.ship_longitude = destination.lon if destination else None
        order.geo_precision = precision
        relocate = True
    reallocate = relocate or lines is not None
    was_reserving = order.status in {OrderStatus.allocated.value, OrderStatus.backordered.value}
    if (reallocate and was_reserving) or lines is not None:
        stock.release_order(
            session, order_id=order.id, reference=order.number, actor=actor, note="order edited"
        )
        # the reservations go with the lines they were for (the stock movements keep the record)
        session.execute(delete(Reservation).where(Reservation.order_id == order.id))
    if lines is not None:
        session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
        session.expire(order, ["lines"])
        for i, ln in enumerate(lines):
            product = catalog[ln.sku]
            session.add(
                OrderLine(
                    order_id=order.id,
                    line_no=i + 1,
                    product_id=product.id,
                    sku=ln.sku,
                    name=ln.name or product.name,
                    quantity=ln.quantity,
                    unit_price_minor=ln.unit_price_minor,
                    line_total_minor=ln.quantity * ln.unit_price_minor,
                )
            )
        session.flush()
        session.refresh(order, ["lines"])
    order.shipping_minor, order.discount_minor = shipping, discount
    order.subtotal_minor = sum(ln.line_total_minor for ln in order.lines)
    order.total_minor = order.subtotal_minor + shipping - discount
    if data.note is not None:
        order.note = data.note
    order.updated_at = utcnow()
    timeline.record(
        order,
        "edited",
        actor=actor,
        reason=data.reason or None,
        data={"before": before, "after": _snapshot(order)},
    )

    if relocate and order.ship_latitude is None:
        hold = unlocatable_hold(order.ship_city, order.ship_region, where=order.ship_city)
        order.hold_reasons = [*order.hold_reasons, hold.as_dict()]
        if order.status != OrderStatus.on_hold.value:
            transition(order, OrderStatus.on_hold, timeline=timeline, actor=actor, reason=hold.detail)
    elif reallocate and order.status in {
        OrderStatus.allocated.value,
        OrderStatus.backordered.value,
        OrderStatus.confirmed.value,
    }:
        allocate(session, order, timeline=timeline, actor=actor, policy=config.policy)
    timeline.flush(session)
    return order


def fill_backorders(
    session: Session, *, product_id: int, actor: str, policy: Policy, limit: int = 50
) -> list[str]:
    """After stock arrives, allocate waiting backorders for that product, oldest first."""
    ids = session.scalars(
        select(Order.id)
        .where(
            Order.status == OrderStatus.backordered.value,
            Order.id.in_(select(OrderLine.order_id).where(OrderLine.product_id == product_id)),
        )
        .order_by(Order.created_at, Order.id)
        .limit(limit)
    ).all()
    filled = []
    for order_id in ids:
        order = load_order(session, order_id, for_update=True)
        timeline = Timeline()
        plan = allocate(session, order, timeline=timeline, actor=actor, policy=policy)
        timeline.flush(session)
        if plan.legs and order.status == OrderStatus.allocated.value:
            filled.append(order.number)
    return filled
