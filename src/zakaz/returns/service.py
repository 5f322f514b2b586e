"""Return requests: opening (eligibility), THE return ``transition()``, review, receipt and inspection.

Services take a ``Session`` and never commit. ``transition_return`` is the only code that assigns
``ReturnRequest.status``: it checks ``states.TRANSITIONS``, writes a return event, an order timeline event
and an outbox message ``return.<state>`` (which notifies the shopper), all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.customers.models import Customer
from zakaz.errors import Conflict, FieldError, NotFound, ValidationFailed
from zakaz.fulfilment.models import Shipment, ShipmentLine
from zakaz.fulfilment.states import ShipmentState
from zakaz.inventory import service as inventory
from zakaz.inventory.models import MovementReason, StockLevel, StockMovement, Warehouse
from zakaz.orders.intake import IntakeConfig
from zakaz.orders.models import Order
from zakaz.orders.timeline import Timeline
from zakaz.orders.views import find_order_id, load_order
from zakaz.outbox import add_messages, outbox_row
from zakaz.returns import rules
from zakaz.returns.config import INSTRUCTIONS, ReturnsSettings
from zakaz.returns.models import QuarantinedUnit, ReturnEvent, ReturnLine, ReturnRequest
from zakaz.returns.payments import MARKETPLACE_CHANNELS
from zakaz.returns.reasons import RESELLABLE_CONDITIONS, Condition
from zakaz.returns.states import TOPICS, ReturnStatus, check_transition

S = ReturnStatus
RESELLABLE = frozenset(c.value for c in RESELLABLE_CONDITIONS)


@dataclass(frozen=True)
class ItemIn:
    line_no: int
    quantity: int
    exchange_sku: str | None = None


@dataclass(frozen=True)
class InspectIn:
    line_no: int
    condition: Condition
    #: None: resellable conditions go back to stock, others to quarantine; False keeps e.g. a defect out;
    #: True for a condition that is not resellable is refused (422 naming ``lines.<n>.restock``)
    restock: bool | None = None
    note: str = ""


# ---- reading -------------------------------------------------------------------------------------------


def load_return(session: Session, rma: str, *, for_update: bool = False) -> ReturnRequest:
    stmt = select(ReturnRequest).where(ReturnRequest.number == rma.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no return {rma}", field="rma")
    return found


def lines_of(session: Session, return_id: int) -> list[ReturnLine]:
    return list(
        session.scalars(select(ReturnLine).where(ReturnLine.return_id == return_id).order_by(ReturnLine.id))
    )


def line_states(session: Session, order: Order) -> tuple[dict[int, rules.LineState], datetime | None]:
    """Per line: units delivered (delivered shipments) and units already in a live return; last delivery."""
    delivered_rows = session.execute(
        select(
            ShipmentLine.order_line_id,
            func.sum(ShipmentLine.quantity - ShipmentLine.short_qty),
            func.max(Shipment.delivered_at),
        )
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order.id, Shipment.status == ShipmentState.delivered.value)
        .group_by(ShipmentLine.order_line_id)
    ).all()
    delivered = {line_id: int(qty or 0) for line_id, qty, _ in delivered_rows}
    last = max((at for _, _, at in delivered_rows if at is not None), default=None)
    returned_rows = session.execute(
        select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status != S.rejected.value)
        # closed before anything came back = withdrawn: those units may be asked for again
        .where((ReturnRequest.status != S.closed.value) | ReturnRequest.received_at.is_not(None))
        .group_by(ReturnLine.order_line_id)
    ).all()
    returned = {line_id: int(qty or 0) for line_id, qty in returned_rows}
    states = {
        ln.line_no: rules.LineState(ln.line_no, ln.sku, delivered.get(ln.id, 0), returned.get(ln.id, 0))
        for ln in order.lines
    }
    return states, last


# ---- the one transition --------------------------------------------------------------------------------


def _record(
    session: Session,
    ret: ReturnRequest,
    order: Order,
    *,
    type_: str,
    from_status: str | None,
    actor: str,
    note: str | None,
    data: dict[str, Any] | None,
    topic: str | None,
    event_id: str | None = None,
) -> None:
    session.flush()
    now = utcnow()
    extra = data or {}
    session.execute(
        insert(ReturnEvent),
        [
            {
                "return_id": ret.id,
                "event_id": event_id,
                "type": type_,
                "from_status": from_status,
                "to_status": ret.status,
                "actor": actor,
                "note": note or None,
                "data": extra,
                "created_at": now,
            }
        ],
    )
    timeline = Timeline()
    timeline.record(
        order,
        f"return_{type_}"[:32],
        actor=actor,
        reason=(note or None) and (note or "")[:500],
        data={
            "rma": ret.number,
            "kind": ret.kind,
            "from_status": from_status,
            "to_status": ret.status,
            **extra,
        },
        at=now,
    )
    timeline.flush(session)
    if topic:
        payload = {
            "return_id": ret.id,
            "rma": ret.number,
            "kind": ret.kind,
            "order_id": order.id,
            "number": order.number,
            "from_status": from_status,
            "to_status": ret.status,
            "note": note if ret.status == S.rejected.value else None,  # the shopper reads why
            "at": now.isoformat(),
            # a return label is (being) booked: the "approved" message links to it
            "label": ret.label_status in ("pending", "ready"),
            # marketplace orders: the marketplace talks to its buyer, we do not
            "marketplace": order.channel if order.channel in MARKETPLACE_CHANNELS else None,
            # issue #6: the return parcel's tracking number ("in_transit") and the replacement ("exchanged")
            "return_tracking": ret.tracking_number if ret.status == S.in_transit.value else None,
            "replacement": (
                session.scalar(select(Order.number).where(Order.id == ret.replacement_order_id))
                if ret.status == S.exchanged.value and ret.replacement_order_id
                else None
            ),
        }
        add_messages(session, [outbox_row(topic, "return", ret.id, payload)])


def transition_return(
    session: Session,
    ret: ReturnRequest,
    target: ReturnStatus,
    *,
    order: Order,
    actor: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> None:
    """Move ``ret`` to ``target`` or raise InvalidTransition (409 with the allowed targets).

    ``event_id``: the carrier scan that caused it (scans are deduplicated by it)."""
    check_transition(ret.status, target)
    previous = ret.status
    ret.status = target.value
    ret.updated_at = utcnow()
    _record(
        session,
        ret,
        order,
        type_=target.value,
        from_status=previous,
        actor=actor,
        note=note,
        data=data,
        topic=TOPICS[target],
        event_id=event_id,
    )


def note_return(
    session: Session,
    ret: ReturnRequest,
    order: Order,
    *,
    type_: str,
    actor: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> None:
    """An event without a status change (review notes, refund overrides, labels, scans): no message."""
    _record(
        session,
        ret,
        order,
        type_=type_,
        from_status=ret.status,
        actor=actor,
        note=note,
        data=data,
        topic=None,
        event_id=event_id,
    )


def record_requested(
    session: Session,
    ret: ReturnRequest,
    order: Order,
    *,
    actor: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """The first event of a request opened elsewhere (marketplaces): ``return.requested``."""
    _record(
        session,
        ret,
        order,
        type_=S.requested.value,
        from_status=None,
        actor=actor,
        note=note,
        data=data,
        topic=TOPICS[S.requested],
    )


# ---- opening a request ---------------------------------------------------------------------------------


def open_return(
    session: Session,
    *,
    order_ref: str,
    items: Sequence[ItemIn],
    reason: str,
    comment: str = "",
    kind: str = "return",
    source: str = "api",
    actor: str,
    settings: ReturnsSettings,
    intake: IntakeConfig | None = None,
    now: datetime | None = None,
) -> ReturnRequest:
    """Check eligibility (422 naming each bad field), write the request, auto-approve when the rules say."""
    now = now or utcnow()
    if kind not in ("return", "exchange"):
        raise ValidationFailed([FieldError("kind", "unknown_kind", "return or exchange")])
    try:
        order_id = find_order_id(session, order_ref.strip().upper())
    except NotFound:
        raise ValidationFailed([FieldError("order", "unknown_order", f"no order {order_ref}")]) from None
    order = load_order(session, order_id, for_update=True)  # one request at a time per order
    states, delivered_at = line_states(session, order)
    errors = rules.check_request(
        lines=states,
        items=[rules.Wanted(i.line_no, i.quantity) for i in items],
        reason=reason,
        allowed_reasons=[r.value for r in settings.reasons],
        delivered_at=delivered_at,
        now=now,
        window_days=settings.window_days,
    )
    errors += _exchange_errors(session, items, kind)
    if kind == "exchange" and order.channel in MARKETPLACE_CHANNELS:
        errors.append(
            FieldError(
                "kind",
                "marketplace_exchange",
                f"{order.channel} orders are exchanged by the marketplace: ask for a return there",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    by_no = {ln.line_no: ln for ln in order.lines}
    ret = ReturnRequest(
        number=rules.new_rma_number(now, "EXC" if kind == "exchange" else "RMA"),
        kind=kind,
        order_id=order.id,
        status=S.requested.value,
        reason=reason,
        comment=comment.strip(),
        source=source,
        value_minor=sum(by_no[i.line_no].unit_price_minor * i.quantity for i in items),
        actor=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(ret)
    session.flush()
    for i in items:
        line = by_no[i.line_no]
        session.add(
            ReturnLine(
                return_id=ret.id,
                order_line_id=line.id,
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                quantity=i.quantity,
                exchange_sku=i.exchange_sku if kind == "exchange" else None,
            )
        )
    _record(
        session,
        ret,
        order,
        type_=S.requested.value,
        from_status=None,
        actor=actor,
        note=comment or None,
        data={"reason": reason, "source": source},
        topic=TOPICS[S.requested],
    )
    why = rules.auto_approval(
        reason,
        ret.value_minor,
        seller_fault=settings.auto_approve_seller_fault,
        below_minor=settings.auto_approve_below_minor,
    )
    if why is not None:
        ret.auto_approved = True
        approve(
            session,
            ret,
            order=order,
            actor="auto",
            note=f"auto-approved: {why}",
            settings=settings,
            intake=intake,
        )
    return ret


def _exchange_errors(session: Session, items: Sequence[ItemIn], kind: str) -> list[FieldError]:
    if kind != "exchange":
        return []
    errors = []
    wanted = {i.exchange_sku for i in items if i.exchange_sku}
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(wanted), Product.active.is_(True))))
    for n, i in enumerate(items):
        if not i.exchange_sku:
            errors.append(
                FieldError(f"items.{n}.exchange_sku", "required", "an exchange needs the SKU wanted")
            )
        elif i.exchange_sku not in known:
            errors.append(
                FieldError(f"items.{n}.exchange_sku", "unknown_sku", f"no product {i.exchange_sku}")
            )
    return errors


# ---- review ----------------------------------------------------------------------------------------------


def return_warehouse(
    session: Session,
    settings: ReturnsSettings,
    *,
    order_id: int | None = None,
    order_line_ids: Collection[int] = (),
) -> Warehouse | None:
    """The configured returns warehouse; else the one the returned units shipped from; else the first
    active one."""
    if settings.warehouse:
        return session.scalars(select(Warehouse).where(Warehouse.code == settings.warehouse).limit(1)).first()
    if order_id is not None:
        stmt = (
            select(Warehouse)
            .join(Shipment, Shipment.warehouse_id == Warehouse.id)
            .where(Shipment.order_id == order_id, Shipment.status != ShipmentState.cancelled.value)
        )
        if order_line_ids:
            stmt = stmt.join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id).where(
                ShipmentLine.order_line_id.in_(order_line_ids)
            )
        found = session.scalars(stmt.order_by(Shipment.id).limit(1)).first()
        if found is not None:
            return found
    stmt = select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.priority, Warehouse.id)
    return session.scalars(stmt.limit(1)).first()


def instructions_for(ret: ReturnRequest, warehouse: Warehouse | None, locale: str) -> str:
    where = ", ".join(
        p for p in ((warehouse.name, warehouse.address or warehouse.city) if warehouse else ()) if p
    )
    return INSTRUCTIONS.get(locale, INSTRUCTIONS["ru"]).format(rma=ret.number, warehouse=where or "—")


def approve(
    session: Session,
    ret: ReturnRequest,
    *,
    order: Order,
    actor: str,
    note: str = "",
    settings: ReturnsSettings,
    intake: IntakeConfig | None = None,
) -> None:
    from zakaz.returns.labels import plan_label

    line_ids = {ln.order_line_id for ln in lines_of(session, ret.id)}
    warehouse = return_warehouse(session, settings, order_id=order.id, order_line_ids=line_ids)
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    ret.warehouse_id = warehouse.id if warehouse else None
    ret.instructions = instructions_for(ret, warehouse, customer.locale if customer else "ru")
    ret.review_note = note
    # orders that went out with one of our carriers get a return label, booked by an outbox job
    labelled = plan_label(session, ret, order, settings)
    transition_return(
        session,
        ret,
        S.approved,
        order=order,
        actor=actor,
        note=note or None,
        data={"auto": ret.auto_approved, **({"label_carrier": ret.carrier_code} if labelled else {})},
    )
    trusted = (
        settings.trusted_customer_min_orders > 0
        and customer is not None
        and customer.order_count >= settings.trusted_customer_min_orders
    )
    if ret.kind == "exchange" and trusted and intake is not None:
        from zakaz.returns.exchanges import create_replacement

        create_replacement(session, ret, order=order, actor=actor, intake=intake, settings=settings)


def review(
    session: Session,
    rma: str,
    *,
    decision: str,
    note: str,
    actor: str,
    settings: ReturnsSettings,
    intake: IntakeConfig | None = None,
) -> ReturnRequest:
    """Manual review: ``approve`` or ``reject`` (a rejection needs a note the shopper will read)."""
    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    if decision == "approve":
        approve(session, ret, order=order, actor=actor, note=note, settings=settings, intake=intake)
    elif decision == "reject":
        if not note.strip():
            raise ValidationFailed([FieldError("note", "required", "say why the return is rejected")])
        ret.review_note = note
        transition_return(session, ret, S.rejected, order=order, actor=actor, note=note)
    else:
        raise ValidationFailed([FieldError("decision", "unknown", "approve or reject")])
    return ret


def add_note(session: Session, rma: str, *, note: str, actor: str) -> ReturnRequest:
    ret = load_return(session, rma)
    note_return(session, ret, load_order(session, ret.order_id), type_="note", actor=actor, note=note)
    return ret


def mark_in_transit(session: Session, rma: str, *, tracking_number: str | None, actor: str) -> ReturnRequest:
    ret = load_return(session, rma, for_update=True)
    if tracking_number and ret.label_status != "ready":  # a booked label keeps its carrier's number
        ret.tracking_number = tracking_number
    transition_return(
        session,
        ret,
        S.in_transit,
        order=load_order(session, ret.order_id),
        actor=actor,
        data={"tracking_number": ret.tracking_number} if ret.tracking_number else None,
    )
    return ret


def close(session: Session, rma: str, *, note: str, actor: str) -> ReturnRequest:
    from zakaz.returns.labels import void_label

    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    sent = ret.status != S.approved.value
    transition_return(session, ret, S.closed, order=order, actor=actor, note=note)
    if not sent:  # withdrawn before the parcel left: its return label is cancelled with the carrier
        void_label(session, ret, order, actor=actor, why="the return was closed")
    return ret


# ---- receipt and inspection ----------------------------------------------------------------------------


def receive(
    session: Session,
    rma: str,
    *,
    actor: str,
    settings: ReturnsSettings,
    intake: IntakeConfig | None = None,
    warehouse_code: str | None = None,
) -> ReturnRequest:
    """The parcel arrived; an exchange's replacement is created now (unless it already was)."""
    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    if warehouse_code:
        ret.warehouse_id = _warehouse_id(session, warehouse_code)
    ret.received_at = utcnow()
    transition_return(session, ret, S.received, order=order, actor=actor)
    if ret.kind == "exchange" and ret.replacement_order_id is None and intake is not None:
        from zakaz.returns.exchanges import create_replacement

        create_replacement(session, ret, order=order, actor=actor, intake=intake, settings=settings)
    return ret


