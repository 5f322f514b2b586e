"""Marketplace delivery (issue #7): Ozon FBS postings travel as shipments of our fulfilment with Ozon as
their carrier. The bridge between a posting and the shipments of its order; services, never commit.

* :func:`delivering_carrier` / :func:`assign`: a posting Ozon delivers (``tpl_integration_type`` other
  than ``non_integrated`` / ``3pl_tracking``) gets the ``ozon`` carrier on its shipments, with a rate
  choice that says why; fulfilment calls ``assign`` when a shipment is packed and before any rate
  shopping, so our carriers are never quoted for it. rFBS postings keep our carriers (and
  ``outbound.send_tracking`` tells Ozon their tracking number).
* :func:`ship_plan`: the packages of Ozon's ship call, one per live shipment (several packages split the
  posting on Ozon), built from what was actually packed; rFBS postings ship their own lines as before.
* :func:`store_shipped`: Ozon accepted the assembly: the posting number becomes the shipment's tracking
  number and booking id, and the shipment goes packed -> label_created through ``transition_shipment``.
* :func:`store_label`: Ozon's package label (PDF) is kept on the shipment, where the label download and
  print paths of the API and back office find it.
* :func:`follow`: Ozon's status of a posting becomes a tracking event of its shipment (handed over, in
  transit, out for delivery, delivered), applied by ``fulfilment.tracking.apply_events``: deduplicated,
  never backwards, reservations consumed when the parcel leaves, the order's status derived.
* :func:`rfbs_target` / :func:`rfbs_reached` / :func:`rfbs_calls` (pure): for an rFBS posting our carriers
  deliver, which of Ozon's status setters (``delivering``, ``last-mile``, ``delivered``) the shipments call
  for, and in what order (``outbound.send_rfbs_status`` sends them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.carriers.base import TrackingEvent
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS, MarketplaceCarrier
from zakaz.clock import utcnow
from zakaz.fulfilment.models import Shipment, ShipmentEvent, ShipmentLine
from zakaz.fulfilment.shipments import Journal, lines_of, lock_orders, sync_order, transition_shipment
from zakaz.fulfilment.states import ShipmentState
from zakaz.fulfilment.tracking import TrackingResult, apply_events
from zakaz.inventory.models import Reservation, ReservationStatus, Warehouse
from zakaz.marketplaces.base import (
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceRejected,
    PackageItem,
    ShipmentPackage,
)
from zakaz.marketplaces.mappings import Lookups, load_lookups
from zakaz.marketplaces.models import MarketplaceConnection, MarketplacePosting
from zakaz.marketplaces.ozon.statuses import parcel_status
from zakaz.orders.models import Order

#: Schemes in which the seller (or a carrier Ozon does not integrate) delivers: our carriers ship these.
SELLER_DELIVERS = frozenset({"non_integrated", "3pl_tracking"})
#: Shipments still in the warehouse's hands: the ship call waits until none of them is left.
_NOT_PACKED = frozenset({ShipmentState.ready_to_pick.value, ShipmentState.picking.value})


def marketplace_delivers(scheme: str | None) -> bool:
    """True when the marketplace's own logistics carries the posting (Ozon FBS: ``ozon``, aggregators...)."""
    return bool(scheme) and scheme not in SELLER_DELIVERS


@dataclass(frozen=True)
class Delivery:
    carrier: MarketplaceCarrier
    posting: str
    scheme: str


def delivering_carrier(session: Session, order_id: int) -> Delivery | None:
    """The marketplace carrier of the order's posting, or None (not a marketplace order, or rFBS)."""
    row = session.execute(
        select(
            MarketplaceConnection.channel,
            MarketplacePosting.external_id,
            MarketplacePosting.fulfilment_scheme,
        )
        .join(MarketplaceConnection, MarketplaceConnection.id == MarketplacePosting.connection_id)
        .where(MarketplacePosting.order_id == order_id)
        .order_by(MarketplacePosting.id)
        .limit(1)
    ).first()
    if row is None or not marketplace_delivers(row.fulfilment_scheme):
        return None
    carrier = next((c for c in MARKETPLACE_CARRIERS.values() if c.marketplace == row.channel), None)
    return Delivery(carrier, row.external_id, str(row.fulfilment_scheme)) if carrier else None


def choice_json(delivery: Delivery) -> dict[str, Any]:
    """The stored rate choice of a marketplace-delivered shipment: nothing was quoted, and why."""
    carrier = delivery.carrier
    return {
        "policy": "marketplace",
        "promised_date": None,
        "meets_promise": None,
        "chosen": {
            "carrier_code": carrier.code,
            "service_code": carrier.service_code,
            "service_name": carrier.name,
            "price_minor": None,
            "currency": None,
        },
        "rejected": [],
        "reason": (
            f"delivered by marketplace: {carrier.name} collects the parcel of posting {delivery.posting} "
            f"({delivery.scheme}); our carriers are not quoted"
        ),
        "posting": delivery.posting,
        "quoted_at": utcnow().isoformat(),
    }


