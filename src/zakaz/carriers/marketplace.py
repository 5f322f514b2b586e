"""Marketplace delivery as a carrier (issue #7): the marketplace's own logistics collects the parcel.

For an Ozon FBS posting Ozon is the carrier. Nothing here talks to Ozon: the *booking* is Ozon's ship call
(``zakaz.marketplaces.outbound.ship_posting``, an outbox job run once the order is packed), the *label* is
Ozon's package label (downloaded by the ``fetch_label`` job) and *tracking* arrives through the
marketplace sync and push (``zakaz.marketplaces.delivery``). This adapter exists so that fulfilment can
keep such shipments in its carrier vocabulary: it is registered under its code, never quotes (rate shopping
neither offers it nor replaces it by one of our carriers), refuses direct booking and label calls, has
nothing to poll and nothing to cancel (the ``order.cancelled`` job cancels the posting on the marketplace).
"""

from __future__ import annotations

from collections.abc import Mapping

from zakaz.carriers.base import Booking, BookingRequest, CarrierError, Rate, ShipmentRequest, TrackingEvent
from zakaz.errors import NotFound


class MarketplaceCarrier:
    """Implements ``Carrier`` for a marketplace's own delivery; ``marketplace`` is the order channel."""

    def __init__(self, code: str, name: str, *, marketplace: str, service_code: str) -> None:
        self._code = code
        self.name = name
        self.marketplace = marketplace
        self.service_code = service_code

    def __repr__(self) -> str:
        return f"MarketplaceCarrier({self._code!r})"

    @property
    def code(self) -> str:
        return self._code

    def quote(self, request: ShipmentRequest) -> list[Rate]:
        """Never quoted: the marketplace sets and charges its delivery, and only for its own postings."""
        return []

    def book(self, request: BookingRequest) -> Booking:
        raise CarrierError(
            f"{self.name} shipments are booked by the marketplace's ship call once the order is packed",
            carrier=self._code,
        )

    def label(self, request: BookingRequest, tracking_number: str) -> bytes:
        raise CarrierError(f"{self.name} labels are printed by the marketplace", carrier=self._code)

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """Nothing to poll here: the marketplace sync and push report the posting's status."""
        return []

    def cancel(self, booking: Booking) -> None:
        """Nothing to do: cancelling the order cancels the posting on the marketplace (its own job)."""

    def events_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]:
        raise NotFound(
            f"{self.name} has no tracking webhook; the marketplace's push endpoint reports its status",
            carrier=self._code,
        )


#: Ozon delivers FBS postings itself (``tpl_integration_type`` "ozon"); its posting number is the tracking
#: number and its package label is the label.
OZON_FBS = MarketplaceCarrier("ozon", "Ozon (FBS)", marketplace="ozon", service_code="fbs")

#: Every marketplace delivery, by carrier code.
MARKETPLACE_CARRIERS: dict[str, MarketplaceCarrier] = {OZON_FBS.code: OZON_FBS}
