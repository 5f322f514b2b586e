"""Shipments: creation from reservations, THE shipment ``transition()``, and the order status they imply.

``transition_shipment`` is the only code that assigns ``Shipment.status``. It checks the table in
``states.py``, consumes the shipment's reservations when the parcel first leaves the warehouse, and buffers a
shipment event, an outbox message ``shipment.<state>`` and an order timeline event in a :class:`Journal`
that the caller flushes once (executemany) in its own transaction. ``sync_order`` then moves the order
along allocated -> picking -> packed -> partially_shipped -> shipped -> delivered through the order's
own ``transition()``; reserved units on no shipment yet (a leg not yet on a pick list) count as a leg still to
pick, so an order is partially shipped, not packed or shipped, while one of its warehouses has not started.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from zakaz.carriers import cdek, courier, russian_post
from zakaz.carriers.base import TrackingEvent
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.clock import utcnow
from zakaz.errors import Conflict
from zakaz.fulfilment.models import PickListLine, Shipment, ShipmentEvent, ShipmentLine
from zakaz.fulfilment.refs import load_by_ref
from zakaz.fulfilment.states import (
    EXTENDABLE,
    OPEN,
    SHIPPED,
    TOPICS,
    ShipmentState,
    check_transition,
    derived_order_status,
    order_path,
)
from zakaz.inventory.models import MovementReason, Reservation, ReservationStatus, StockLevel, StockMovement
from zakaz.orders.models import Order, OrderLine
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition
from zakaz.outbox import add_messages, outbox_row

#: Orders whose reservations may become shipments (picking: a later wave adds re-allocated units; packed and
#: partially_shipped: another warehouse's leg is still to pick while the first is packed or has left).
SHIPPABLE_ORDERS = frozenset(
    {
        OrderStatus.allocated.value,
        OrderStatus.picking.value,
        OrderStatus.packed.value,
        OrderStatus.partially_shipped.value,
    }
)


@dataclass
class Journal:
    """Shipment events, outbox messages and order timeline events waiting to be written together."""

    timeline: Timeline = field(default_factory=Timeline)
    events: list[tuple[Shipment, dict[str, Any]]] = field(default_factory=list)
    messages: list[tuple[Shipment, Order, dict[str, Any]]] = field(default_factory=list)

    def flush(self, session: Session, *, timeline: bool = True) -> None:
        """Write everything buffered; ``timeline=False`` when the caller owns and flushes the timeline."""
        session.flush()
        if self.events:
            session.execute(insert(ShipmentEvent), [{**row, "shipment_id": s.id} for s, row in self.events])
        add_messages(
            session,
            [outbox_row(p["topic"], "shipment", s.id, _payload(s, o, p)) for s, o, p in self.messages],
        )
        if timeline:
            self.timeline.flush(session)
        self.events.clear()
        self.messages.clear()


def _payload(shipment: Shipment, order: Order, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "shipment_id": shipment.id,
        "number": shipment.number,
        "order_id": order.id,
        "order_number": order.number,
        "from_status": extra["from_status"],
        "to_status": extra["to_status"],
        "carrier": shipment.carrier_code,
        "tracking_number": shipment.tracking_number,
        "booking_id": shipment.booking_id,
        "at": extra["at"],
    }


def _record(
    journal: Journal,
    shipment: Shipment,
    order: Order,
    *,
    from_status: str | None,
    actor: str,
    at: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    scan: TrackingEvent | None = None,
) -> None:
    to_status = shipment.status
    journal.events.append(
        (
            shipment,
            {
                "event_id": scan.event_id if scan else None,
                "type": "tracking" if scan else ("status_changed" if from_status else "created"),
                "from_status": from_status,
                "to_status": to_status,
                "raw_code": scan.raw_code if scan else None,
                "applied": True,
                "description": (scan.description if scan else reason or "")[:500],
                "location": (scan.location if scan else "")[:255],
                "actor": actor,
                "data": data or {},
                "occurred_at": at,
                "created_at": utcnow(),
            },
        )
    )
    journal.messages.append(
        (
            shipment,
            order,
            {
                "topic": TOPICS[ShipmentState(to_status)],
                "from_status": from_status,
                "to_status": to_status,
                "at": at.isoformat(),
            },
        )
    )
    journal.timeline.record(
        order,
        f"shipment_{to_status}",
        actor=actor,
        reason=reason,
        data={"shipment": shipment.number, "from_status": from_status, **(data or {})},
        at=at,
    )


def transition_shipment(
    session: Session,
    shipment: Shipment,
    target: ShipmentState,
    *,
    order: Order,
    journal: Journal,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    scan: TrackingEvent | None = None,
) -> None:
    """Move ``shipment`` to ``target`` or raise InvalidTransition; leaving the warehouse consumes stock.

    ``scan`` is the carrier event causing the change (its id dedupes, its time is when it happened).
    """
    check_transition(shipment.status, target)
    previous = ShipmentState(shipment.status)
    now = scan.occurred_at if scan else utcnow()
    if target in SHIPPED and previous not in SHIPPED:
        consume_reservations(session, shipment, reference=order.number, actor=actor)
        shipment.handed_over_at = now
    if target is ShipmentState.delivered:
        shipment.delivered_at = now
    shipment.status = target.value
    shipment.updated_at = utcnow()
    _record(
        journal,
        shipment,
        order,
        from_status=previous.value,
        actor=actor,
        at=now,
        reason=reason,
        data=data,
        scan=scan,
    )


def consume_reservations(session: Session, shipment: Shipment, *, reference: str, actor: str) -> int:
    """The parcel left: on_hand and reserved both go down, reservations become consumed. Returns units."""
    rows = session.execute(
        select(ShipmentLine, Reservation)
        .join(Reservation, Reservation.id == ShipmentLine.reservation_id)
        .where(ShipmentLine.shipment_id == shipment.id)
        .order_by(ShipmentLine.stock_level_id, ShipmentLine.id)
    ).all()
    now = utcnow()
    movements: list[dict[str, Any]] = []
    units = 0
    for line, reservation in rows:
        qty = line.quantity - line.short_qty
        if qty == 0:
            continue
        if reservation.status != ReservationStatus.active.value or reservation.quantity != qty:
            raise Conflict(
                f"shipment {shipment.number}: reservation {reservation.id} is {reservation.status} "
                f"for {reservation.quantity}, expected active for {qty}",
                shipment=shipment.number,
            )
        result = session.execute(
            update(StockLevel)
            .where(
                StockLevel.id == line.stock_level_id, StockLevel.reserved >= qty, StockLevel.on_hand >= qty
            )
            .values(on_hand=StockLevel.on_hand - qty, reserved=StockLevel.reserved - qty, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise Conflict(
                f"stock row {line.stock_level_id} cannot ship {qty} units", shipment=shipment.number
            )
        reservation.status = ReservationStatus.consumed.value
        units += qty
        movements.append(
            {
                "stock_level_id": line.stock_level_id,
                "warehouse_id": shipment.warehouse_id,
                "product_id": line.product_id,
                "on_hand_delta": -qty,
                "reserved_delta": -qty,
                "reason": MovementReason.shipment.value,
                "reference": reference,
                "note": f"shipment {shipment.number}",
                "actor": actor,
                "created_at": now,
            }
        )
    if movements:
        session.execute(insert(StockMovement), movements)
    return units


def sync_order(session: Session, order: Order, *, journal: Journal, actor: str) -> None:
    """Move the order forward to what its shipments say (never backwards, never off hold)."""
    session.flush()
    states = session.execute(
        select(Shipment.number, Shipment.status, Shipment.carrier_code, Shipment.tracking_number)
        .where(Shipment.order_id == order.id)
        .order_by(Shipment.id)
    ).all()
    target = derived_order_status((s.status for s in states), unpicked=_has_unbound(session, order.id))
    if target is None:
        return
    summary = {s.number: s.status for s in states}
    for step in order_path(order.status, target):
        data: dict[str, Any] = {"shipments": summary}
        if step in (OrderStatus.shipped, OrderStatus.partially_shipped):
            data.update(
                _parcels(states)
            )  # issue #4: the shopper's "shipped" message names carrier + tracking
        transition(
            order, step, timeline=journal.timeline, actor=actor, reason="derived from shipments", data=data
        )


def _has_unbound(session: Session, order_id: int) -> bool:
    """Whether the order holds reserved units that are on no shipment yet (a leg still to be picked)."""
    unbound = (
        select(Reservation.id)
        .outerjoin(ShipmentLine, ShipmentLine.reservation_id == Reservation.id)
        .where(
            Reservation.order_id == order_id,
            Reservation.status == ReservationStatus.active.value,
            ShipmentLine.id.is_(None),
        )
        .limit(1)
    )
    return session.scalar(unbound) is not None


#: issue #4: carrier names as the shopper knows them ("СДЭК", not "cdek"); issue #7: "Ozon".
_CARRIER_NAMES = {m.CODE: m.NAME for m in (cdek, courier, russian_post)} | {
    c.code: c.name.split(" (")[0] for c in MARKETPLACE_CARRIERS.values()
}


def _parcels(states: Sequence[Any]) -> dict[str, str]:
    """Carrier and tracking number of the parcels that left (several joined with ", ")."""
    gone = [s for s in states if s.status in {state.value for state in SHIPPED} and s.tracking_number]
    carriers = list(
        dict.fromkeys(_CARRIER_NAMES.get(s.carrier_code, s.carrier_code) for s in gone if s.carrier_code)
    )
    numbers = [s.tracking_number for s in gone]
    return {"carrier": ", ".join(carriers), "tracking_number": ", ".join(numbers)} if numbers else {}


def lock_orders(session: Session, order_ids: Iterable[int]) -> dict[int, Order]:
    """Load and lock orders in primary-key order (PostgreSQL row locks; SQLite holds the write lock)."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id).with_for_update())
    return {o.id: o for o in rows}


