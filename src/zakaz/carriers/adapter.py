"""``HttpCarrier``: the shared implementation of the ``Carrier`` protocol over the booking contract.

A carrier module supplies its code and name, tariff tables, raw-status mapping and tracking-number validator;
this class does the rest: quotes from the tables, books through ``CarrierApiClient``, renders the label,
normalises tracking events (poll or webhook) into ``TrackingEvent`` in UTC with stable ids for dedupe.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from zakaz.carriers.base import (
    Booking,
    BookingRequest,
    CarrierError,
    Contact,
    Rate,
    ShipmentRequest,
    ShipmentStatus,
    TrackingEvent,
)
from zakaz.carriers.client import CarrierApiClient, verify_webhook
from zakaz.carriers.labels import LabelData, render_labels
from zakaz.carriers.tariffs import MSK, ServiceTariff, quote_all

log = logging.getLogger(__name__)


def _contact_json(contact: Contact) -> dict[str, Any]:
    loc = contact.location
    return {
        "name": contact.name,
        "phone": contact.phone,
        "address": contact.address_line,
        "city": loc.city,
        "region": loc.region,
        "postcode": loc.postcode,
        "country": loc.country,
    }


def booking_payload(carrier_code: str, request: BookingRequest) -> dict[str, Any]:
    shipment = request.shipment
    return {
        "carrier": carrier_code,
        "service_code": request.service_code,
        "order_number": request.order_number,
        "sender": _contact_json(request.sender),
        "recipient": _contact_json(request.recipient),
        "parcels": [
            {
                "weight_g": p.weight_g,
                "length_mm": p.length_mm,
                "width_mm": p.width_mm,
                "height_mm": p.height_mm,
            }
            for p in shipment.parcels
        ],
        "declared_value_minor": shipment.declared_value_minor,
        "ready_at": shipment.ready_at.isoformat(),
    }


class HttpCarrier:
    """Implements ``Carrier``; subclasses only pass their configuration to ``__init__``."""

    def __init__(
        self,
        *,
        code: str,
        name: str,
        tariffs: tuple[ServiceTariff, ...],
        status_map: Mapping[str, ShipmentStatus],
        is_valid_tracking_number: Callable[[str], bool],
        client: CarrierApiClient,
        webhook_secret: str = "",
        carrier_tz: tzinfo = MSK,
    ) -> None:
        self._code = code
        self.name = name
        self.tariffs = tariffs
        self.status_map = dict(status_map)
        self.is_valid_tracking_number = is_valid_tracking_number
        self.client = client
        self.webhook_secret = webhook_secret
        self.carrier_tz = carrier_tz  # for naive timestamps in carrier answers

    @property
    def code(self) -> str:
        return self._code

    def quote(self, request: ShipmentRequest) -> list[Rate]:
        return quote_all(self.tariffs, request)

    def _service_name(self, service_code: str) -> str:
        for tariff in self.tariffs:
            if tariff.service_code == service_code:
                return tariff.service_name
        raise CarrierError(f"{self.code} has no service {service_code!r}", service_code=service_code)

    def label(self, request: BookingRequest, tracking_number: str) -> bytes:
        """One label page per parcel (same tracking number, "parcel i/n" and that parcel's weight)."""
        parcels = request.shipment.parcels
        pages = [
            LabelData(
                carrier_name=self.name,
                service_name=self._service_name(request.service_code),
                tracking_number=tracking_number,
                order_number=request.order_number,
                sender=request.sender,
                recipient=request.recipient,
                weight_g=parcel.weight_g,
                parcel_index=index,
                parcel_count=len(parcels),
            )
            for index, parcel in enumerate(parcels, start=1)
        ]
        return render_labels(pages)

    def book(self, request: BookingRequest) -> Booking:
        self._service_name(request.service_code)  # refuse unknown services before calling out
        answer = self.client.create_booking(
            booking_payload(self.code, request), idempotency_key=request.idempotency_key
        )
        tracking_number = str(answer.get("tracking_number", ""))
        booking_id = str(answer.get("booking_id", ""))
        if not booking_id or not self.is_valid_tracking_number(tracking_number):
            raise CarrierError(
                f"{self.code} returned an invalid booking "
                f"(id {booking_id!r}, tracking number {tracking_number!r})"
            )
        return Booking(
            carrier_code=self.code,
            service_code=request.service_code,
            booking_id=booking_id,
            tracking_number=tracking_number,
            label=self.label(request, tracking_number),
            created_at=self._parse_time(answer.get("created_at")),
        )

    def cancel(self, booking: Booking) -> None:
        self.client.cancel_booking(booking.booking_id)

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        events = [self._event(tracking_number, raw) for raw in self.client.tracking(tracking_number)]
        return sorted((e for e in events if e is not None), key=lambda e: e.occurred_at)

    def events_from_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> list[TrackingEvent]:
        """Verify a signed tracking webhook and return its normalised events (raises on a bad signature)."""
        if not self.webhook_secret:
            raise CarrierError(f"{self.code} has no webhook secret configured")
        payload = verify_webhook(self.webhook_secret, body, headers, now=time.time() if now is None else now)
        number = str(payload.get("tracking_number", ""))
        raw_events = payload.get("events", [])
        if not isinstance(raw_events, list):
            raise CarrierError("webhook has no events list")
        events = [self._event(number, raw) for raw in raw_events if isinstance(raw, dict)]
        return [e for e in events if e is not None]

    def _parse_time(self, value: object) -> datetime:
        if not isinstance(value, str):
            raise CarrierError(f"{self.code} sent no timestamp: {value!r}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise CarrierError(f"{self.code} sent a bad timestamp: {value!r}") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.carrier_tz)
        return moment.astimezone(UTC)

    def _event(self, tracking_number: str, raw: Mapping[str, Any]) -> TrackingEvent | None:
        code = str(raw.get("code", ""))
        status = self.status_map.get(code)
        if status is None:
            # An unknown code must not move a shipment to a wrong status; it is logged for the mapping table.
            log.warning("%s: unmapped tracking code %r for %s", self.code, code, tracking_number)
            return None
        occurred_at = self._parse_time(raw.get("occurred_at"))
        carrier_id = raw.get("event_id")
        if not carrier_id:
            basis = f"{tracking_number}|{code}|{occurred_at.isoformat()}"
            carrier_id = hashlib.sha256(basis.encode()).hexdigest()[:20]
        return TrackingEvent(
            event_id=f"{self.code}:{carrier_id}",
            tracking_number=tracking_number,
            status=status,
            raw_code=code,
            occurred_at=occurred_at,
            description=str(raw.get("description", "")),
            location=str(raw.get("location", "")),
        )