def _warehouse_id(session: Session, code: str) -> int:
    found = session.scalar(select(Warehouse.id).where(Warehouse.code == code))
    if found is None:
        raise ValidationFailed([FieldError("warehouse", "unknown_warehouse", f"no warehouse {code}")])
    return found


def inspect(session: Session, rma: str, *, results: Sequence[InspectIn], actor: str) -> ReturnRequest:
    """Condition per line: resellable units back to stock (``return_restock``, reference = RMA), the rest
    to quarantine; missing units are neither (the refund quote gives nothing for them)."""
    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    lines = {ln.line_no: ln for ln in lines_of(session, ret.id)}
    given = {r.line_no: r for r in results}
    errors = [
        FieldError(f"lines.{n}.line_no", "unknown_line", f"line {r.line_no} is not in {ret.number}")
        for n, r in enumerate(results)
        if r.line_no not in lines
    ] + [
        FieldError("lines", "missing_line", f"line {no} needs a condition") for no in lines if no not in given
    ]
    errors += [
        FieldError(
            f"lines.{n}.restock",
            "not_resellable",
            f"line {r.line_no}: units {r.condition.value.replace('_', ' ')} cannot go back to stock"
            f" (only {', '.join(sorted(RESELLABLE))} can); they go to quarantine",
        )
        for n, r in enumerate(results)
        if r.restock and r.condition.value not in RESELLABLE
    ]
    if errors:
        raise ValidationFailed(errors)
    if ret.status != S.received.value:
        check_transition(ret.status, S.inspected)  # raises with the allowed targets
    if ret.warehouse_id is None:
        raise Conflict(f"{ret.number} has no receiving warehouse", field="warehouse")
    warehouse_code = session.get_one(Warehouse, ret.warehouse_id).code
    summary = []
    for no, line in sorted(lines.items()):
        r = given[no]
        line.condition = r.condition.value
        restock = r.condition.value in RESELLABLE if r.restock is None else r.restock
        if r.condition is Condition.missing:
            restock = False
        elif restock:
            inventory.adjust(
                session,
                warehouse_code=warehouse_code,
                sku=line.sku,
                delta=line.quantity,
                reason=MovementReason.return_restock,
                reference=ret.number,
                actor=actor,
                note=f"return {ret.number}: {r.condition.value}",
            )
            line.restocked_qty = line.quantity
        else:
            session.add(
                QuarantinedUnit(
                    return_id=ret.id,
                    return_line_id=line.id,
                    warehouse_id=ret.warehouse_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    condition=r.condition.value,
                    note=r.note,
                    actor=actor,
                )
            )
            line.quarantined_qty = line.quantity
            _ledger_entry(
                session,
                warehouse_id=ret.warehouse_id,
                sku=line.sku,
                reason=MovementReason.return_quarantine,
                reference=ret.number,
                actor=actor,
                note=f"return {ret.number}: {line.quantity} unit(s) {r.condition.value} quarantined",
            )
        summary.append(
            {
                "line_no": no,
                "condition": r.condition.value,
                "restocked": line.restocked_qty,
                "quarantined": line.quarantined_qty,
            }
        )
    transition_return(session, ret, S.inspected, order=order, actor=actor, data={"lines": summary})
    return ret