def assign(session: Session, shipment: Shipment, order: Order) -> bool:
    """Give the shipment its marketplace carrier when the order's posting is delivered by the marketplace.

    Returns True for such a shipment (whether assigned now or before). Never touches a shipment that
    already has a tracking number from one of our carriers.
    """
    delivery = delivering_carrier(session, order.id)
    if delivery is None:
        return False
    if shipment.carrier_code == delivery.carrier.code:
        return True
    if shipment.tracking_number:
        return False  # booked with one of our carriers before the posting was known to be FBS
    shipment.carrier_code, shipment.service_code = delivery.carrier.code, delivery.carrier.service_code
    shipment.price_minor = shipment.currency = None
    shipment.rate_choice = choice_json(delivery)
    shipment.updated_at = utcnow()
    return True


# ------------------------------------------------------------------------------------------- ship plan


@dataclass(frozen=True)
class ShipPlan:
    """Packages for the ship call; ``shipment_ids`` in the same order (empty: the order has none)."""

    packages: tuple[ShipmentPackage, ...]
    shipment_ids: tuple[int, ...] = ()
    waiting: tuple[str, ...] = ()  # shipments still being picked or packed: do not ship yet


def _ozon_skus(posting_lines: Sequence[Any], lookups: Lookups) -> dict[str, str]:
    """Our SKU -> Ozon SKU, for the posting's own lines (the same resolution the import used)."""
    out: dict[str, str] = {}
    for ln in posting_lines:
        line = MarketplaceLine(str(ln.get("offer_id") or ""), str(ln["marketplace_sku"]), "", 0, 0)
        out[lookups.our_sku(line).upper()] = line.marketplace_sku
    return out


def ship_plan(
    session: Session, *, order_id: int, connection_id: int, posting_lines: Sequence[Any]
) -> ShipPlan:
    """For a posting the marketplace delivers: one package per live shipment, with what was packed in it
    (Ozon refuses other quantities), once every leg of the order is packed.

    rFBS postings (our carriers deliver) and orders moved along without fulfilment ship as before: the
    posting's own lines as one package.
    """
    shipments = (
        list(
            session.scalars(
                select(Shipment)
                .where(Shipment.order_id == order_id, Shipment.status != ShipmentState.cancelled.value)
                .order_by(Shipment.id)
            )
        )
        if delivering_carrier(session, order_id) is not None
        else []
    )
    if not shipments:
        items = tuple(PackageItem(str(ln["marketplace_sku"]), int(ln["quantity"])) for ln in posting_lines)
        return ShipPlan((ShipmentPackage(items),))
    waiting = tuple(s.number for s in shipments if s.status in _NOT_PACKED) + _unpicked(session, order_id)
    if waiting:
        return ShipPlan((), tuple(s.id for s in shipments), waiting)
    skus = _ozon_skus(posting_lines, load_lookups(session, connection_id))
    packages = []
    for shipment in shipments:
        units: dict[str, int] = defaultdict(int)
        for line in lines_of(session, shipment.id):
            ozon_sku = skus.get(line.sku.upper())
            if ozon_sku is None:
                raise MarketplaceRejected(f"shipment {shipment.number}: {line.sku} is not in the posting")
            if line.quantity - line.short_qty:
                units[ozon_sku] += line.quantity - line.short_qty
        packages.append(ShipmentPackage(tuple(PackageItem(sku, qty) for sku, qty in units.items())))
    return ShipPlan(tuple(packages), tuple(s.id for s in shipments))


def _unpicked(session: Session, order_id: int) -> tuple[str, ...]:
    """Warehouses holding reservations of the order that no shipment carries yet (no pick list so far)."""
    rows = session.scalars(
        select(Warehouse.code)
        .join(Reservation, Reservation.warehouse_id == Warehouse.id)
        .outerjoin(ShipmentLine, ShipmentLine.reservation_id == Reservation.id)
        .where(
            Reservation.order_id == order_id,
            Reservation.status == ReservationStatus.active.value,
            ShipmentLine.id.is_(None),
        )
        .distinct()
    ).all()
    return tuple(f"{code} (not picked yet)" for code in sorted(rows))


# ------------------------------------------------------------------------------------- after the ship call


