"""Rate shopping and labels for packed shipments, through the ``zakaz.carriers`` adapters.

Booking calls a carrier over HTTP, so it is split in three steps and never holds a database transaction
open across the call: ``prepare_booking`` (transaction: check state, rate-shop if needed, build the request),
the carrier call (no transaction; the carrier idempotency key is derived from the shipment and service, so
a retry returns the same booking), and ``store_booking`` (transaction: tracking number, label,
-> label_created).

Issue #7: a shipment whose order came from a marketplace posting the marketplace delivers (Ozon FBS) gets
that marketplace as its carrier (``zakaz.marketplaces.delivery.assign``) instead of rate shopping; it is
booked by the marketplace's ship job when the order is packed, never here (``BookedByMarketplace``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.carriers.base import Booking, BookingRequest, Contact, Location, Parcel, Rate, ShipmentRequest
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.carriers.rates import RateChoice, ShoppingPolicy, shop
from zakaz.carriers.tariffs import MSK
from zakaz.clock import utcnow
from zakaz.errors import Conflict, NotFound
from zakaz.fulfilment.config import FulfilmentSettings
from zakaz.fulfilment.errors import BookedByMarketplace, LabelNotReady, NoRate
from zakaz.fulfilment.models import Shipment
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.fulfilment.shipments import Journal, lines_of, lock_shipment, sync_order, transition_shipment
from zakaz.fulfilment.states import ShipmentState
from zakaz.inventory.models import Warehouse
from zakaz.marketplaces import delivery as marketplace
from zakaz.orders.models import Order, OrderLine


def promised_date_for(order: Order, settings: FulfilmentSettings) -> date:
    """The order's ship-by date (Moscow) plus the promised delivery days."""
    base = order.ship_by or utcnow()
    return base.astimezone(MSK).date() + timedelta(days=settings.promised_delivery_days)


def _declared_value(session: Session, shipment: Shipment) -> int:
    lines = lines_of(session, shipment.id)
    rows = session.execute(
        select(OrderLine.id, OrderLine.unit_price_minor).where(
            OrderLine.id.in_({ln.order_line_id for ln in lines})
        )
    ).all()
    prices = {line_id: price for line_id, price in rows}
    return sum(prices[ln.order_line_id] * (ln.quantity - ln.short_qty) for ln in lines)


def warehouse_location(warehouse: Warehouse) -> Location:
    return Location(warehouse.city, warehouse.region, "", warehouse.latitude, warehouse.longitude)


def shopper_location(order: Order) -> Location:
    """Where the order goes (and where a return comes from)."""
    return Location(
        order.ship_city,
        order.ship_region,
        order.ship_postcode,
        order.ship_latitude,
        order.ship_longitude,
        order.ship_country or "RU",
    )


def shopper_contact(order: Order, location: Location) -> Contact:
    address = ", ".join(part for part in (order.ship_line1, order.ship_line2) if part)
    return Contact(order.ship_name or order.contact_name, order.contact_phone or "", address, location)


def shipment_request(
    session: Session, shipment: Shipment, order: Order, *, promised_date: date | None
) -> ShipmentRequest:
    warehouse = session.get_one(Warehouse, shipment.warehouse_id)
    if not shipment.weight_g or not shipment.length_mm or not shipment.width_mm or not shipment.height_mm:
        raise Conflict(f"shipment {shipment.number} has no box or weight yet", shipment=shipment.number)
    return ShipmentRequest(
        origin=warehouse_location(warehouse),
        destination=shopper_location(order),
        parcels=(Parcel(shipment.weight_g, shipment.length_mm, shipment.width_mm, shipment.height_mm),),
        declared_value_minor=_declared_value(session, shipment),
        ready_at=utcnow(),
        promised_date=promised_date,
    )


def _rate_json(rate: Rate) -> dict[str, Any]:
    out = asdict(rate)
    for key in ("ship_date", "estimated_delivery_date"):
        out[key] = out[key].isoformat()
    return out


def choice_json(choice: RateChoice, promised: date | None) -> dict[str, Any]:
    return {
        "policy": choice.policy.value,
        "promised_date": promised.isoformat() if promised else None,
        "meets_promise": choice.meets_promise,
        "chosen": _rate_json(choice.chosen) if choice.chosen else None,
        "rejected": [
            {**_rate_json(r.rate), "reason": r.reason.value, "detail": r.detail} for r in choice.rejected
        ],
        "quoted_at": utcnow().isoformat(),
    }


def rate_shop(
    session: Session,
    *,
    shipment_ref: str,
    registry: CarrierRegistry,
    settings: FulfilmentSettings,
    policy: ShoppingPolicy | None = None,
    promised_date: date | None = None,
) -> Shipment:
    """Quote every configured carrier, choose under the policy, store the choice and every loser's reason."""
    shipment, order = lock_shipment(session, shipment_ref)
    if shipment.status != ShipmentState.packed.value:
        raise Conflict(
            f"shipment {shipment.number} is {shipment.status}; rates are shopped once packed",
            shipment=shipment.number,
            current=shipment.status,
        )
    if not marketplace.assign(session, shipment, order):  # issue #7: Ozon FBS is never rate-shopped
        _shop(session, shipment, order, registry, settings, policy, promised_date)
    return shipment


