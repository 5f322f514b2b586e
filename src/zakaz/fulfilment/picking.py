"""Wave pick lists: build one per warehouse over many orders, record picks, partial and short picks.

A short pick (the bin has fewer units than the system thought) keeps what was picked, shrinks the
reservation to the picked units, releases the missing ones (reserved down, ``release`` movement) and corrects
``on_hand`` as a stocktake discrepancy (``stocktake`` movement); the order goes on hold with ``short_pick``.
Releasing the order re-allocates the missing units and a later wave picks them.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.errors import Conflict, NotFound
from zakaz.fulfilment.models import PickList, PickListLine, Shipment, ShipmentLine
from zakaz.fulfilment.refs import load_by_ref
from zakaz.fulfilment.rules import Demand, spread, walking_order_key
from zakaz.fulfilment.shipments import (
    SHIPPABLE_ORDERS,
    Journal,
    ensure_shipments,
    lock_orders,
    sync_order,
    transition_shipment,
)
from zakaz.fulfilment.states import EXTENDABLE, ShipmentState
from zakaz.inventory.models import (
    MovementReason,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Warehouse,
)
from zakaz.orders.models import Order
from zakaz.orders.states import TRANSITIONS, OrderStatus
from zakaz.orders.timeline import transition

SHORT_PICK = "short_pick"


class PickListStatus:
    open = "open"
    completed = "completed"


def warehouse_by_code(session: Session, code: str) -> Warehouse:
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise NotFound(f"no warehouse {code!r}", field="warehouse")
    return warehouse


def _candidate_orders(session: Session, warehouse_id: int, max_orders: int) -> list[int]:
    unbound = (
        select(Reservation.order_id)
        .outerjoin(ShipmentLine, ShipmentLine.reservation_id == Reservation.id)
        .where(
            Reservation.warehouse_id == warehouse_id,
            Reservation.status == ReservationStatus.active.value,
            ShipmentLine.id.is_(None),
        )
    )
    not_on_a_list = (
        select(Shipment.order_id)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(
            Shipment.warehouse_id == warehouse_id,
            Shipment.status.in_([s.value for s in EXTENDABLE]),
            ShipmentLine.pick_list_line_id.is_(None),
        )
    )
    stmt = (
        select(Order.id)
        .where(Order.status.in_(SHIPPABLE_ORDERS), or_(Order.id.in_(unbound), Order.id.in_(not_on_a_list)))
        .order_by(Order.ship_by.is_(None), Order.ship_by, Order.created_at, Order.id)
        .limit(max_orders)
    )
    return list(session.scalars(stmt))


def create_pick_list(session: Session, *, warehouse_code: str, max_orders: int, actor: str) -> PickList:
    """One wave for ``warehouse_code``: the ``max_orders`` most urgent orders (earliest ship-by first)."""
    if max_orders < 1:
        raise Conflict("max_orders must be at least 1", field="max_orders")
    warehouse = warehouse_by_code(session, warehouse_code)
    order_ids = _candidate_orders(session, warehouse.id, max_orders)
    if not order_ids:
        raise Conflict(
            f"nothing to pick at {warehouse_code}: no allocated orders waiting", code="nothing_to_pick"
        )
    orders = lock_orders(session, order_ids)
    journal = Journal()
    ensure_shipments(session, list(orders.values()), journal=journal, actor=actor, warehouse_id=warehouse.id)
    rows = session.execute(
        select(ShipmentLine, StockLevel.bin_location)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(StockLevel, StockLevel.id == ShipmentLine.stock_level_id)
        .where(
            Shipment.order_id.in_(order_ids),
            Shipment.warehouse_id == warehouse.id,
            Shipment.status.in_([s.value for s in EXTENDABLE]),
            ShipmentLine.pick_list_line_id.is_(None),
        )
    ).all()
    groups: dict[tuple[int, str | None], list[ShipmentLine]] = defaultdict(list)
    for line, bin_location in rows:
        groups[(line.product_id, bin_location)].append(line)
    ordered = sorted(groups.items(), key=lambda kv: walking_order_key(kv[0][1], kv[1][0].sku))
    now = utcnow()
    pick_list = PickList(
        number=f"PL-{warehouse.code}-{now:%y%m%d}-{secrets.token_hex(3).upper()}",
        warehouse_id=warehouse.id,
        status=PickListStatus.open,
        order_count=len({line.shipment_id for line, _ in rows}),
        unit_count=sum(line.quantity for line, _ in rows),
        actor=actor,
        created_at=now,
    )
    session.add(pick_list)
    session.flush()
    lines = [
        PickListLine(
            pick_list_id=pick_list.id,
            seq=seq,
            product_id=product_id,
            sku=members[0].sku,
            name=members[0].name,
            bin_location=bin_location,
            quantity=sum(m.quantity for m in members),
            picked_qty=0,
            short_qty=0,
        )
        for seq, ((product_id, bin_location), members) in enumerate(ordered, start=1)
    ]
    session.add_all(lines)
    session.flush()
    binding = [
        {"id": member.id, "pick_list_line_id": pl_line.id}
        for pl_line, (_, members) in zip(lines, ordered, strict=True)
        for member in members
    ]
    session.execute(update(ShipmentLine), binding)
    session.execute(
        update(Shipment)
        .where(Shipment.id.in_({line.shipment_id for line, _ in rows}))
        .values(pick_list_id=pick_list.id)
        .execution_options(synchronize_session=False)
    )
    journal.flush(session)
    return pick_list


def load_pick_list(session: Session, ref: str | int, *, for_update: bool = False) -> PickList:
    return load_by_ref(session, PickList, ref, noun="pick list", for_update=for_update)


@dataclass(frozen=True)
class _Target:
    line: ShipmentLine
    shipment: Shipment


def _targets(session: Session, pick_line_id: int) -> list[_Target]:
    """Shipment lines fed by a pick-list line, most urgent order first."""
    rows = session.execute(
        select(ShipmentLine, Shipment)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(
            ShipmentLine.pick_list_line_id == pick_line_id, Shipment.status.in_([s.value for s in EXTENDABLE])
        )
        .order_by(Order.ship_by.is_(None), Order.ship_by, Order.created_at, ShipmentLine.id)
    ).all()
    return [_Target(line, shipment) for line, shipment in rows]


def _open(line: ShipmentLine) -> int:
    return line.quantity - line.short_qty - line.picked_qty


def pick(
    session: Session, *, pick_list_ref: str, seq: int, quantity: int, short: bool = False, actor: str
) -> PickList:
    """Record ``quantity`` more units picked from line ``seq``; ``short`` declares the rest missing."""
    pick_list = load_pick_list(session, pick_list_ref, for_update=True)
    if pick_list.status != PickListStatus.open:
        raise Conflict(f"pick list {pick_list.number} is {pick_list.status}", code="pick_list_closed")
    pl_line = session.scalar(
        select(PickListLine).where(PickListLine.pick_list_id == pick_list.id, PickListLine.seq == seq)
    )
    if pl_line is None:
        raise NotFound(f"pick list {pick_list.number} has no line {seq}")
    targets = _targets(session, pl_line.id)
    orders = lock_orders(session, {t.shipment.order_id for t in targets})
    open_units = sum(_open(t.line) for t in targets)
    if quantity < 0 or quantity > open_units:
        raise Conflict(
            f"line {seq} ({pl_line.sku} at {pl_line.bin_location or 'no bin'}) has {open_units} units left "
            f"to pick, not {quantity}",
            code="over_pick",
            open=open_units,
        )
    journal = Journal()
    given = spread(quantity, [Demand(i, _open(t.line)) for i, t in enumerate(targets)])
    for i, units in given.items():
        targets[i].line.picked_qty += units
        pl_line.picked_qty += units
        shipment = targets[i].shipment
        if shipment.status == ShipmentState.ready_to_pick.value:
            transition_shipment(
                session,
                shipment,
                ShipmentState.picking,
                order=orders[shipment.order_id],
                journal=journal,
                actor=actor,
                data={"pick_list": pick_list.number},
            )
    if short:
        for t in targets:
            missing = _open(t.line)
            if missing:
                _short(session, t, missing, pl_line, pick_list, orders[t.shipment.order_id], journal, actor)
    for order_id in sorted({targets[i].shipment.order_id for i in given}):
        sync_order(session, orders[order_id], journal=journal, actor=actor)
    journal.flush(session)
    return pick_list


def _short(
    session: Session,
    target: _Target,
    missing: int,
    pl_line: PickListLine,
    pick_list: PickList,
    order: Order,
    journal: Journal,
    actor: str,
) -> None:
    line, shipment = target.line, target.shipment
    line.short_qty += missing
    pl_line.short_qty += missing
    _release_missing(
        session, line, missing, reference=order.number, actor=actor, bin_location=pl_line.bin_location
    )
    detail = (
        f"{missing} x {line.sku} missing at bin {pl_line.bin_location or '-'} (pick list {pick_list.number})"
    )
    data = {
        "shipment": shipment.number,
        "sku": line.sku,
        "missing": missing,
        "bin": pl_line.bin_location,
        "pick_list": pick_list.number,
    }
    order.hold_reasons = [*order.hold_reasons, {"code": SHORT_PICK, "detail": detail, "params": dict(data)}]
    if order.status == OrderStatus.on_hold.value:
        journal.timeline.record(order, SHORT_PICK, actor=actor, reason=detail, data=data)
    elif OrderStatus.on_hold in TRANSITIONS[OrderStatus(order.status)]:
        transition(
            order, OrderStatus.on_hold, timeline=journal.timeline, actor=actor, reason=detail, data=data
        )
    else:  # e.g. another leg already shipped: the order table allows no hold any more
        journal.timeline.record(order, SHORT_PICK, actor=actor, reason=detail, data=data)
    session.flush()
    left = session.scalars(
        select(ShipmentLine.quantity - ShipmentLine.short_qty).where(ShipmentLine.shipment_id == shipment.id)
    ).all()
    if not any(left):
        transition_shipment(
            session,
            shipment,
            ShipmentState.cancelled,
            order=order,
            journal=journal,
            actor=actor,
            reason="every unit short-picked",
        )


def _release_missing(
    session: Session,
    line: ShipmentLine,
    missing: int,
    *,
    reference: str,
    actor: str,
    bin_location: str | None,
) -> None:
    """Shrink the reservation to what was found; the missing units leave reserved AND on_hand."""
    reservation = session.get_one(Reservation, line.reservation_id, with_for_update=True)
    now = utcnow()
    if missing >= reservation.quantity:
        reservation.status = ReservationStatus.released.value
    else:
        reservation.quantity -= missing
        session.execute(
            insert(Reservation),
            [
                {
                    "order_id": reservation.order_id,
                    "order_line_id": reservation.order_line_id,
                    "stock_level_id": reservation.stock_level_id,
                    "warehouse_id": reservation.warehouse_id,
                    "product_id": reservation.product_id,
                    "quantity": missing,
                    "status": ReservationStatus.released.value,
                    "created_at": now,
                }
            ],
        )
    result = session.execute(
        update(StockLevel)
        .where(
            StockLevel.id == line.stock_level_id,
            StockLevel.reserved >= missing,
            StockLevel.on_hand >= missing,
        )
        .values(reserved=StockLevel.reserved - missing, on_hand=StockLevel.on_hand - missing, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(f"stock row {line.stock_level_id} cannot release {missing} units")
    base = {
        "stock_level_id": line.stock_level_id,
        "warehouse_id": reservation.warehouse_id,
        "product_id": line.product_id,
        "reference": reference,
        "actor": actor,
        "created_at": now,
    }
    session.execute(
        insert(StockMovement),
        [
            {
                **base,
                "on_hand_delta": 0,
                "reserved_delta": -missing,
                "reason": MovementReason.release.value,
                "note": "short pick: reservation released",
            },
            {
                **base,
                "on_hand_delta": -missing,
                "reserved_delta": 0,
                "reason": MovementReason.stocktake.value,
                "note": f"short pick: {missing} not found at bin {bin_location or '-'}",
            },
        ],
    )


def complete(session: Session, *, pick_list_ref: str, actor: str, short_remaining: bool = False) -> PickList:
    """Close the wave; lines still open are refused unless ``short_remaining`` declares them missing."""
    pick_list = load_pick_list(session, pick_list_ref, for_update=True)
    if pick_list.status != PickListStatus.open:
        raise Conflict(f"pick list {pick_list.number} is {pick_list.status}", code="pick_list_closed")
    open_lines = [
        (ln.seq, ln.quantity - ln.picked_qty - ln.short_qty)
        for ln in session.scalars(select(PickListLine).where(PickListLine.pick_list_id == pick_list.id))
        if ln.quantity - ln.picked_qty - ln.short_qty > 0
    ]
    if open_lines and not short_remaining:
        raise Conflict(
            f"{len(open_lines)} lines are not fully picked; pick them or complete with short_remaining",
            code="lines_open",
            open_lines=[{"seq": seq, "open": n} for seq, n in sorted(open_lines)],
        )
    for seq, _ in sorted(open_lines):
        pick(session, pick_list_ref=pick_list.number, seq=seq, quantity=0, short=True, actor=actor)
    pick_list.status = PickListStatus.completed
    pick_list.completed_at = utcnow()
    return pick_list