def store_shipped(
    session: Session, *, order_id: int, numbers: Sequence[tuple[int, str]], actor: str
) -> list[str]:
    """Posting number per shipment (``(shipment_id, posting_number)``): tracking number, label_created.

    Only for postings the marketplace delivers. Safe to repeat: a shipment that already has its tracking
    number is left alone. Returns the numbers of the shipments moved.
    """
    delivery = delivering_carrier(session, order_id)
    if not numbers or delivery is None:
        return []  # rFBS: our own carrier labels the shipment (and its tracking number goes to Ozon)
    order = lock_orders(session, [order_id]).get(order_id)
    if order is None:
        return []
    by_id = {
        s.id: s
        for s in session.scalars(
            select(Shipment)
            .where(Shipment.id.in_([sid for sid, _ in numbers]))
            .order_by(Shipment.id)
            .with_for_update()
        )
    }
    journal = Journal()
    moved: list[str] = []
    for shipment_id, posting_number in numbers:
        shipment = by_id.get(shipment_id)
        if shipment is None or shipment.tracking_number or shipment.status != ShipmentState.packed.value:
            continue
        if shipment.carrier_code != delivery.carrier.code:
            assign(session, shipment, order)
        shipment.tracking_number = shipment.booking_id = posting_number
        transition_shipment(
            session,
            shipment,
            ShipmentState.label_created,
            order=order,
            journal=journal,
            actor=actor,
            reason=f"shipped on {shipment.carrier_code or 'the marketplace'}: posting {posting_number}",
            data={"carrier": shipment.carrier_code, "tracking_number": posting_number},
        )
        moved.append(shipment.number)
    sync_order(session, order, journal=journal, actor=actor)
    journal.flush(session)
    return moved


def _marketplace_shipment(session: Session, posting_number: str, *, lock: bool = False) -> Shipment | None:
    stmt = select(Shipment).where(
        Shipment.carrier_code.in_(list(MARKETPLACE_CARRIERS)), Shipment.tracking_number == posting_number
    )
    return session.scalar(stmt.with_for_update() if lock else stmt)


def store_label(session: Session, *, posting_number: str, pdf: bytes, actor: str) -> str | None:
    """Ozon's package label onto the posting's shipment (its history notes it); the shipment's number."""
    shipment = _marketplace_shipment(session, posting_number, lock=True)
    if shipment is None:
        return None
    shipment.label_pdf = pdf
    shipment.updated_at = utcnow()
    session.add(
        ShipmentEvent(
            shipment_id=shipment.id,
            type="label",
            from_status=shipment.status,
            to_status=shipment.status,
            applied=True,
            description=f"package label of posting {posting_number} downloaded ({len(pdf)} bytes)",
            actor=actor,
            data={"posting": posting_number, "bytes": len(pdf)},
            occurred_at=utcnow(),
            created_at=utcnow(),
        )
    )
    return shipment.number


# ------------------------------------------------------------------------------------------ Ozon status


def parcel_event(posting: MarketplaceOrder) -> TrackingEvent | None:
    """Ozon's current status of the posting as a tracking event of its parcel (None: nothing to apply).

    The id is stable per (posting, status, substatus), so a push and a sync of the same change, or two
    syncs, apply it once.
    """
    status = parcel_status(posting.external_status, posting.external_substatus)
    if status is None:
        return None
    raw = f"{posting.external_status}/{posting.external_substatus or ''}"
    return TrackingEvent(
        event_id=f"{posting.channel}:{posting.external_id}:{raw}"[:128],
        tracking_number=posting.external_id,
        status=status,
        raw_code=raw[:64],
        occurred_at=utcnow(),
        description=f"Ozon: {posting.external_status}"
        + (f" / {posting.external_substatus}" if posting.external_substatus else ""),
    )


def follow(session: Session, posting: MarketplaceOrder, *, actor: str) -> TrackingResult | None:
    """Apply the posting's status to its shipment; None when it has none (not shipped through us)."""
    event = parcel_event(posting)
    if event is None:
        return None
    shipment = _marketplace_shipment(session, posting.external_id)
    if shipment is None or shipment.carrier_code is None:
        return None
    return apply_events(session, [event], carrier_code=shipment.carrier_code, actor=actor)


def carried_by_marketplace(session: Session, order_id: int) -> bool:
    """Whether a live shipment of the order travels with the marketplace (its status then follows them)."""
    found = session.scalar(
        select(Shipment.id)
        .where(
            Shipment.order_id == order_id,
            Shipment.status != ShipmentState.cancelled.value,
            Shipment.carrier_code.in_(list(MARKETPLACE_CARRIERS)),
        )
        .limit(1)
    )
    return found is not None


# ------------------------------------------------------------------------------- rFBS statuses (pure)


