"""Our own carrier vocabulary: frozen dataclasses and the ``Carrier`` protocol every adapter implements.

Adapters translate vendor JSON into these types at the boundary; nothing outside ``zakaz.carriers`` ever
sees vendor payloads. Money is integer minor units (kopecks), weights grams, dimensions millimetres,
datetimes aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from zakaz.errors import DomainError


class CarrierError(DomainError):
    """A carrier refused or failed a request (HTTP error, malformed answer, unknown booking)."""

    kind = "carrier-error"


class ShipmentStatus(StrEnum):
    """Our normalised shipment statuses; each adapter maps its raw carrier codes onto these."""

    LABEL_CREATED = "label_created"
    HANDED_OVER = "handed_over"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a shipment starts or ends. ``region`` is the subject of the federation (e.g. "Москва")."""

    city: str
    region: str
    postcode: str
    lat: float | None = None
    lon: float | None = None
    country: str = "RU"


@dataclass(frozen=True, slots=True)
class Contact:
    """A person or company on a label: name, phone and the street part of the address."""

    name: str
    phone: str
    address_line: str
    location: Location


@dataclass(frozen=True, slots=True)
class Parcel:
    """One box: actual weight in grams and outside dimensions in millimetres."""

    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int

    def __post_init__(self) -> None:
        if self.weight_g <= 0:
            raise ValueError(f"parcel weight must be positive, got {self.weight_g} g")
        if min(self.length_mm, self.width_mm, self.height_mm) <= 0:
            raise ValueError("parcel dimensions must be positive")

    @property
    def volume_mm3(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    """What we ask carriers to quote.

    ``distance_km`` is preferred when the caller knows it (warehouse routing usually does); otherwise the
    tariff falls back to the great-circle distance between ``origin`` and ``destination`` coordinates.
    """

    origin: Location
    destination: Location
    parcels: tuple[Parcel, ...]
    declared_value_minor: int
    ready_at: datetime
    promised_date: date | None = None
    distance_km: float | None = None

    def __post_init__(self) -> None:
        if not self.parcels:
            raise ValueError("a shipment needs at least one parcel")
        if self.declared_value_minor < 0:
            raise ValueError("declared value cannot be negative")
        _require_aware("ready_at", self.ready_at)

    @property
    def total_weight_g(self) -> int:
        return sum(p.weight_g for p in self.parcels)


@dataclass(frozen=True, slots=True)
class Rate:
    """One priced service for one shipment.

    ``cutoff_respected`` is False when the goods are ready after the service's cut-off, so the carrier takes
    them a day (or more) later. Weight limits apply to each parcel's actual weight (``heaviest_parcel_g``);
    prices use chargeable weight (actual or volumetric, whichever is more). ``quote()`` lists every service
    serving the route, including ones whose weight limit the shipment exceeds (``within_weight_limit`` is
    False), so rate shopping can say why they lost.
    """

    carrier_code: str
    service_code: str
    service_name: str
    price_minor: int
    currency: str
    delivery_days: int
    ship_date: date
    estimated_delivery_date: date
    cutoff_respected: bool
    chargeable_weight_g: int
    heaviest_parcel_g: int
    max_parcel_weight_g: int | None = None
    zone: str = ""

    @property
    def within_weight_limit(self) -> bool:
        return self.max_parcel_weight_g is None or self.heaviest_parcel_g <= self.max_parcel_weight_g


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """Everything a carrier needs to accept a shipment and print its label."""

    shipment: ShipmentRequest
    service_code: str
    order_number: str
    sender: Contact
    recipient: Contact
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class Booking:
    """A confirmed booking: the carrier's id (for cancel), the tracking number and the label PDF."""

    carrier_code: str
    service_code: str
    booking_id: str
    tracking_number: str
    label: bytes
    created_at: datetime

    def __post_init__(self) -> None:
        _require_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One carrier scan, normalised. ``event_id`` is stable across polls and webhooks, so use it to dedupe."""

    event_id: str
    tracking_number: str
    status: ShipmentStatus
    raw_code: str
    occurred_at: datetime
    description: str = ""
    location: str = ""

    def __post_init__(self) -> None:
        _require_aware("occurred_at", self.occurred_at)
        if self.occurred_at.utcoffset() != timedelta(0):
            raise ValueError("occurred_at must be in UTC")


@runtime_checkable
class Carrier(Protocol):
    """What fulfilment needs from any carrier. Implementations return our dataclasses, never vendor JSON."""

    @property
    def code(self) -> str: ...

    def quote(self, request: ShipmentRequest) -> list[Rate]: ...

    def book(self, request: BookingRequest) -> Booking: ...

    def label(self, request: BookingRequest, tracking_number: str) -> bytes: ...

    def track(self, tracking_number: str) -> list[TrackingEvent]: ...

    def cancel(self, booking: Booking) -> None: ...
