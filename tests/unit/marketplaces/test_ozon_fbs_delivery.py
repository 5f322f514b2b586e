"""Issue #7, pure parts of Ozon FBS delivery: which postings Ozon carries, what its statuses mean for the
parcel, and the marketplace carrier's place among ours (never quoted, never booked here)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zakaz.carriers.base import (
    Booking,
    Carrier,
    CarrierError,
    Location,
    Parcel,
    ShipmentRequest,
    ShipmentStatus,
)
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS, OZON_FBS
from zakaz.errors import NotFound
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.marketplaces.base import MarketplaceOrder
from zakaz.marketplaces.delivery import marketplace_delivers, parcel_event
from zakaz.marketplaces.ozon.statuses import parcel_status

P = ShipmentStatus


@pytest.mark.parametrize(
    ("scheme", "ozon_carries"),
    [
        ("ozon", True),
        ("aggregator", True),
        ("hybryd", True),
        ("non_integrated", False),  # rFBS: the seller's own or a non-integrated carrier
        ("3pl_tracking", False),
        (None, False),
        ("", False),
    ],
)
def test_which_postings_ozon_carries(scheme: str | None, ozon_carries: bool) -> None:
    assert marketplace_delivers(scheme) is ozon_carries


@pytest.mark.parametrize(
    ("status", "substatus", "parcel"),
    [
        ("awaiting_packaging", "posting_created", None),
        ("awaiting_deliver", "posting_transferring_to_delivery", None),  # our label_created
        ("acceptance_in_progress", "posting_acceptance_in_progress", P.HANDED_OVER),
        ("driver_pickup", "posting_driver_pick_up", P.HANDED_OVER),
        ("delivering", "posting_on_way_to_city", P.IN_TRANSIT),
        ("delivering", "posting_in_courier_service", P.IN_TRANSIT),
        ("delivering", "posting_in_pickup_point", P.OUT_FOR_DELIVERY),
        ("delivering", "posting_conditionally_delivered", P.DELIVERED),
        ("delivered", "posting_delivered", P.DELIVERED),
        ("not_accepted", "posting_not_in_sort_center", None),  # a human looks; nothing moves
        ("arbitration", "posting_in_arbitration", None),
        ("cancelled", "posting_canceled", None),  # cancellation goes through the order
        ("brand_new_status", None, None),
    ],
)
def test_ozon_status_as_parcel_status(
    status: str, substatus: str | None, parcel: ShipmentStatus | None
) -> None:
    assert parcel_status(status, substatus) is parcel


def _posting(status: str, substatus: str | None) -> MarketplaceOrder:
    return MarketplaceOrder(
        channel="ozon",
        external_id="12345678-0001-1",
        external_order_number="12345678-0001",
        external_status=status,
        external_substatus=substatus,
        status_hint=None,
        needs_attention=False,
        ship_by=None,
        created_at=None,
        warehouse_id=None,
        delivery_method=None,
        tracking_number=None,
        currency="RUB",
        lines=(),
    )


def test_parcel_events_are_keyed_by_status_so_push_and_sync_apply_once() -> None:
    first = parcel_event(_posting("delivering", "posting_on_way_to_city"))
    again = parcel_event(_posting("delivering", "posting_on_way_to_city"))
    later = parcel_event(_posting("delivering", "posting_in_pickup_point"))
    assert first is not None and again is not None and later is not None
    assert first.event_id == again.event_id != later.event_id
    assert (first.tracking_number, first.status, later.status) == (
        "12345678-0001-1",
        P.IN_TRANSIT,
        P.OUT_FOR_DELIVERY,
    )
    assert parcel_event(_posting("awaiting_deliver", None)) is None


def _request() -> ShipmentRequest:
    here = Location("Москва", "Москва", "101000", 55.75, 37.61)
    return ShipmentRequest(here, here, (Parcel(500, 200, 150, 100),), 100_00, datetime.now(UTC))


def test_the_marketplace_carrier_is_a_carrier_that_neither_quotes_nor_books() -> None:
    assert isinstance(OZON_FBS, Carrier)
    assert (OZON_FBS.code, OZON_FBS.name, OZON_FBS.service_code) == ("ozon", "Ozon (FBS)", "fbs")
    assert OZON_FBS.quote(_request()) == [] and OZON_FBS.track("12345678-0001-1") == []
    booking = Booking("ozon", "fbs", "12345678-0001-1", "12345678-0001-1", b"", datetime.now(UTC))
    assert OZON_FBS.cancel(booking) is None  # the order.cancelled job cancels the posting on Ozon
    with pytest.raises(CarrierError, match="ship call"):
        OZON_FBS.book(None)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        OZON_FBS.events_from_webhook(b"{}", {})


def test_registry_knows_the_marketplace_carrier_but_never_shops_it() -> None:
    registry = CarrierRegistry()
    assert list(registry) == [] and len(registry) == 0
    assert registry.find("ozon") is OZON_FBS and set(registry.marketplace) == set(MARKETPLACE_CARRIERS)
    with pytest.raises(NotFound, match="marketplace"):
        registry.get("ozon")  # bookings, webhooks and tracking polls address our carriers only
    with pytest.raises(NotFound, match="not configured"):
        registry.find("dhl")