class RfbsStep(StrEnum):
    """Ozon's rFBS status setters, in the only order Ozon accepts them (notes 2.8, 3.4)."""

    delivering = "delivering"  # the carrier has the parcel (its first scan after hand-over)
    last_mile = "last_mile"  # out for delivery / at the pick-up point (optional step)
    delivered = "delivered"  # handed to the buyer (Ozon: "conditionally delivered")


RFBS_ORDER: tuple[RfbsStep, ...] = tuple(RfbsStep)
#: Schemes for which Ozon takes the setters: the seller's own delivery. ``3pl_tracking`` carriers report to
#: Ozon by the tracking number themselves (Ozon answers HAS_INCORRECT_TPL_INTEGRATION_TYPE).
STATUS_SETTABLE = frozenset({"non_integrated"})
#: Ozon's (status, substatus) once each setter was accepted (notes 3.3/3.4; what the fake answers).
RFBS_RESULT: dict[RfbsStep, tuple[str, str]] = {
    RfbsStep.delivering: ("delivering", "posting_transferred_to_courier_service"),
    RfbsStep.last_mile: ("delivering", "posting_in_courier_service"),
    RfbsStep.delivered: ("delivering", "posting_conditionally_delivered"),
}
_ST = ShipmentState
#: A leg in one of these has left with the carrier (a scan after hand-over): Ozon ``delivering``.
_CARRIER_HAS_IT = frozenset({_ST.in_transit, _ST.out_for_delivery, _ST.delivery_failed, _ST.delivered})
#: A leg in one of these is (or was) with the courier for the buyer: Ozon ``last-mile``.
_LAST_MILE = frozenset({_ST.out_for_delivery, _ST.delivery_failed, _ST.delivered})
_DELIVERED_SUBSTATUSES = frozenset(
    {"posting_conditionally_delivered", "posting_delivered", "posting_received"}
)
_LAST_MILE_SUBSTATUSES = frozenset({"posting_in_courier_service", "posting_in_pickup_point"})


def rfbs_target(states: Iterable[str]) -> RfbsStep | None:
    """The furthest Ozon step the posting's shipments call for (None: no leg has left with a carrier).

    ``delivered`` only when every live leg is delivered; ``last-mile`` when any leg is out for delivery (or
    was: a failed attempt, a delivered leg while others travel); ``delivering`` on the first leg a carrier
    scanned after hand-over. Cancelled legs do not count; a returned leg never makes the posting delivered.
    """
    live = [_ST(s) for s in states if s != _ST.cancelled.value]
    if not live:
        return None
    if all(s is _ST.delivered for s in live):
        return RfbsStep.delivered
    if any(s in _LAST_MILE for s in live):
        return RfbsStep.last_mile
    if any(s in _CARRIER_HAS_IT for s in live):
        return RfbsStep.delivering
    return None


def rfbs_reached(status: str | None, substatus: str | None) -> RfbsStep | None:
    """The furthest step Ozon's status of the posting shows (None: none yet, e.g. ``awaiting_deliver``)."""
    if status == "delivered" or substatus in _DELIVERED_SUBSTATUSES:
        return RfbsStep.delivered
    if status == "delivering":
        return RfbsStep.last_mile if substatus in _LAST_MILE_SUBSTATUSES else RfbsStep.delivering
    return None


def at_or_after(reached: RfbsStep | None, step: RfbsStep) -> bool:
    return reached is not None and RFBS_ORDER.index(reached) >= RFBS_ORDER.index(step)


def rfbs_calls(target: RfbsStep | None, reached: RfbsStep | None) -> tuple[RfbsStep, ...]:
    """The setters to call, in order, to bring Ozon from ``reached`` to ``target``; never backwards.

    Ozon refuses skipping ``delivering`` (TRANSITION_IS_NOT_POSSIBLE), so it is always sent first;
    ``last-mile`` is optional and only sent when it is the target (``delivered`` follows either).
    """
    if target is None or at_or_after(reached, target):
        return ()
    calls = [] if reached is not None else [RfbsStep.delivering]
    if target is not RfbsStep.delivering:
        calls.append(target)
    return tuple(calls)


def rfbs_plan(
    shipment_states: Iterable[str], ozon_status: str | None, ozon_substatus: str | None = None
) -> tuple[RfbsStep, ...]:
    """Which Ozon calls the shipments' states call for, given Ozon's current status of the posting."""
    return rfbs_calls(rfbs_target(shipment_states), rfbs_reached(ozon_status, ozon_substatus))


def shipment_states(session: Session, order_id: int) -> list[str]:
    """The statuses of the order's shipments (every leg of its posting)."""
    return list(
        session.scalars(select(Shipment.status).where(Shipment.order_id == order_id).order_by(Shipment.id))
    )
