"""Carrier tracking: events from the signed webhook or from polling, applied in order, deduplicated.

Rules: an event id seen before is dropped (duplicate); an event older than the newest one applied to its
shipment is recorded in the history and the order timeline but changes nothing (late); an event whose status
the transition table does not allow from the current one (it would move the shipment backwards) is recorded
the same way. Everything else moves the shipment through :func:`transition_shipment`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence  # Callable: issue #6
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.carriers.base import CarrierError, TrackingEvent
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.fulfilment.models import Shipment, ShipmentEvent
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.fulfilment.shipments import Journal, lock_orders, sync_order, transition_shipment
from zakaz.fulfilment.states import FROM_CARRIER, TRACKED, can_transition
from zakaz.orders.models import Order

log = logging.getLogger(__name__)


@dataclass
class TrackingResult:
    applied: int = 0
    unchanged: int = 0
    late: int = 0
    duplicates: int = 0
    unknown: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: TrackingResult) -> None:
        for name in ("applied", "unchanged", "late", "duplicates", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def as_json(self) -> dict[str, object]:
        return {
            "applied": self.applied,
            "unchanged": self.unchanged,
            "late": self.late,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "errors": self.errors,
        }


def _note(
    journal: Journal,
    shipment: Shipment,
    order: Order,
    event: TrackingEvent,
    *,
    applied: bool,
    why: str,
    actor: str,
) -> None:
    """Record a scan that does not change the status (same status, late, or backwards)."""
    journal.events.append(
        (
            shipment,
            {
                "event_id": event.event_id,
                "type": "tracking",
                "from_status": shipment.status,
                "to_status": FROM_CARRIER[event.status].value,
                "raw_code": event.raw_code,
                "applied": applied,
                "description": event.description[:500],
                "location": event.location[:255],
                "actor": actor,
                "data": {"note": why},
                "occurred_at": event.occurred_at,
                "created_at": utcnow(),
            },
        )
    )
    journal.timeline.record(
        order,
        "shipment_tracking",
        actor=actor,
        reason=why,
        data={
            "shipment": shipment.number,
            "status": event.status.value,
            "raw_code": event.raw_code,
            "event_id": event.event_id,
            "occurred_at": event.occurred_at.isoformat(),
            "applied": applied,
        },
    )


def apply_events(
    session: Session, events: Sequence[TrackingEvent], *, carrier_code: str, actor: str = "carrier"
) -> TrackingResult:
    """Apply normalised carrier events (any order, any repetition) to the shipments they belong to."""
    result = TrackingResult()
    if not events:
        return result
    numbers = {e.tracking_number for e in events}
    seen = set(
        session.scalars(
            select(ShipmentEvent.event_id).where(ShipmentEvent.event_id.in_({e.event_id for e in events}))
        )
    )
    found = session.execute(
        select(Shipment.id, Shipment.order_id, Shipment.tracking_number).where(
            Shipment.carrier_code == carrier_code, Shipment.tracking_number.in_(numbers)
        )
    ).all()
    orders = lock_orders(session, {row.order_id for row in found})
    shipments = {
        s.tracking_number: s
        for s in session.scalars(
            select(Shipment)
            .where(Shipment.id.in_([row.id for row in found]))
            .order_by(Shipment.id)
            .with_for_update()
        )
    }
    journal = Journal()
    touched: set[int] = set()
    by_number: dict[str, list[TrackingEvent]] = defaultdict(list)
    for event in events:
        by_number[event.tracking_number].append(event)
    for number, batch in by_number.items():
        shipment = shipments.get(number)
        for event in sorted(batch, key=lambda e: e.occurred_at):
            if event.event_id in seen:
                result.duplicates += 1
                continue
            seen.add(event.event_id)
            if shipment is None:
                result.unknown += 1
                continue
            _apply_one(session, shipment, orders[shipment.order_id], event, journal, result, actor)
            touched.add(shipment.order_id)
    for order_id in sorted(touched):
        sync_order(session, orders[order_id], journal=journal, actor=actor)
    journal.flush(session)
    return result


def _apply_one(
    session: Session,
    shipment: Shipment,
    order: Order,
    event: TrackingEvent,
    journal: Journal,
    result: TrackingResult,
    actor: str,
) -> None:
    target = FROM_CARRIER[event.status]
    if shipment.last_event_at is not None and event.occurred_at < shipment.last_event_at:
        result.late += 1
        _note(
            journal,
            shipment,
            order,
            event,
            applied=False,
            why="late event: older than the last one applied",
            actor=actor,
        )
        return
    if target.value == shipment.status:
        result.unchanged += 1
        shipment.last_event_at = event.occurred_at
        _note(journal, shipment, order, event, applied=True, why="confirms the current status", actor=actor)
        return
    if not can_transition(shipment.status, target):
        result.late += 1
        _note(
            journal,
            shipment,
            order,
            event,
            applied=False,
            why=f"not applied: {shipment.status} -> {target.value} would move the shipment backwards",
            actor=actor,
        )
        return
    result.applied += 1
    shipment.last_event_at = event.occurred_at
    transition_shipment(
        session,
        shipment,
        target,
        order=order,
        journal=journal,
        actor=actor,
        reason=event.description or event.raw_code,
        scan=event,
        data={"raw_code": event.raw_code, "event_id": event.event_id},
    )


def poll_tracking(
    session: Session, *, registry: CarrierRegistry, limit: int = 100, actor: str = "tracking-poll"
) -> TrackingResult:
    """Ask carriers for news on shipments still on their way (least recently updated first).

    For the periodic job. The carrier calls happen inside the caller's transaction; on SQLite prefer
    :func:`poll_tracking_job`, which does the HTTP between two short transactions.
    """
    result = TrackingResult()
    rows = due_for_polling(session, limit=limit)
    for carrier_code, number in rows:
        events = _fetch(registry, carrier_code, number, result)
        if events:
            result.add(apply_events(session, events, carrier_code=carrier_code, actor=actor))
    return result


def due_for_polling(session: Session, *, limit: int) -> list[tuple[str, str]]:
    """Shipments on their way with one of our carriers (a marketplace reports its own through sync/push)."""
    rows = session.execute(
        select(Shipment.carrier_code, Shipment.tracking_number)
        .where(
            Shipment.status.in_([s.value for s in TRACKED]),
            Shipment.tracking_number.is_not(None),
            Shipment.carrier_code.not_in(list(MARKETPLACE_CARRIERS)),  # issue #7
        )
        .order_by(Shipment.updated_at, Shipment.id)
        .limit(limit)
    ).all()
    return [(str(r.carrier_code), str(r.tracking_number)) for r in rows]


def _fetch(
    registry: CarrierRegistry, carrier_code: str, number: str, result: TrackingResult
) -> list[TrackingEvent]:
    try:
        return registry.get(carrier_code).track(number)
    except CarrierError as exc:
        log.warning("tracking %s %s failed: %s", carrier_code, number, exc.detail)
        result.errors.append(f"{carrier_code} {number}: {exc.detail}")
        return []


def poll_tracking_job(
    engine: Engine,
    *,
    registry: CarrierRegistry,
    limit: int = 100,
    due: Callable[..., list[tuple[str, str]]] = due_for_polling,  # issue #6: return parcels use the same
    apply_with: Callable[..., TrackingResult] = apply_events,  # poll with their own due list and apply
) -> TrackingResult:
    """Poll with the HTTP calls outside any transaction: read due shipments, fetch, apply per shipment."""
    result = TrackingResult()
    with unit_of_work(engine, read_only=True) as session:
        rows = due(session, limit=limit)
    for carrier_code, number in rows:
        events = _fetch(registry, carrier_code, number, result)
        if events:
            apply = partial(apply_with, events=events, carrier_code=carrier_code, actor="tracking-poll")
            result.add(run_in_transaction(engine, apply))
    return result
