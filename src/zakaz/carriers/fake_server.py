"""A local fake carrier speaking the booking/tracking contract in docs/carrier-fake-contract.md.

``create_app()`` builds the FastAPI app over in-memory state; ``running_fake_carrier()`` serves it with
uvicorn on a free loopback port in a background thread. The fake assigns tracking numbers in each
carrier's real format and emits each carrier's raw status codes, so the adapters' validation and mapping
are exercised.
Test-only control endpoints under ``/_fake`` add tracking events and show webhook deliveries.

This module is test support: it is the only part of ``zakaz.carriers`` that imports a web framework.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from zakaz.carriers.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook
from zakaz.carriers.tracking_numbers import generate_cdek_number, generate_courier_number, generate_s10

CARRIER_TZ = timezone(timedelta(hours=3))  # the fake reports local Moscow time, as Russian carriers do


@dataclass(frozen=True, slots=True)
class CarrierProfile:
    """How one carrier numbers bookings and which raw codes mean created / cancelled."""

    new_number: Callable[[str], str]
    created_code: str
    cancelled_code: str


PROFILES: dict[str, CarrierProfile] = {
    "russian_post": CarrierProfile(
        lambda service: generate_s10("EE" if service == "ems" else "RA"), "0.0", "0.9"
    ),
    "cdek": CarrierProfile(lambda _service: generate_cdek_number(), "CREATED", "REMOVED"),
    "courier": CarrierProfile(lambda _service: generate_courier_number(), "created", "cancelled"),
}


@dataclass
class FakeCarrierSettings:
    api_key: str = "fake-api-key"
    webhook_url: str | None = None
    webhook_secret: str = "fake-webhook-secret"
    max_parcel_weight_g: int = 31_500
    webhook_attempts: int = 3


@dataclass
class FakeBooking:
    booking_id: str
    carrier: str
    tracking_number: str
    payload: dict[str, Any]
    created_at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeCarrierState:
    settings: FakeCarrierSettings
    bookings: dict[str, FakeBooking] = field(default_factory=dict)
    by_tracking: dict[str, str] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    webhook_deliveries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PartyIn(BaseModel):
    name: str = Field(min_length=1)
    phone: str
    address: str
    city: str
    region: str
    postcode: str
    country: str = "RU"


class ParcelIn(BaseModel):
    weight_g: int = Field(gt=0)
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)


class BookingIn(BaseModel):
    carrier: str
    service_code: str
    order_number: str
    sender: PartyIn
    recipient: PartyIn
    parcels: list[ParcelIn] = Field(min_length=1)
    declared_value_minor: int = Field(ge=0)
    ready_at: datetime


class EventIn(BaseModel):
    code: str
    occurred_at: datetime | None = None
    description: str = ""
    location: str = ""


def _local_now() -> datetime:
    return datetime.now(CARRIER_TZ).replace(microsecond=0)


def _booking_out(booking: FakeBooking) -> dict[str, Any]:
    return {
        "booking_id": booking.booking_id,
        "tracking_number": booking.tracking_number,
        "status": booking.events[-1]["code"],
        "created_at": booking.created_at.isoformat(),
    }


def _deliver_webhook(state: FakeCarrierState, booking: FakeBooking, event: dict[str, Any]) -> None:
    settings = state.settings
    if not settings.webhook_url:
        return
    body = json.dumps(
        {
            "type": "tracking.updated",
            "booking_id": booking.booking_id,
            "tracking_number": booking.tracking_number,
            "events": [event],
        },
        ensure_ascii=False,
    ).encode()
    for attempt in range(1, settings.webhook_attempts + 1):
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_webhook(settings.webhook_secret, timestamp, body),
        }
        try:
            status = httpx.post(settings.webhook_url, content=body, headers=headers, timeout=5).status_code
        except httpx.HTTPError:
            status = 0
        with state.lock:
            state.webhook_deliveries.append(
                {"event_id": event["event_id"], "attempt": attempt, "status": status}
            )
        if 200 <= status < 300:
            return
        time.sleep(0.05 * attempt)


def _add_event(state: FakeCarrierState, booking: FakeBooking, event_in: EventIn) -> dict[str, Any]:
    occurred_at = event_in.occurred_at or _local_now()
    event = {
        "event_id": uuid.uuid4().hex,
        "code": event_in.code,
        "occurred_at": occurred_at.isoformat(),
        "description": event_in.description,
        "location": event_in.location,
    }
    with state.lock:
        booking.events.append(event)
    _deliver_webhook(state, booking, event)
    return event


def create_app(settings: FakeCarrierSettings | None = None) -> FastAPI:
    state = FakeCarrierState(settings or FakeCarrierSettings())
    app = FastAPI(title="Zakaz fake carrier", version="1")
    app.state.fake = state

    def authorised(authorization: Annotated[str, Header()] = "") -> None:
        if authorization != f"Bearer {state.settings.api_key}":
            raise HTTPException(401, "missing or wrong API key")

    def find_booking(booking_id: str) -> FakeBooking:
        booking = state.bookings.get(booking_id)
        if booking is None:
            raise HTTPException(404, f"no booking {booking_id}")
        return booking

    def find_tracking(number: str) -> FakeBooking:
        booking_id = state.by_tracking.get(number.upper())
        if booking_id is None:
            raise HTTPException(404, f"unknown tracking number {number}")
        return state.bookings[booking_id]

    auth = [Depends(authorised)]

    @app.post("/v1/bookings", status_code=201, dependencies=auth)
    def create_booking(body: BookingIn, idempotency_key: Annotated[str, Header()] = "") -> dict[str, Any]:
        profile = PROFILES.get(body.carrier)
        if profile is None:
            raise HTTPException(422, f"unknown carrier {body.carrier}")
        heaviest = max(p.weight_g for p in body.parcels)
        if heaviest > state.settings.max_parcel_weight_g:
            raise HTTPException(422, f"parcel of {heaviest} g exceeds {state.settings.max_parcel_weight_g} g")
        with state.lock:
            if idempotency_key and idempotency_key in state.idempotency:
                return _booking_out(state.bookings[state.idempotency[idempotency_key]])
            booking = FakeBooking(
                booking_id=uuid.uuid4().hex,
                carrier=body.carrier,
                tracking_number=profile.new_number(body.service_code),
                payload=body.model_dump(mode="json"),
                created_at=_local_now(),
            )
            state.bookings[booking.booking_id] = booking
            state.by_tracking[booking.tracking_number] = booking.booking_id
            if idempotency_key:
                state.idempotency[idempotency_key] = booking.booking_id
        _add_event(state, booking, EventIn(code=profile.created_code, description="booking created"))
        return _booking_out(booking)

    @app.get("/v1/tracking/{number}", dependencies=auth)
    def tracking(number: str) -> dict[str, Any]:
        booking = find_tracking(number)
        with state.lock:
            events = list(booking.events)
        return {"tracking_number": booking.tracking_number, "events": events}

    @app.post("/v1/bookings/{booking_id}/cancel", dependencies=auth)
    def cancel(booking_id: str) -> dict[str, Any]:
        booking = find_booking(booking_id)
        profile = PROFILES[booking.carrier]
        last = booking.events[-1]["code"]
        if last == profile.created_code:
            _add_event(state, booking, EventIn(code=profile.cancelled_code, description="booking cancelled"))
        elif last != profile.cancelled_code:
            raise HTTPException(409, f"booking {booking_id} is past {last} and can no longer be cancelled")
        return _booking_out(booking)

    @app.post("/_fake/tracking/{number}/events", status_code=201)
    def add_event(number: str, body: EventIn) -> dict[str, Any]:
        return _add_event(state, find_tracking(number), body)

    @app.get("/_fake/webhook-deliveries")
    def deliveries() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.webhook_deliveries)

    return app


@dataclass
class RunningFakeCarrier:
    base_url: str
    app: FastAPI

    @property
    def state(self) -> FakeCarrierState:
        state: FakeCarrierState = self.app.state.fake
        return state

    def add_event(
        self, tracking_number: str, code: str, occurred_at: datetime | None = None
    ) -> dict[str, Any]:
        """Simulate a carrier scan (and its webhook) through the control endpoint."""
        body: dict[str, Any] = {"code": code}
        if occurred_at is not None:
            body["occurred_at"] = occurred_at.isoformat()
        response = httpx.post(
            f"{self.base_url}/_fake/tracking/{tracking_number}/events", json=body, timeout=10
        )
        response.raise_for_status()
        event: dict[str, Any] = response.json()
        return event


@contextmanager
def running_fake_carrier(settings: FakeCarrierSettings | None = None) -> Iterator[RunningFakeCarrier]:
    """Serve a fresh fake carrier on 127.0.0.1 (free port) for the duration of the ``with`` block."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fake carrier server did not start")
        time.sleep(0.01)
    try:
        yield RunningFakeCarrier(base_url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
