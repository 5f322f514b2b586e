"""Return labels booked through the carrier adapters against the fake carrier over HTTP (issue #6), on
SQLite and PostgreSQL: booking by the outbox job, download (API, back office, shopper), no double booking on
retries, re-issue, carrier refusal, marketplace orders, and carrier tracking of the return parcel."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.fulfilment.helpers import API_KEY, SECRET, pdf_barcodes, pdf_text, registry_for
from tests.returns.helpers import delivered_order, setup
from tests.web.conftest import WebClient, as_role, password_hash, web, web_users  # noqa: F401  fixtures
from zakaz.carriers.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook
from zakaz.carriers.fake_server import FakeCarrierSettings, RunningFakeCarrier, running_fake_carrier
from zakaz.carriers.tracking_numbers import is_valid_cdek_number
from zakaz.cli.worker_cmd import add_returns_work
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.fulfilment.config import FulfilmentSettings
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.fulfilment.tracking import poll_tracking_job
from zakaz.notifications import links
from zakaz.notifications.models import Delivery
from zakaz.notifications.planner import plan_shopper
from zakaz.notifications.settings import get_notify_settings
from zakaz.outbox import OutboxMessage
from zakaz.returns import labels
from zakaz.returns import tracking as return_tracking
from zakaz.returns.models import ReturnEvent, ReturnRequest
from zakaz.worker.runner import Worker
from zakaz.worker.settings import WorkerSettings
from zakaz.worker.types import Message


@contextmanager
def carrier(app: Any, **settings: Any) -> Iterator[tuple[RunningFakeCarrier, CarrierRegistry]]:
    """A fresh fake carrier on loopback for the return leg (the outbound one has stopped by then)."""
    with running_fake_carrier(
        FakeCarrierSettings(api_key=API_KEY, webhook_secret=SECRET, **settings)
    ) as fake:
        registry = registry_for(fake.base_url)
        app.state.carriers = registry
        yield fake, registry


def drain(engine: Engine, registry: CarrierRegistry) -> Worker:
    """Run the outbox with the returns handlers (label booking, voiding) until nothing is due."""
    handlers: dict[str, list[Any]] = {}
    add_returns_work(handlers, [], registry=registry)
    worker = Worker(engine, handlers, settings=WorkerSettings(batch_size=20, backoff_base_seconds=0.01))
    for _ in range(10):
        if not worker.run_once():
            break
    return worker


def open_return(client: TestClient, order: dict[str, Any], reason: str = "defective", **extra: Any) -> str:
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": reason, **extra},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["rma"])


def events(engine: Engine, rma: str) -> list[ReturnEvent]:
    with unit_of_work(engine, read_only=True) as s:
        found = list(
            s.scalars(
                select(ReturnEvent)
                .join(ReturnRequest, ReturnRequest.id == ReturnEvent.return_id)
                .where(ReturnRequest.number == rma)
                .order_by(ReturnEvent.id)
            )
        )
        s.expunge_all()
        return found


def bookings(fake: RunningFakeCarrier) -> list[Any]:
    return list(fake.state.bookings.values())


def test_approved_return_gets_a_label_booked_once_and_downloadable(
    client: TestClient,
    engine: Engine,
    app: Any,
    as_role: Callable[[str], WebClient],  # noqa: F811
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1), ("SKU-B", 2)])
    with carrier(app) as (fake, registry):
        rma = open_return(client, order)  # defective: approved at once
        detail = client.get(f"/api/v1/returns/{rma}").json()
        assert detail["status"] == "approved" and rma in detail["instructions"], (
            "instructions stand meanwhile"
        )
        assert detail["label"]["status"] == "pending" and detail["label"]["carrier"] == "cdek"
        assert client.get(f"/api/v1/returns/{rma}/label").status_code == 404
        with unit_of_work(engine, read_only=True) as s:
            approved = s.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.topic == "return.approved")
            ).one()
        assert approved["label"] is True, "the approved message links to the label"

        drain(engine, registry)
        detail = client.get(f"/api/v1/returns/{rma}").json()
        label = detail["label"]
        assert label["status"] == "ready" and is_valid_cdek_number(label["tracking_number"]), label
        [booking] = bookings(fake)
        sent = booking.payload
        assert sent["order_number"] == rma and booking.tracking_number == label["tracking_number"]
        assert sent["sender"]["name"] == "Иван Петров" and sent["sender"]["city"] == "Москва"
        assert detail["warehouse"] == "MSK" and sent["recipient"]["name"] == "Zakaz · Склад Москва"
        assert sent["parcels"][0]["weight_g"] > 900, "the returned kettle plus the box"
        assert [e.type for e in events(engine, rma)][-1] == "label_created"

        r = client.get(f"/api/v1/returns/{rma}/label")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        text = pdf_text(r.content)
        assert "ВОЗВРАТ / RETURN" in text and rma in text and order["number"] in text
        assert pdf_barcodes(r.content) >= {label["tracking_number"], rma}, (
            "Code128 of tracking number and RMA"
        )

        # Retries book nothing new: the message again, the button, a crash between booking and storing.
        assert (
            labels.label_job(
                engine,
                {"return_id": detail_id(engine, rma), "attempt": 1},
                attempts=2,
                registry=registry,
                fulfilment=FulfilmentSettings(),
            )
            == "nothing"
        )
        assert client.post(f"/api/v1/returns/{rma}/label", json={}).status_code == 200
        assert len(bookings(fake)) == 1

        # Back office: the label is shown and downloadable; re-issuing voids the old booking.
        web = as_role("operator")
        page = web.get(f"/returns/{rma}")
        assert label["tracking_number"] in page.text and 'id="label-download"' in page.text
        assert web.get(f"/returns/{rma}/label.pdf").content.startswith(b"%PDF")
        assert web.submit(f"/returns/{rma}/label", {"reissue": "1"}).status_code == 303
        drain(engine, registry)
        new = client.get(f"/api/v1/returns/{rma}").json()["label"]
        assert new["status"] == "ready" and new["tracking_number"] != label["tracking_number"]
        old = fake.state.bookings[booking.booking_id]
        assert old.events[-1]["code"] == "REMOVED", "the replaced booking was cancelled with the carrier"
        assert len(bookings(fake)) == 2


def detail_id(engine: Engine, rma: str) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return int(s.scalars(select(ReturnRequest.id).where(ReturnRequest.number == rma)).one())


def test_a_crash_after_booking_does_not_book_twice(client: TestClient, engine: Engine, app: Any) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)])
    with carrier(app) as (fake, registry):
        rma = open_return(client, order)
        return_id = detail_id(engine, rma)
        # The first try booked with the carrier, then died before its transaction committed.
        prepared = run_in_transaction(
            engine,
            lambda s: labels.prepare_label(
                s, return_id, 1, registry=registry, fulfilment=FulfilmentSettings()
            ),
        )
        assert prepared is not None
        first, _pdf = labels.book_label(registry, prepared)
        assert client.get(f"/api/v1/returns/{rma}").json()["label"]["status"] == "pending"
        # The outbox message is retried (same idempotency key): the carrier answers with the same booking.
        drain(engine, registry)
        label = client.get(f"/api/v1/returns/{rma}").json()["label"]
        assert label["tracking_number"] == first.tracking_number and len(bookings(fake)) == 1
        # An operator pressing "book now" while a booking is pending shares the key too.
        assert client.post(f"/api/v1/returns/{rma}/label", json={}).status_code == 200
        assert len(bookings(fake)) == 1


def test_carrier_refusal_keeps_the_instructions_and_is_visible(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)])
    with carrier(app, max_parcel_weight_g=500) as (fake, registry):  # the kettle is heavier: 422
        rma = open_return(client, order)
        drain(engine, registry)
        detail = client.get(f"/api/v1/returns/{rma}").json()
        assert detail["status"] == "approved" and rma in detail["instructions"]
        assert detail["label"]["status"] == "failed" and "exceeds" in detail["label"]["error"]
        failed = [e for e in events(engine, rma) if e.type == "label_failed"]
        assert len(failed) == 1 and failed[0].note and "422" in failed[0].note
        r = client.get(f"/api/v1/returns/{rma}/label")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"

        r = client.post(f"/api/v1/returns/{rma}/label", json={})  # the operator tries again: refused again
        # the carrier's refusal as problem JSON (its 422 passed on), never a 500
        assert r.status_code == 422 and r.json()["type"] == "/problems/carrier-error", r.text
        assert "exceeds" in r.json()["detail"]
        assert client.get(f"/api/v1/returns/{rma}").json()["status"] == "approved"

        fake.state.settings.max_parcel_weight_g = 31_500  # the carrier takes it now
        r = client.post(f"/api/v1/returns/{rma}/label", json={}, headers={"Idempotency-Key": "label-1"})
        assert r.status_code == 201 and r.json()["label"]["status"] == "ready", r.text
        again = client.post(f"/api/v1/returns/{rma}/label", json={}, headers={"Idempotency-Key": "label-1"})
        assert again.headers.get("Idempotent-Replayed") == "true" and len(bookings(fake)) == 1


def test_marketplace_orders_get_instructions_only(client: TestClient, engine: Engine, app: Any) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)], channel="ozon", external_id="58544282-0057-1")
    with carrier(app) as (fake, registry):
        rma = open_return(client, order)
        detail = client.get(f"/api/v1/returns/{rma}").json()
        assert detail["status"] == "approved" and detail["instructions"] and detail["label"]["status"] is None
        assert detail["label"]["possible"] is False, "the back office offers no label button either"
        r = client.post(f"/api/v1/returns/{rma}/label", json={})
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        drain(engine, registry)
        assert bookings(fake) == []


def _webhook(client: TestClient, tracking_number: str, code: str, event_id: str, at: datetime) -> Any:
    body = json.dumps(
        {
            "type": "tracking.updated",
            "tracking_number": tracking_number,
            "events": [{"event_id": event_id, "code": code, "occurred_at": at.isoformat()}],
        }
    ).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_webhook(SECRET, stamp, body),
    }
    r = client.post("/api/v1/carriers/cdek/tracking", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_carrier_scans_move_the_return_in_transit_and_mark_it_arrived(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)])
    with carrier(app) as (fake, registry):
        rma = open_return(client, order)
        drain(engine, registry)
        number = client.get(f"/api/v1/returns/{rma}").json()["label"]["tracking_number"]

        # The shopper hands the parcel in: the poll (fulfilment's mechanism) sees the first scan.
        t0 = datetime.now(UTC) + timedelta(seconds=1)
        fake.add_event(number, "RECEIVED_AT_SHIPMENT_WAREHOUSE", t0)
        poll = poll_tracking_job(
            engine,
            registry=registry,
            due=return_tracking.due_for_polling,
            apply_with=return_tracking.apply_scans,
        )
        assert poll.applied == 1, poll.as_json()
        detail = client.get(f"/api/v1/returns/{rma}").json()
        assert detail["status"] == "in_transit" and detail["arrived_at"] is None

        # The delivery to our warehouse comes by the signed webhook: arrived, receiving stays ours.
        result = _webhook(client, number, "DELIVERED", "evt-delivered", t0 + timedelta(minutes=5))
        assert result["applied"] == 1
        assert (
            _webhook(client, number, "DELIVERED", "evt-delivered", t0 + timedelta(minutes=5))["duplicates"]
            == 1
        )
        late = _webhook(client, number, "SENT_TO_RECIPIENT_CITY", "evt-late", t0 + timedelta(minutes=1))
        assert late["late"] == 1
        detail = client.get(f"/api/v1/returns/{rma}").json()
        assert detail["status"] == "in_transit" and detail["arrived_at"], (
            "counting is still the warehouse's job"
        )
        queue = client.get("/api/v1/returns").json()["items"]
        assert [item["arrived"] for item in queue if item["rma"] == rma] == [True]
        types = [e.type for e in events(engine, rma)]
        assert types.count("in_transit") == 1 and types.count("arrived") == 1
        with unit_of_work(engine, read_only=True) as s:  # arrived parcels are no longer polled
            assert return_tracking.due_for_polling(s, limit=10) == []

        assert client.post(f"/api/v1/returns/{rma}/receive", json={}).json()["status"] == "received"
        # Outbound shipments still get their scans through the same webhook.
        assert _webhook(client, "1234567890", "DELIVERED", "evt-other", t0)["unknown"] == 1


def test_shopper_downloads_the_label_from_the_tracking_page(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)])
    token = links.tracking_token(order["id"], links.secret_of(get_notify_settings()))
    with carrier(app) as (_fake, registry):
        page = client.post(f"/track/{token}/return?lang=en", data={"qty_1": "1", "reason": "defective"})
        assert page.status_code == 201 and 'id="label-pending"' in page.text
        rma = client.get("/api/v1/returns").json()["items"][0]["rma"]
        early = client.get(f"/track/{token}/returns/{rma}/label.pdf", follow_redirects=False)
        assert early.status_code == 303, "not booked yet: the return's status page"
        drain(engine, registry)
        page = client.get(f"/track/{token}/return?lang=en")
        assert "Download the shipping label" in page.text and f"/returns/{rma}/label.pdf" in page.text
        pdf = client.get(f"/track/{token}/returns/{rma}/label.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and rma in pdf_text(pdf.content)
        forged = links.tracking_token(order["id"], "another secret")
        assert client.get(f"/track/{forged}/returns/{rma}/label.pdf").status_code == 404

    # The "approved" e-mail carries the label link (the tracking page's route above).
    with unit_of_work(engine) as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "return.approved")).one()
        message = Message(row.id, row.topic, row.aggregate_type, row.aggregate_id, row.payload, 1)
        assert plan_shopper(s, message, settings=get_notify_settings()) >= 1
        bodies = s.scalars(select(Delivery.body_text).where(Delivery.topic == "return.approved")).all()
    assert any(f"/returns/{rma}/label.pdf" in (b or "") for b in bodies), bodies


def test_worker_runs_label_jobs_and_polls_return_parcels() -> None:
    handlers: dict[str, list[Any]] = {"return.approved": []}
    jobs: list[Any] = []
    add_returns_work(handlers, jobs, registry=registry_for("http://127.0.0.1:9"))
    assert len(handlers[labels.LABEL_TOPIC]) == 1 and len(handlers[labels.VOID_TOPIC]) == 1
    assert handlers["return.approved"] == [], "existing handlers are left alone"
    assert [job.name for job in jobs] == ["returns.poll_tracking"]
