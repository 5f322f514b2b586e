"""Tracking of return parcels (issue #6), on fulfilment's tracking mechanism.

The same carriers send the same signed webhooks and answer the same polls for return parcels as for
outbound ones, so nothing is duplicated here: the webhook endpoint hands every batch of normalised scans to
:func:`apply_carrier_events`, which takes the scans of return labels and passes the rest on to
``fulfilment.tracking.apply_events``; the periodic poll is ``fulfilment.tracking.poll_tracking_job`` with
this module's :func:`due_for_polling` and :func:`apply_scans`.

Rules (as for shipments): a scan id seen before is dropped; a scan older than the newest one applied is
recorded but changes nothing. The first scan showing the parcel on its way (handed over, in transit, out for
delivery, a failed attempt) moves the return ``approved -> in_transit``. "Delivered" means delivered to our
warehouse: the return is marked arrived (``arrived_at``), and receiving stays a warehouse action, because
only counting the contents tells what came back (see docs/returns.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.carriers.base import ShipmentStatus, TrackingEvent
from zakaz.fulfilment import tracking as shipments_tracking
from zakaz.fulfilment.tracking import TrackingResult
from zakaz.orders.models import Order
from zakaz.orders.views import load_order
from zakaz.returns.labels import READY
from zakaz.returns.models import ReturnEvent, ReturnRequest
from zakaz.returns.service import note_return, transition_return
from zakaz.returns.states import ReturnStatus

S = ReturnStatus
#: Scans that show the parcel on its way to us.
ON_ITS_WAY = frozenset(
    {
        ShipmentStatus.HANDED_OVER,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERY_FAILED,
        ShipmentStatus.DELIVERED,
    }
)
#: Returns whose parcels we follow.
FOLLOWED = (S.approved.value, S.in_transit.value)


def _scan(event: TrackingEvent) -> dict[str, Any]:
    return {
        "carrier_status": event.status.value,
        "raw_code": event.raw_code,
        "event_id": event.event_id,
        "occurred_at": event.occurred_at.isoformat(),
        "location": event.location[:255],
    }


def _apply_one(
    session: Session,
    ret: ReturnRequest,
    order: Order,
    event: TrackingEvent,
    result: TrackingResult,
    actor: str,
) -> None:
    data = _scan(event)
    why = event.description or event.raw_code
    if ret.last_event_at is not None and event.occurred_at < ret.last_event_at:
        result.late += 1
        note_return(
            session,
            ret,
            order,
            type_="tracking",
            actor=actor,
            note="late scan: older than the last one applied",
            data={**data, "applied": False},
            event_id=event.event_id,
        )
        return
    ret.last_event_at = event.occurred_at
    event_id: str | None = event.event_id  # the first row written for this scan carries its id
    moved = False
    if event.status in ON_ITS_WAY and ret.status == S.approved.value:
        transition_return(
            session, ret, S.in_transit, order=order, actor=actor, note=why, data=data, event_id=event_id
        )
        event_id, moved = None, True
    if event.status is ShipmentStatus.DELIVERED and ret.arrived_at is None and ret.status in FOLLOWED:
        ret.arrived_at = event.occurred_at
        note_return(
            session,
            ret,
            order,
            type_="arrived",
            actor=actor,
            note="the carrier delivered the parcel to the warehouse: count it and mark it received",
            data=data,
            event_id=event_id,
        )
        event_id, moved = None, True
    if moved:
        result.applied += 1
        return
    result.unchanged += 1
    note_return(
        session,
        ret,
        order,
        type_="tracking",
        actor=actor,
        note=why,
        data={**data, "applied": False},
        event_id=event_id,
    )


def apply_carrier_events(
    session: Session, events: Sequence[TrackingEvent], *, carrier_code: str, actor: str = "carrier"
) -> TrackingResult:
    """Scans from one carrier (webhook): return parcels here, everything else to fulfilment's shipments."""
    result, rest = apply_return_events(session, events, carrier_code=carrier_code, actor=actor)
    if rest:
        result.add(shipments_tracking.apply_events(session, rest, carrier_code=carrier_code, actor=actor))
    return result


def apply_return_events(
    session: Session, events: Sequence[TrackingEvent], *, carrier_code: str, actor: str = "carrier"
) -> tuple[TrackingResult, list[TrackingEvent]]:
    """Apply the scans of return parcels; also returns the scans that belong to no return label."""
    result = TrackingResult()
    numbers = {e.tracking_number for e in events}
    if not numbers:
        return result, list(events)
    returns = {
        str(r.tracking_number): r
        for r in session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.carrier_code == carrier_code, ReturnRequest.tracking_number.in_(numbers))
            .order_by(ReturnRequest.id)
            .with_for_update()
        )
    }
    mine = [e for e in events if e.tracking_number in returns]
    rest = [e for e in events if e.tracking_number not in returns]
    if not mine:
        return result, rest
    seen = set(
        session.scalars(
            select(ReturnEvent.event_id).where(ReturnEvent.event_id.in_({e.event_id for e in mine}))
        )
    )
    orders: dict[int, Order] = {}
    for event in sorted(mine, key=lambda e: e.occurred_at):
        if event.event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.event_id)
        ret = returns[event.tracking_number]
        if ret.order_id not in orders:
            orders[ret.order_id] = load_order(session, ret.order_id)
        _apply_one(session, ret, orders[ret.order_id], event, result, actor)
    return result, rest


def apply_scans(
    session: Session, events: Sequence[TrackingEvent], *, carrier_code: str, actor: str = "tracking-poll"
) -> TrackingResult:
    """The poll's ``apply``: only return parcels are asked for, so nothing is passed on."""
    return apply_return_events(session, events, carrier_code=carrier_code, actor=actor)[0]


def due_for_polling(session: Session, *, limit: int) -> list[tuple[str, str]]:
    """Return labels whose parcel has not arrived yet (least recently updated first)."""
    rows = session.execute(
        select(ReturnRequest.carrier_code, ReturnRequest.tracking_number)
        .where(
            ReturnRequest.status.in_(FOLLOWED),
            ReturnRequest.label_status == READY,
            ReturnRequest.tracking_number.is_not(None),
            ReturnRequest.arrived_at.is_(None),
        )
        .order_by(ReturnRequest.updated_at, ReturnRequest.id)
        .limit(limit)
    ).all()
    return [(str(r.carrier_code), str(r.tracking_number)) for r in rows]