def _shop(
    session: Session,
    shipment: Shipment,
    order: Order,
    registry: CarrierRegistry,
    settings: FulfilmentSettings,
    policy: ShoppingPolicy | None,
    promised_date: date | None,
) -> Rate:
    promised = promised_date or promised_date_for(order, settings)
    request = shipment_request(session, shipment, order, promised_date=promised)
    rates = [rate for carrier in registry for rate in carrier.quote(request)]
    choice = shop(rates, policy=policy or settings.rate_policy, promised_date=promised)
    shipment.rate_choice = choice_json(choice, promised)
    shipment.promised_date = promised
    if choice.chosen is None:
        raise NoRate(
            f"no carrier serves shipment {shipment.number}",
            shipment=shipment.number,
            rejected=shipment.rate_choice["rejected"],
        )
    chosen = choice.chosen
    shipment.carrier_code, shipment.service_code = chosen.carrier_code, chosen.service_code
    shipment.price_minor, shipment.currency = chosen.price_minor, chosen.currency
    shipment.estimated_delivery_date = chosen.estimated_delivery_date
    shipment.updated_at = utcnow()
    return chosen


@dataclass(frozen=True)
class PreparedBooking:
    shipment_id: int
    carrier_code: str
    request: BookingRequest


def prepare_booking(
    session: Session,
    *,
    shipment_ref: str,
    registry: CarrierRegistry,
    settings: FulfilmentSettings,
    carrier_code: str | None = None,
    service_code: str | None = None,
) -> PreparedBooking | None:
    """The booking to send for a packed shipment (None when it already has a label: nothing to do)."""
    shipment, order = lock_shipment(session, shipment_ref)
    if shipment.tracking_number:
        return None
    if shipment.status != ShipmentState.packed.value:
        raise Conflict(
            f"shipment {shipment.number} is {shipment.status}; labels are made once packed",
            shipment=shipment.number,
            current=shipment.status,
        )
    if marketplace.assign(session, shipment, order):  # issue #7
        raise BookedByMarketplace(
            f"shipment {shipment.number} is delivered by {shipment.carrier_code}: it is shipped on the "
            "marketplace when its order is packed, and the marketplace's label is stored on it",
            shipment=shipment.number,
            carrier=shipment.carrier_code,
        )
    if carrier_code and service_code:
        registry.get(carrier_code)
        shipment.carrier_code, shipment.service_code = carrier_code, service_code
        shipment.promised_date = shipment.promised_date or promised_date_for(order, settings)
    elif not shipment.carrier_code:
        _shop(session, shipment, order, registry, settings, None, None)
    assert shipment.carrier_code and shipment.service_code
    warehouse = session.get_one(Warehouse, shipment.warehouse_id)
    request = shipment_request(session, shipment, order, promised_date=shipment.promised_date)
    sender = Contact(
        settings.sender_name, settings.sender_phone, warehouse.address or warehouse.name, request.origin
    )
    recipient = shopper_contact(order, request.destination)
    return PreparedBooking(
        shipment.id,
        shipment.carrier_code,
        BookingRequest(
            shipment=request,
            service_code=shipment.service_code,
            order_number=order.number,
            sender=sender,
            recipient=recipient,
            idempotency_key=f"{shipment.number}:{shipment.carrier_code}:{shipment.service_code}",
        ),
    )


def book(registry: CarrierRegistry, prepared: PreparedBooking) -> Booking:
    """The carrier call; run it outside any database transaction."""
    return registry.get(prepared.carrier_code).book(prepared.request)


def store_booking(session: Session, *, shipment_id: int, booking: Booking, actor: str) -> Shipment:
    """Tracking number, booking id and label onto the shipment; packed -> label_created."""
    shipment, order = lock_shipment(session, shipment_id)
    if shipment.tracking_number == booking.tracking_number:
        return shipment  # a retry after the first store committed
    if shipment.status != ShipmentState.packed.value:
        raise Conflict(f"shipment {shipment.number} is {shipment.status}", shipment=shipment.number)
    shipment.carrier_code, shipment.service_code = booking.carrier_code, booking.service_code
    shipment.tracking_number, shipment.booking_id = booking.tracking_number, booking.booking_id
    shipment.label_pdf = booking.label
    journal = Journal()
    transition_shipment(
        session,
        shipment,
        ShipmentState.label_created,
        order=order,
        journal=journal,
        actor=actor,
        data={"carrier": booking.carrier_code, "tracking_number": booking.tracking_number},
    )
    sync_order(session, order, journal=journal, actor=actor)
    journal.flush(session)
    return shipment


def delivered_by_marketplace(shipment: Shipment) -> bool:
    """Issue #7: the marketplace's own logistics carries this shipment (booked and labelled by it)."""
    return shipment.carrier_code in MARKETPLACE_CARRIERS


def missing_label(shipment: Shipment) -> Exception:
    """Why a shipment has no label to download: the marketplace has not printed it yet, or no label at all."""
    if delivered_by_marketplace(shipment) and shipment.tracking_number:
        return LabelNotReady(
            f"the {shipment.carrier_code} label of shipment {shipment.number} is not ready yet; it is "
            "downloaded automatically as soon as the marketplace has printed it",
            shipment=shipment.number,
            posting=shipment.tracking_number,
        )
    return NotFound(f"shipment {shipment.number} has no label yet")