# ---- quarantine in the stock ledger (issue #6) ----------------------------------------------------------


def _ledger_entry(
    session: Session,
    *,
    warehouse_id: int,
    sku: str,
    reason: MovementReason,
    reference: str,
    actor: str,
    note: str,
) -> None:
    """A stock movement that changes nothing on hand: quarantined units never re-entered sellable stock,
    yet the ledger shows them (reference = RMA; the note says how many and why)."""
    product_id = session.scalar(select(Product.id).where(Product.sku == sku))
    if product_id is None:  # a product deleted since: the quarantine row still holds the units
        return
    level_id = session.scalar(
        select(StockLevel.id).where(
            StockLevel.warehouse_id == warehouse_id, StockLevel.product_id == product_id
        )
    )
    if level_id is None:
        level = StockLevel(warehouse_id=warehouse_id, product_id=product_id, on_hand=0, reserved=0)
        session.add(level)
        session.flush()
        level_id = level.id
    session.execute(
        insert(StockMovement),
        [
            {
                "stock_level_id": level_id,
                "warehouse_id": warehouse_id,
                "product_id": product_id,
                "on_hand_delta": 0,
                "reserved_delta": 0,
                "reason": reason.value,
                "reference": reference,
                "note": note[:500],
                "actor": actor,
                "created_at": utcnow(),
            }
        ],
    )


