"""Return labels through the carrier adapters (issue #6).

An approved return of an order that went out with one of our carriers gets a prepaid return label: from
the shopper's address to the warehouse that receives it, with the configured return carrier/service (else
the ones the order went out with), weighing what the returned lines weigh in the box packing would choose.
Marketplace orders never get one (the marketplace runs their returns): they keep the instructions only.

Booking follows ``fulfilment.shipping``: never a database transaction open across the carrier call.

1. ``plan_label`` (inside the approve transaction): carrier and service, ``label_status = pending``,
   ``label_attempt + 1`` and an outbox message ``return.label_requested`` carrying the attempt.
2. ``run_booking`` (the worker's handler, or at once from the API / back office): ``prepare_label``
   (transaction) -> ``Carrier.book`` (no transaction; the carrier idempotency key is
   ``<RMA>:return:<carrier>:<service>:<attempt>``, so a retried message, a crash before the store or an
   operator pressing the button meanwhile all get the same booking) -> ``store_label`` (transaction; the
   same booking twice changes nothing).
3. A refusal (or a carrier/service that is not configured) leaves the return approved with its
   instructions: ``label_status = failed``, ``label_error`` and a ``label_failed`` event on the history.
   Transient failures (no answer, 5xx) are retried by the worker first.

A re-issue (``request_label(reissue=True)``) or closing an approved return voids the old booking through
``return.label_voided``, whose handler is fulfilment's own ``cancel_booking``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.carriers.base import (
    Booking,
    BookingRequest,
    CarrierError,
    Contact,
    Parcel,
    ShipmentRequest,
)
from zakaz.carriers.labels import LabelData, render_labels
from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.db import run_in_transaction
from zakaz.errors import Conflict
from zakaz.fulfilment.config import FulfilmentSettings
from zakaz.fulfilment.models import Shipment, ShipmentLine
from zakaz.fulfilment.registry import FACTORIES, CarrierRegistry
from zakaz.fulfilment.rules import Item, parcel_weight_g, suggest_box
from zakaz.fulfilment.shipping import shopper_contact, shopper_location, warehouse_location
from zakaz.fulfilment.states import ShipmentState
from zakaz.inventory.models import Warehouse
from zakaz.orders.models import Order
from zakaz.orders.views import load_order
from zakaz.outbox import add_messages, outbox_row
from zakaz.returns import rules
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.models import ReturnLine, ReturnRequest
from zakaz.returns.payments import MARKETPLACE_CHANNELS
from zakaz.returns.service import lines_of, load_return, note_return
from zakaz.returns.states import ReturnStatus

log = logging.getLogger(__name__)

PENDING, READY, FAILED = "pending", "ready", "failed"
LABEL_TOPIC = "return.label_requested"
VOID_TOPIC = "return.label_voided"
#: Our own carriers (a shipment with another carrier code, e.g. a marketplace's, gets no return label).
OUR_CARRIERS = frozenset(FACTORIES)
BANNER = "ВОЗВРАТ / RETURN"
#: The worker retries transient carrier failures this many times before recording the label as failed.
JOB_TRIES = 5


# ---- planning (inside the approve transaction) -----------------------------------------------------------


def outbound_carriers(
    session: Session, order_id: int, order_line_ids: set[int]
) -> list[tuple[str, str | None]]:
    """(carrier, service) of the order's labelled shipments with our carriers; those that carried the
    returned units first."""
    rows = session.execute(
        select(Shipment.id, Shipment.carrier_code, Shipment.service_code)
        .where(
            Shipment.order_id == order_id,
            Shipment.tracking_number.is_not(None),
            Shipment.carrier_code.in_(OUR_CARRIERS),
            Shipment.status != ShipmentState.cancelled.value,
        )
        .order_by(Shipment.id)
    ).all()
    carried = set(
        session.scalars(
            select(ShipmentLine.shipment_id).where(
                ShipmentLine.shipment_id.in_([r.id for r in rows]),
                ShipmentLine.order_line_id.in_(order_line_ids),
            )
        )
    )
    ordered = sorted(rows, key=lambda r: (r.id not in carried, r.id))
    return [(str(r.carrier_code), r.service_code) for r in ordered]


def _plan(session: Session, ret: ReturnRequest, settings: ReturnsSettings) -> rules.LabelPlan | None:
    line_ids = {ln.order_line_id for ln in lines_of(session, ret.id)}
    return rules.choose_label_carrier(
        configured_carrier=settings.label_carrier,
        configured_service=settings.label_service,
        outbound=outbound_carriers(session, ret.order_id, line_ids),
    )


def _queue(session: Session, ret: ReturnRequest, plan: rules.LabelPlan) -> int:
    ret.carrier_code, ret.service_code = plan.carrier_code, plan.service_code
    ret.label_status, ret.label_error = PENDING, None
    ret.label_attempt = (ret.label_attempt or 0) + 1
    payload = {"return_id": ret.id, "attempt": ret.label_attempt}  # ids, not objects
    add_messages(session, [outbox_row(LABEL_TOPIC, "return", ret.id, payload)])
    return ret.label_attempt


def plan_label(session: Session, ret: ReturnRequest, order: Order, settings: ReturnsSettings) -> bool:
    """Queue a return label when the order went out with one of our carriers; False: instructions only."""
    if not settings.labels or order.channel in MARKETPLACE_CHANNELS or ret.label_status in (PENDING, READY):
        return False
    plan = _plan(session, ret, settings)
    if plan is None:
        return False
    _queue(session, ret, plan)
    return True


def void_label(session: Session, ret: ReturnRequest, order: Order, *, actor: str, why: str) -> bool:
    """Forget the booked label and cancel its booking with the carrier (an outbox job); False: none."""
    if ret.label_status != READY or not ret.booking_id:
        return False
    old = {"booking_id": ret.booking_id, "carrier": ret.carrier_code, "tracking_number": ret.tracking_number}
    add_messages(session, [outbox_row(VOID_TOPIC, "return", ret.id, {**old, "rma": ret.number})])
    ret.tracking_number = ret.booking_id = None
    ret.label_pdf = None
    ret.label_status = None
    ret.last_event_at = None
    note_return(session, ret, order, type_="label_voided", actor=actor, note=why, data=old)
    return True


def request_label(
    session: Session, rma: str, *, reissue: bool, actor: str, settings: ReturnsSettings
) -> tuple[int, int] | None:
    """An operator asks for a label now: (return id, attempt) to book, or None (one is ready already).

    A label still pending keeps its attempt (the same carrier idempotency key as the queued job, so the two
    can never book twice); a failed one, or a re-issue, starts a new attempt. The job is queued as well,
    so a crash before the booking leaves nothing stuck.
    """
    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    if order.channel in MARKETPLACE_CHANNELS:
        raise Conflict(
            f"{ret.number} is a {order.channel} return: the marketplace issues its label", field="rma"
        )
    if ret.status != ReturnStatus.approved.value:
        raise Conflict(
            f"{ret.number} is {ret.status}; return labels are made for approved returns",
            field="rma",
            current=ret.status,
        )
    if ret.label_status == READY:
        if not reissue:
            return None
        void_label(session, ret, order, actor=actor, why="re-issued")
    if ret.label_status == PENDING:
        return ret.id, ret.label_attempt
    plan = _plan(session, ret, settings)
    if plan is None:
        raise Conflict(
            f"order {order.number} did not go out with one of our carriers; the instructions stand",
            field="rma",
        )
    return ret.id, _queue(session, ret, plan)


# ---- booking (prepare: transaction, book: none, store: transaction) ---------------------------------------


@dataclass(frozen=True)
class PreparedLabel:
    return_id: int
    attempt: int
    carrier_code: str
    request: BookingRequest
    page: LabelData


def _parcel(session: Session, ret: ReturnRequest, fulfilment: FulfilmentSettings) -> Parcel:
    rows = session.execute(
        select(ReturnLine.quantity, Product.weight_g, Product.length_mm, Product.width_mm, Product.height_mm)
        .join(Product, Product.sku == ReturnLine.sku)
        .where(ReturnLine.return_id == ret.id)
    ).all()
    items = [Item(q, w or 0, ln or 0, wd or 0, h or 0) for q, w, ln, wd, h in rows]
    box = suggest_box(items, fulfilment.box_sizes())
    return Parcel(parcel_weight_g(items, box), box.length_mm, box.width_mm, box.height_mm)


def prepare_label(
    session: Session,
    return_id: int,
    attempt: int,
    *,
    registry: CarrierRegistry,
    fulfilment: FulfilmentSettings,
) -> PreparedLabel | None:
    """The booking to send (None: nothing to do: superseded, done, or the return moved on).

    Raises ``CarrierError`` for a carrier or service that is not configured (the caller records it).
    """
    ret = session.get(ReturnRequest, return_id, with_for_update=True)
    if (
        ret is None
        or ret.label_attempt != attempt
        or ret.label_status != PENDING
        or ret.status != ReturnStatus.approved.value
    ):
        return None
    order = load_order(session, ret.order_id)
    carrier = registry.carriers.get(ret.carrier_code or "")  # our own carriers only
    if carrier is None:
        raise CarrierError(
            f"carrier {ret.carrier_code!r} is not configured",
            carrier=ret.carrier_code,
            configured=sorted(registry.carriers),
        )
    services = {t.service_code: t.service_name for t in carrier.tariffs}
    service = ret.service_code or next(iter(services), "")
    if service not in services:
        raise CarrierError(f"{carrier.code} has no service {service!r}", carrier=carrier.code)
    warehouse = session.get(Warehouse, ret.warehouse_id) if ret.warehouse_id else None
    if warehouse is None:
        raise CarrierError(f"{ret.number} has no receiving warehouse")
    ret.service_code = service
    origin = shopper_location(order)
    destination = warehouse_location(warehouse)
    shopper = shopper_contact(order, origin)
    receiver = Contact(
        f"{fulfilment.sender_name} · {warehouse.name}",
        fulfilment.sender_phone,
        warehouse.address or warehouse.name,
        destination,
    )
    parcel = _parcel(session, ret, fulfilment)
    request = BookingRequest(
        shipment=ShipmentRequest(
            origin=origin,
            destination=destination,
            parcels=(parcel,),
            declared_value_minor=max(ret.value_minor, 0),
            ready_at=utcnow(),
        ),
        service_code=service,
        order_number=ret.number,
        sender=shopper,
        recipient=receiver,
        idempotency_key=f"{ret.number}:return:{carrier.code}:{service}:{attempt}",
    )
    page = LabelData(
        carrier_name=carrier.name,
        service_name=services[service],
        tracking_number="",
        order_number=order.number,
        sender=shopper,
        recipient=receiver,
        weight_g=parcel.weight_g,
        banner=BANNER,
        reference=ret.number,
        reference_caption=f"Возврат / RMA: {ret.number}",
    )
    return PreparedLabel(ret.id, attempt, carrier.code, request, page)


def book_label(registry: CarrierRegistry, prepared: PreparedLabel) -> tuple[Booking, bytes]:
    """The carrier call and our return label (100 x 150 mm); run it outside any transaction."""
    booking = registry.carriers[prepared.carrier_code].book(prepared.request)
    pdf = render_labels([replace(prepared.page, tracking_number=booking.tracking_number)])
    return booking, pdf


def store_label(
    session: Session, prepared: PreparedLabel, booking: Booking, pdf: bytes, *, actor: str
) -> str:
    """``stored``; ``already`` (a retry of a stored booking); ``superseded`` (a newer attempt exists)."""
    ret = session.get_one(ReturnRequest, prepared.return_id, with_for_update=True)
    if ret.tracking_number == booking.tracking_number and ret.carrier_code == booking.carrier_code:
        return "already"
    if ret.label_attempt != prepared.attempt or ret.label_status != PENDING:
        return "superseded"
    ret.carrier_code, ret.service_code = booking.carrier_code, booking.service_code
    ret.booking_id, ret.tracking_number = booking.booking_id, booking.tracking_number
    ret.label_pdf, ret.label_status, ret.label_error = pdf, READY, None
    ret.updated_at = utcnow()
    note_return(
        session,
        ret,
        load_order(session, ret.order_id),
        type_="label_created",
        actor=actor,
        note=f"{booking.carrier_code} {booking.tracking_number}",
        data={
            "carrier": booking.carrier_code,
            "service": booking.service_code,
            "tracking_number": booking.tracking_number,
            "attempt": prepared.attempt,
        },
    )
    return "stored"


def fail_label(session: Session, return_id: int, attempt: int, error: str, *, actor: str) -> None:
    """The carrier refused: the return stays approved with its instructions; the failure is on record."""
    ret = session.get_one(ReturnRequest, return_id, with_for_update=True)
    if ret.label_attempt != attempt or ret.label_status != PENDING:
        return
    ret.label_status, ret.label_error = FAILED, error[:500]
    note_return(
        session,
        ret,
        load_order(session, ret.order_id),
        type_="label_failed",
        actor=actor,
        note=error[:500],
        data={"carrier": ret.carrier_code, "service": ret.service_code, "attempt": attempt},
    )


def is_transient(exc: CarrierError) -> bool:
    """No answer or a 5xx: worth retrying. A 4xx (and our own configuration errors) is a refusal."""
    status = exc.extra.get("status")
    if status is None:
        return "path" in exc.extra  # transport failure of a call (configuration errors carry no path)
    return not (isinstance(status, int) and 400 <= status < 500)


def run_booking(
    engine: Engine,
    return_id: int,
    attempt: int,
    *,
    registry: CarrierRegistry,
    fulfilment: FulfilmentSettings,
    actor: str,
    final: bool = True,
) -> str:
    """Prepare -> book -> store; ``nothing`` when there was nothing to do.

    A carrier failure is recorded (``label_failed``) and re-raised; with ``final=False`` a transient one
    is only re-raised (the worker retries it with the same idempotency key).
    """
    try:
        prepared = run_in_transaction(
            engine,
            lambda s: prepare_label(s, return_id, attempt, registry=registry, fulfilment=fulfilment),
        )
        if prepared is None:
            return "nothing"
        booking, pdf = book_label(registry, prepared)
    except CarrierError as exc:
        if not final and is_transient(exc):
            raise
        error = exc.detail
        run_in_transaction(engine, lambda s: fail_label(s, return_id, attempt, error, actor=actor))
        raise
    outcome = run_in_transaction(engine, lambda s: store_label(s, prepared, booking, pdf, actor=actor))
    if outcome == "superseded":  # a re-issue overtook this booking: do not leave it paid for
        try:
            registry.carriers[booking.carrier_code].cancel(booking)
        except CarrierError as exc:
            log.warning("could not cancel superseded return booking %s: %s", booking.booking_id, exc.detail)
    return outcome


# ---- worker handlers ---------------------------------------------------------------------------------------


def label_job(
    engine: Engine,
    payload: dict[str, Any],
    *,
    attempts: int,
    registry: CarrierRegistry,
    fulfilment: FulfilmentSettings,
) -> str:
    """``return.label_requested``: book; a refusal is recorded and the message is done."""
    try:
        return run_booking(
            engine,
            int(payload["return_id"]),
            int(payload["attempt"]),
            registry=registry,
            fulfilment=fulfilment,
            actor="carrier-booking",
            final=attempts >= JOB_TRIES,
        )
    except CarrierError as exc:
        if attempts < JOB_TRIES and is_transient(exc):
            raise  # the worker tries again later, same idempotency key
        return "failed"