def load_shipment(session: Session, ref: str | int, *, for_update: bool = False) -> Shipment:
    """By id or number."""
    return load_by_ref(session, Shipment, ref, noun="shipment", for_update=for_update)


def lock_shipment(session: Session, ref: str | int) -> tuple[Shipment, Order]:
    """The shipment and its order, order locked first (the order's status depends on all its shipments)."""
    found = load_shipment(session, ref)
    order = lock_orders(session, [found.order_id])[found.order_id]
    shipment = load_shipment(session, found.id, for_update=True)
    session.refresh(shipment)
    return shipment, order


def lines_of(session: Session, shipment_id: int) -> list[ShipmentLine]:
    return list(
        session.scalars(
            select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id).order_by(ShipmentLine.id)
        )
    )


@dataclass(frozen=True)
class _Unbound:
    reservation_id: int
    order_id: int
    order_line_id: int
    warehouse_id: int
    product_id: int
    stock_level_id: int
    quantity: int
    sku: str
    name: str


def _unbound_reservations(
    session: Session, order_ids: Sequence[int], warehouse_id: int | None
) -> list[_Unbound]:
    stmt = (
        select(
            Reservation.id,
            Reservation.order_id,
            Reservation.order_line_id,
            Reservation.warehouse_id,
            Reservation.product_id,
            Reservation.stock_level_id,
            Reservation.quantity,
            OrderLine.sku,
            OrderLine.name,
        )
        .join(OrderLine, OrderLine.id == Reservation.order_line_id)
        .outerjoin(ShipmentLine, ShipmentLine.reservation_id == Reservation.id)
        .where(
            Reservation.order_id.in_(order_ids),
            Reservation.status == ReservationStatus.active.value,
            ShipmentLine.id.is_(None),
        )
        .order_by(Reservation.order_id, OrderLine.line_no, Reservation.id)
    )
    if warehouse_id is not None:
        stmt = stmt.where(Reservation.warehouse_id == warehouse_id)
    return [_Unbound(*row) for row in session.execute(stmt)]


