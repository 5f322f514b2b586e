"""Booking, tracking, cancelling and webhooks through each adapter against the running fake carrier."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import Carrier, CarrierError, ShipmentStatus
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient, InvalidWebhookSignature
from zakaz.carriers.fake_server import RunningFakeCarrier
from zakaz.carriers.tracking_numbers import is_valid_cdek_number, is_valid_courier_number, is_valid_s10

FORMAT_CHECK = {
    "russian_post": is_valid_s10,
    "cdek": is_valid_cdek_number,
    "courier": is_valid_courier_number,
}
# One realistic journey per carrier, in each carrier's raw codes.
JOURNEYS = {
    "russian_post": ["1.1", "8.0", "8.2", "2.1"],
    "cdek": ["RECEIVED_AT_SHIPMENT_WAREHOUSE", "SENT_TO_RECIPIENT_CITY", "TAKEN_BY_COURIER", "DELIVERED"],
    "courier": ["picked_up", "at_hub", "on_route", "delivered"],
}
JOURNEY_STATUSES = [
    ShipmentStatus.LABEL_CREATED,
    ShipmentStatus.HANDED_OVER,
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERED,
]


@pytest.mark.parametrize("code", ["russian_post", "cdek", "courier"])
def test_booking_returns_a_tracking_number_in_the_carriers_format_and_a_label(
    carriers: dict[str, HttpCarrier], code: str, make_booking: Any
) -> None:
    carrier = carriers[code]
    assert isinstance(carrier, Carrier)
    booking = carrier.book(make_booking(code))
    assert FORMAT_CHECK[code](booking.tracking_number)
    assert booking.label.startswith(b"%PDF")
    assert booking.created_at.tzinfo is not None
    assert [e.status for e in carrier.track(booking.tracking_number)] == [ShipmentStatus.LABEL_CREATED]


@pytest.mark.parametrize("code", ["russian_post", "cdek", "courier"])
def test_tracking_normalises_a_full_journey_to_our_statuses(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, code: str, make_booking: Any
) -> None:
    carrier = carriers[code]
    booking = carrier.book(make_booking(code))
    # The carrier reports Moscow wall-clock time; we must store the same instant in UTC.
    start = booking.created_at.astimezone(timezone(timedelta(hours=3)))
    for hours, raw in enumerate(JOURNEYS[code], start=1):
        fake.add_event(booking.tracking_number, raw, occurred_at=start + timedelta(hours=hours))
    events = carrier.track(booking.tracking_number)
    assert [e.status for e in events] == JOURNEY_STATUSES
    assert [e.raw_code for e in events[1:]] == JOURNEYS[code]
    assert events[1].occurred_at == booking.created_at + timedelta(hours=1)
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in events)
    assert len({e.event_id for e in events}) == len(events)


def test_tracking_twice_gives_the_same_event_ids_so_polls_can_be_deduplicated(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, make_booking: Any
) -> None:
    carrier = carriers["cdek"]
    booking = carrier.book(make_booking("cdek"))
    fake.add_event(booking.tracking_number, "RECEIVED_AT_SHIPMENT_WAREHOUSE")
    first, second = carrier.track(booking.tracking_number), carrier.track(booking.tracking_number)
    assert [e.event_id for e in first] == [e.event_id for e in second]


def test_unknown_carrier_codes_are_skipped_not_guessed(
    carriers: dict[str, HttpCarrier],
    fake: RunningFakeCarrier,
    caplog: pytest.LogCaptureFixture,
    make_booking: Any,
) -> None:
    carrier = carriers["cdek"]
    booking = carrier.book(make_booking("cdek"))
    fake.add_event(booking.tracking_number, "SOME_NEW_CDEK_STATUS")
    with caplog.at_level(logging.WARNING):
        events = carrier.track(booking.tracking_number)
    assert [e.status for e in events] == [ShipmentStatus.LABEL_CREATED]
    assert "SOME_NEW_CDEK_STATUS" in caplog.text


def test_retrying_a_booking_with_the_same_idempotency_key_does_not_book_twice(
    carriers: dict[str, HttpCarrier], make_booking: Any
) -> None:
    key = uuid.uuid4().hex
    first = carriers["courier"].book(make_booking("courier", idempotency_key=key))
    again = carriers["courier"].book(make_booking("courier", idempotency_key=key))
    other = carriers["courier"].book(make_booking("courier", idempotency_key=uuid.uuid4().hex))
    assert (again.booking_id, again.tracking_number) == (first.booking_id, first.tracking_number)
    assert other.tracking_number != first.tracking_number


def test_cancelling_before_handover_shows_as_cancelled(
    carriers: dict[str, HttpCarrier], make_booking: Any
) -> None:
    carrier = carriers["russian_post"]
    booking = carrier.book(make_booking("russian_post"))
    carrier.cancel(booking)
    carrier.cancel(booking)  # a retried cancel is harmless
    assert [e.status for e in carrier.track(booking.tracking_number)] == [
        ShipmentStatus.LABEL_CREATED,
        ShipmentStatus.CANCELLED,
    ]


def test_cancelling_after_handover_is_refused_with_the_carriers_reason(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, make_booking: Any
) -> None:
    carrier = carriers["cdek"]
    booking = carrier.book(make_booking("cdek"))
    fake.add_event(booking.tracking_number, "RECEIVED_AT_SHIPMENT_WAREHOUSE")
    with pytest.raises(CarrierError, match=r"HTTP 409.*can no longer be cancelled") as caught:
        carrier.cancel(booking)
    assert caught.value.extra["status"] == 409


def test_a_wrong_api_key_is_reported_as_a_carrier_error(fake: RunningFakeCarrier, make_booking: Any) -> None:
    with (
        CarrierApiClient(fake.base_url, "wrong-key") as client,
        pytest.raises(CarrierError, match="HTTP 401") as caught,
    ):
        CdekCarrier(client).book(make_booking("cdek"))
    assert caught.value.extra["status"] == 401


def test_unknown_tracking_numbers_and_services_are_reported(
    carriers: dict[str, HttpCarrier], make_booking: Any
) -> None:
    with pytest.raises(CarrierError, match="HTTP 404"):
        carriers["cdek"].track("1999999999")
    with pytest.raises(CarrierError, match="no service 'teleport'"):
        carriers["cdek"].book(replace(make_booking("cdek"), service_code="teleport"))


def test_an_unreachable_carrier_is_a_carrier_error_not_a_crash() -> None:
    with (
        CarrierApiClient("http://127.0.0.1:9", "key", timeout_s=2) as client,
        pytest.raises(CarrierError, match="failed"),
    ):
        CdekCarrier(client).track("1100285492")


def _wait_for(receiver: Any, count: int) -> list[tuple[dict[str, str], bytes]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with receiver.lock:
            if len(receiver.received) >= count:
                return list(receiver.received)
        time.sleep(0.01)
    raise AssertionError(f"expected {count} webhooks, got {len(receiver.received)}")


def test_signed_webhooks_carry_the_same_events_as_tracking(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, webhook_receiver: Any, make_booking: Any
) -> None:
    carrier = carriers["russian_post"]
    booking = carrier.book(make_booking("russian_post"))
    before = len(webhook_receiver.received)
    fake.add_event(booking.tracking_number, "1.1")
    headers, body = _wait_for(webhook_receiver, before + 1)[-1]
    events = carrier.events_from_webhook(body, headers)
    assert [(e.tracking_number, e.status) for e in events] == [
        (booking.tracking_number, ShipmentStatus.HANDED_OVER)
    ]
    assert events[0].event_id in {e.event_id for e in carrier.track(booking.tracking_number)}


def test_tampered_or_stale_webhooks_are_rejected(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, webhook_receiver: Any, make_booking: Any
) -> None:
    carrier = carriers["cdek"]
    booking = carrier.book(make_booking("cdek"))
    before = len(webhook_receiver.received)
    fake.add_event(booking.tracking_number, "DELIVERED")
    headers, body = _wait_for(webhook_receiver, before + 1)[-1]
    forged = json.loads(body)
    forged["events"][0]["code"] = "NOT_DELIVERED"
    with pytest.raises(InvalidWebhookSignature, match="does not match"):
        carrier.events_from_webhook(json.dumps(forged).encode(), headers)
    with pytest.raises(InvalidWebhookSignature, match="outside"):
        carrier.events_from_webhook(body, headers, now=time.time() + 3600)
    settings = fake.state.settings
    unsigned = CdekCarrier(CarrierApiClient(fake.base_url, settings.api_key), webhook_secret="other-secret")
    with pytest.raises(InvalidWebhookSignature):
        unsigned.events_from_webhook(body, headers)


def test_failed_webhook_deliveries_are_retried(
    carriers: dict[str, HttpCarrier], fake: RunningFakeCarrier, webhook_receiver: Any, make_booking: Any
) -> None:
    carrier = carriers["courier"]
    booking = carrier.book(make_booking("courier"))
    webhook_receiver.fail_next = 1
    event = fake.add_event(booking.tracking_number, "picked_up")
    deliveries = httpx.get(f"{fake.base_url}/_fake/webhook-deliveries").json()
    attempts = [(d["attempt"], d["status"]) for d in deliveries if d["event_id"] == event["event_id"]]
    assert attempts == [(1, 500), (2, 204)]