def write_off(
    session: Session, rma: str, *, quarantine_id: int, note: str = "", actor: str
) -> QuarantinedUnit:
    """Write quarantined units off for good: a ``write_off`` movement (reference = RMA) and a return event
    (audited, on the order timeline too). Writing off twice is refused (409)."""
    ret = load_return(session, rma, for_update=True)
    unit = session.get(QuarantinedUnit, quarantine_id)
    if unit is None or unit.return_id != ret.id:
        raise NotFound(f"no quarantined units {quarantine_id} in {ret.number}", field="quarantine_id")
    if unit.written_off_at is not None:
        raise Conflict(
            f"{unit.quantity} × {unit.sku} of {ret.number} were already written off by {unit.written_off_by}",
            field="quarantine_id",
        )
    unit.written_off_at, unit.written_off_by = utcnow(), actor
    text = f"return {ret.number}: {unit.quantity} unit(s) {unit.condition} written off"
    if note.strip():
        text += f": {note.strip()}"
    if unit.warehouse_id is not None:
        _ledger_entry(
            session,
            warehouse_id=unit.warehouse_id,
            sku=unit.sku,
            reason=MovementReason.write_off,
            reference=ret.number,
            actor=actor,
            note=text,
        )
    note_return(
        session,
        ret,
        load_order(session, ret.order_id),
        type_="written_off",
        actor=actor,
        note=note.strip() or None,
        data={
            "sku": unit.sku,
            "quantity": unit.quantity,
            "condition": unit.condition,
            "quarantine_id": unit.id,
        },
    )
    return unit