def ensure_shipments(
    session: Session,
    orders: Sequence[Order],
    *,
    journal: Journal,
    actor: str,
    warehouse_id: int | None = None,
) -> list[Shipment]:
    """Bind every unshipped active reservation of ``orders`` to a shipment, one per order and warehouse.

    An existing shipment of the same order and warehouse that is still ready to pick or being picked takes
    the new lines (units re-allocated after a short pick); otherwise a new shipment is created. Orders
    must be in ``SHIPPABLE_ORDERS``. Returns the shipments that received lines.
    """
    for order in orders:
        if order.status not in SHIPPABLE_ORDERS:
            raise Conflict(
                f"order {order.number} is {order.status}; only orders in fulfilment are shipped",
                order=order.number,
                current=order.status,
            )
    by_id = {o.id: o for o in orders}
    unbound = _unbound_reservations(session, list(by_id), warehouse_id)
    if not unbound:
        return []
    existing: dict[tuple[int, int], Shipment] = {}
    counts: dict[int, int] = defaultdict(int)
    for shipment in session.scalars(select(Shipment).where(Shipment.order_id.in_(list(by_id)))):
        counts[shipment.order_id] += 1
        if shipment.status in EXTENDABLE:
            existing.setdefault((shipment.order_id, shipment.warehouse_id), shipment)
    touched: dict[tuple[int, int], Shipment] = {}
    now = utcnow()
    created: list[Shipment] = []
    for r in unbound:
        key = (r.order_id, r.warehouse_id)
        found = touched.get(key) or existing.get(key)
        if found is not None:
            touched[key] = found
            continue
        counts[r.order_id] += 1
        order = by_id[r.order_id]
        shipment = Shipment(
            number=f"{order.number}-{counts[r.order_id]}",
            order_id=order.id,
            warehouse_id=r.warehouse_id,
            status=ShipmentState.ready_to_pick.value,
            created_at=now,
            updated_at=now,
        )
        created.append(shipment)
        touched[key] = shipment
    session.add_all(created)
    session.flush()
    session.add_all(
        ShipmentLine(
            shipment_id=touched[(r.order_id, r.warehouse_id)].id,
            reservation_id=r.reservation_id,
            order_line_id=r.order_line_id,
            product_id=r.product_id,
            stock_level_id=r.stock_level_id,
            sku=r.sku,
            name=r.name,
            quantity=r.quantity,
            picked_qty=0,
            packed_qty=0,
            short_qty=0,
        )
        for r in unbound
    )
    for shipment in created:
        _record(
            journal,
            shipment,
            by_id[shipment.order_id],
            from_status=None,
            actor=actor,
            at=now,
            data={"warehouse_id": shipment.warehouse_id},
        )
    session.flush()
    return list(touched.values())


