"""A running fake carrier, a webhook receiver and the three carrier adapters pointed at the fake."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import BookingRequest, Contact, Location, Parcel, ShipmentRequest
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.courier import CourierCarrier
from zakaz.carriers.fake_server import FakeCarrierSettings, RunningFakeCarrier, running_fake_carrier
from zakaz.carriers.russian_post import RussianPostCarrier
from zakaz.carriers.tariffs import MSK

API_KEY = "test-api-key"
WEBHOOK_SECRET = "test-webhook-secret"


@dataclass
class WebhookReceiver:
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests first, to exercise retries
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                else:
                    receiver.received.append((dict(self.headers.items()), body))
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/carrier"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake(webhook_receiver: WebhookReceiver) -> Iterator[RunningFakeCarrier]:
    settings = FakeCarrierSettings(
        api_key=API_KEY, webhook_url=webhook_receiver.url, webhook_secret=WEBHOOK_SECRET
    )
    with running_fake_carrier(settings) as server:
        yield server


@pytest.fixture(scope="module")
def carriers(fake: RunningFakeCarrier) -> Iterator[dict[str, HttpCarrier]]:
    client = CarrierApiClient(fake.base_url, API_KEY)
    yield {
        "russian_post": RussianPostCarrier(client, webhook_secret=WEBHOOK_SECRET),
        "cdek": CdekCarrier(client, webhook_secret=WEBHOOK_SECRET),
        "courier": CourierCarrier(client, webhook_secret=WEBHOOK_SECRET),
    }
    client.close()


MOSCOW = Location("Москва", "Москва", "101000", lat=55.7558, lon=37.6173)
KAZAN = Location("Казань", "Республика Татарстан", "420111", lat=55.7963, lon=49.1088)
SENDER = Contact("ООО «Заказ», склад №1", "+7 495 000-00-00", "ул. Складская, д. 1", MOSCOW)
RECIPIENT = Contact("Иванова Мария Петровна", "+7 916 123-45-67", "ул. Баумана, д. 10, кв. 5", KAZAN)
SERVICE_BY_CARRIER = {"russian_post": "parcel", "cdek": "137", "courier": "next_day"}


def _booking_request(
    carrier_code: str,
    *,
    order_number: str = "Z-1001",
    recipient: Contact = RECIPIENT,
    idempotency_key: str = "",
) -> BookingRequest:
    shipment = ShipmentRequest(
        origin=MOSCOW,
        destination=recipient.location,
        parcels=(Parcel(1250, 300, 200, 100),),
        declared_value_minor=350_000,
        ready_at=datetime(2025, 6, 4, 10, 0, tzinfo=MSK),
    )
    return BookingRequest(
        shipment=shipment,
        service_code=SERVICE_BY_CARRIER[carrier_code],
        order_number=order_number,
        sender=SENDER,
        recipient=recipient,
        idempotency_key=idempotency_key,
    )


@pytest.fixture
def make_booking() -> Callable[..., BookingRequest]:
    """``make_booking(carrier_code, order_number=..., recipient=..., idempotency_key=...)``."""
    return _booking_request