def cancel_open_shipments(session: Session, order: Order, *, timeline: Timeline, actor: str) -> list[str]:
    """Called when the order is cancelled: every shipment not yet handed over is cancelled.

    A shipment that already has a label keeps its booking id in the ``shipment.cancelled`` message so the
    outbox handler (``fulfilment.jobs.cancel_booking``) can cancel the booking with the carrier.
    """
    journal = Journal(timeline=timeline)
    shipments = session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order.id, Shipment.status.in_([s.value for s in OPEN]))
        .order_by(Shipment.id)
        .with_for_update()
    ).all()
    for shipment in shipments:
        transition_shipment(
            session,
            shipment,
            ShipmentState.cancelled,
            order=order,
            journal=journal,
            actor=actor,
            reason="order cancelled",
            data={"booking_id": shipment.booking_id} if shipment.booking_id else None,
        )
    _unplan(session, [s.id for s in shipments])
    journal.flush(session, timeline=False)
    return [s.number for s in shipments]


def _unplan(session: Session, shipment_ids: Sequence[int]) -> None:
    """Unpicked units of cancelled shipments come off their pick-list lines (nobody should pick them)."""
    if not shipment_ids:
        return
    open_units: dict[int, int] = defaultdict(int)
    for line in session.scalars(
        select(ShipmentLine).where(
            ShipmentLine.shipment_id.in_(shipment_ids), ShipmentLine.pick_list_line_id.is_not(None)
        )
    ):
        assert line.pick_list_line_id is not None
        open_units[line.pick_list_line_id] += line.quantity - line.short_qty - line.picked_qty
    for pick_line_id, units in sorted(open_units.items()):
        if units:
            session.execute(
                update(PickListLine)
                .where(PickListLine.id == pick_line_id)
                .values(quantity=PickListLine.quantity - units)
                .execution_options(synchronize_session=False)
            )


def refuse_edit_with_shipments(session: Session, order: Order) -> None:
    """Editing lines under a shipment would orphan what is being picked; the order must be cancelled."""
    live = session.scalars(
        select(Shipment.number).where(
            Shipment.order_id == order.id, Shipment.status != ShipmentState.cancelled.value
        )
    ).all()
    if live:
        raise Conflict(
            f"order {order.number} is in fulfilment ({', '.join(live)}); it can no longer be edited",
            current=order.status,
            shipments=list(live),
        )


def shipment_count(session: Session, order_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Shipment.order_id == order_id)) or 0)
