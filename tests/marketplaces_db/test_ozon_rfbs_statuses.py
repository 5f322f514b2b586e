"""Issue #7, rFBS delivery statuses (SQLite and PostgreSQL, fake Ozon and fake carrier on loopback): an rFBS
posting we deliver with our own carrier is moved on Ozon as the carrier scans it: in transit ->
``delivering``, out for delivery -> ``last-mile``, delivered -> ``delivered`` (``delivering`` first when the
carrier skipped a step; ``delivered`` only once every leg is); a lost answer or a repeated job is not an
error; a refusal is shown in the sync errors; FBS postings (Ozon delivers) never get these calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.factories import set_stock
from tests.fulfilment.helpers import API_KEY, registry_for
from tests.fulfilment.test_end_to_end import CODES
from tests.marketplaces_db.conftest import Ozon, by_type, our_sku
from tests.marketplaces_db.test_ozon_fbs_flow import drain, fake_moves, make_due, pack, pick, sync_later
from zakaz.carriers.fake_server import FakeCarrierSettings, RunningFakeCarrier, running_fake_carrier
from zakaz.db import unit_of_work
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.fulfilment.tracking import poll_tracking_job
from zakaz.marketplaces.models import MarketplacePosting, MarketplaceSyncError
from zakaz.marketplaces.outbound import RFBS_STATUS_TOPIC
from zakaz.marketplaces.ozon.endpoints import E
from zakaz.marketplaces.ozon.fake_server import seed_postings
from zakaz.marketplaces.sync import sync_orders
from zakaz.outbox import add_messages, outbox_row

SETTERS = (E.DELIVERING.path, E.LAST_MILE.path, E.DELIVERED.path)
HANDED, TRANSIT, OUT, DELIVERED = 0, 1, 3, 4  # positions in tests.fulfilment CODES[carrier]


@dataclass
class Carriers:
    """Our three carriers on the fake carrier server (scans added through its control endpoint)."""

    registry: CarrierRegistry
    fake: RunningFakeCarrier
    t: datetime = field(default_factory=lambda: datetime.now(UTC))

    def scan(self, tracking_number: str, code: str) -> None:
        self.t += timedelta(minutes=1)  # after the carrier's own "booking created" event
        self.fake.add_event(tracking_number, code, occurred_at=self.t)


@pytest.fixture
def carriers(app: Any) -> Iterator[Carriers]:
    with running_fake_carrier(FakeCarrierSettings(api_key=API_KEY, webhook_url=None)) as fake:
        registry = registry_for(fake.base_url)
        app.state.carriers = registry
        yield Carriers(registry, fake)


def sync(ozon: Ozon) -> None:
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.errors == 0, report.error_ids


def setter_calls(ozon: Ozon) -> list[str]:
    """The rFBS status calls Ozon received, in order, by their last path segment."""
    return [path.rsplit("/", 1)[1] for path, _ in ozon.state.requests if path in SETTERS]


def outbound_errors(ozon: Ozon) -> list[str]:
    """What the sync errors page shows for outbound calls (refusals of our calls to Ozon)."""
    with unit_of_work(ozon.engine, read_only=True) as s:
        query = select(MarketplaceSyncError.message).where(MarketplaceSyncError.kind == "outbound")
        return list(s.scalars(query))


def ozon_status(ozon: Ozon, number: str) -> tuple[str, str]:
    posting = ozon.state.postings[number]
    return posting["status"], posting["substatus"]


class Parcel:
    """One leg of an rFBS order: labelled with our carrier, scanned by it, polled into our shipment."""

    def __init__(
        self, ozon: Ozon, client: TestClient, carriers: Carriers, shipment: str, warehouse: str
    ) -> None:
        self.ozon, self.client, self.carriers = ozon, client, carriers
        self.shipment, self.warehouse = shipment, warehouse
        r = client.post(f"/api/v1/shipments/{shipment}/label", json={})
        assert r.status_code == 201, r.text
        self.carrier, self.tracking = r.json()["carrier"], r.json()["tracking_number"]

    def hand_over(self) -> None:
        r = self.client.post("/api/v1/manifests", json={"carrier": self.carrier, "warehouse": self.warehouse})
        assert r.status_code == 201, r.text

    def scan(self, which: int) -> None:
        self.carriers.scan(self.tracking, CODES[self.carrier][which])
        poll_tracking_job(self.ozon.engine, registry=self.carriers.registry)
        drain(self.ozon, self.carriers.registry)

    def status(self) -> str:
        return str(self.client.get(f"/api/v1/shipments/{self.shipment}").json()["status"])


def rfbs_order(ozon: Ozon, client: TestClient, carriers: Carriers, *, seed: int = 3) -> tuple[str, Parcel]:
    """A one-leg rFBS posting synced, picked, packed (shipped on Ozon) and labelled with our carrier."""
    [number] = seed_postings(ozon.state, 1, seed=seed, rfbs=True)
    [parcel] = fulfil(ozon, client, carriers, number)
    return number, parcel


def fulfil(ozon: Ozon, client: TestClient, carriers: Carriers, number: str) -> list[Parcel]:
    """Sync the posting; each leg picked, packed and labelled with our carrier (by warehouse code)."""
    sync(ozon)
    order = ozon.order(number)
    r = client.post("/api/v1/shipments", json={"order": order.number})
    assert r.status_code in (200, 201), r.text
    items = client.get("/api/v1/shipments", params={"order": order.number}).json()["items"]
    by_warehouse = {s["warehouse"]: s["number"] for s in items}
    for warehouse in sorted(by_warehouse):
        pack(client, pick(client, warehouse))
    drain(ozon, carriers.registry)  # shipped on Ozon: awaiting_deliver
    parcels = [Parcel(ozon, client, carriers, s, w) for w, s in sorted(by_warehouse.items())]
    drain(ozon, carriers.registry)  # tracking number to Ozon
    assert ozon_status(ozon, number)[0] == "awaiting_deliver"
    return parcels


# ------------------------------------------------------------------------------------------------ tests


def test_carrier_scans_move_the_rfbs_posting_on_ozon(
    ozon: Ozon, client: TestClient, carriers: Carriers
) -> None:
    number, parcel = rfbs_order(ozon, client, carriers)
    assert ozon.state.postings[number]["tracking_number"] == parcel.tracking

    parcel.hand_over()
    parcel.scan(HANDED)
    assert parcel.status() == "handed_over" and setter_calls(ozon) == []  # not scanned by the carrier yet

    parcel.scan(TRANSIT)
    assert parcel.status() == "in_transit"
    assert ozon_status(ozon, number) == ("delivering", "posting_transferred_to_courier_service")

    parcel.scan(OUT)
    assert ozon_status(ozon, number) == ("delivering", "posting_in_courier_service")

    parcel.scan(DELIVERED)
    assert ozon_status(ozon, number) == ("delivering", "posting_conditionally_delivered")
    assert setter_calls(ozon) == ["delivering", "last-mile", "delivered"]
    order = ozon.order(number)
    assert order.status == "delivered"
    sent = by_type(ozon.events(order.id), "marketplace_delivery_status")
    assert [e["status"] for e in sent] == ["delivering", "last_mile", "delivered"]
    assert all(e["posting"] == number for e in sent)
    assert ozon.outbox(RFBS_STATUS_TOPIC) and {m.status for m in ozon.outbox(RFBS_STATUS_TOPIC)} == {"done"}

    sync_later(ozon)  # Ozon's view agrees with ours: nothing moves back, nothing is sent again
    assert ozon.order(number).status == "delivered" and len(setter_calls(ozon)) == 3
    assert outbound_errors(ozon) == []


def test_delivered_without_intermediate_scans_sends_delivering_first(
    ozon: Ozon, client: TestClient, carriers: Carriers
) -> None:
    number, parcel = rfbs_order(ozon, client, carriers)
    parcel.scan(DELIVERED)  # the carrier's only scan: delivered (no hand-over, in-transit, courier scans)
    assert parcel.status() == "delivered"
    assert setter_calls(ozon) == ["delivering", "delivered"]  # Ozon refuses skipping delivering
    assert ozon_status(ozon, number)[1] == "posting_conditionally_delivered"
    assert outbound_errors(ozon) == []


def test_lost_answer_and_repeated_job_are_not_errors(
    ozon: Ozon, client: TestClient, carriers: Carriers, engine: Engine
) -> None:
    registry = carriers.registry
    number, parcel = rfbs_order(ozon, client, carriers)
    ozon.state.lose_setter_responses = 1  # Ozon applies delivering, the answer is a 500
    parcel.scan(TRANSIT)
    assert ozon_status(ozon, number)[0] == "delivering"
    assert setter_calls(ozon) == ["delivering", "delivering"]  # the retry was refused: already there
    assert {m.status for m in ozon.outbox(RFBS_STATUS_TOPIC)} == {"done"}

    # We crashed after Ozon took the call, before storing it: the job runs again from our old status.
    posting_id = ozon.posting(number).id
    with unit_of_work(engine) as s:
        s.execute(
            update(MarketplacePosting)
            .where(MarketplacePosting.id == posting_id)
            .values(external_status="awaiting_deliver", external_substatus="posting_transferring_to_delivery")
        )
        payload = {"posting_id": posting_id, "status": "delivering"}
        add_messages(s, [outbox_row(RFBS_STATUS_TOPIC, "marketplace_posting", posting_id, payload)])
    worker = drain(ozon, registry)
    assert worker.stats.get("dead", 0) == 0
    assert {m.status for m in ozon.outbox(RFBS_STATUS_TOPIC)} == {"done"}
    assert ozon.posting(number).external_status == "delivering"  # Ozon's status re-read and stored
    assert outbound_errors(ozon) == []
    assert outbound_errors(ozon) == []

    parcel.scan(DELIVERED)
    assert setter_calls(ozon)[-1] == "delivered"
    assert ozon_status(ozon, number)[1] == "posting_conditionally_delivered"


def test_refusal_is_shown_in_the_sync_errors(
    ozon: Ozon, client: TestClient, carriers: Carriers, engine: Engine
) -> None:
    number, parcel = rfbs_order(ozon, client, carriers)
    ozon.state.postings[number]["status"] = "arbitration"  # Ozon will refuse delivering from here
    parcel.scan(TRANSIT)
    [message] = ozon.outbox(RFBS_STATUS_TOPIC)
    assert message.status == "dead"
    posting = ozon.posting(number)
    assert posting.needs_attention and "TRANSITION_IS_NOT_POSSIBLE" in (posting.note or "")
    errors = outbound_errors(ozon)
    assert any("rFBS delivering" in e and number in e for e in errors), errors


def _two_product_rfbs(ozon: Ozon) -> str:
    for seed in range(20, 80):
        [number] = seed_postings(ozon.state, 1, seed=seed, rfbs=True)
        if len(ozon.state.postings[number]["products"]) == 2:
            return number
        del ozon.state.postings[number]
    raise AssertionError("no two-product posting")


def test_two_legs_delivered_only_when_both_are(
    ozon: Ozon, client: TestClient, carriers: Carriers, engine: Engine
) -> None:
    number = _two_product_rfbs(ozon)
    first, second = (our_sku(p["offer_id"]) for p in ozon.state.postings[number]["products"])
    set_stock(engine, "MSK", second, 0)  # MSK has only the first article, SPB only the second
    set_stock(engine, "SPB", first, 0)
    msk, spb = fulfil(ozon, client, carriers, number)
    assert (msk.warehouse, spb.warehouse) == ("MSK", "SPB")

    msk.scan(TRANSIT)  # the first leg that leaves
    assert setter_calls(ozon) == ["delivering"]
    spb.scan(TRANSIT)
    assert setter_calls(ozon) == ["delivering"]  # nothing new for the second leg
    msk.scan(DELIVERED)  # one leg at the buyer, the other travelling: last mile, not delivered
    assert setter_calls(ozon) == ["delivering", "last-mile"]
    assert ozon_status(ozon, number)[1] == "posting_in_courier_service"
    spb.scan(DELIVERED)
    assert setter_calls(ozon) == ["delivering", "last-mile", "delivered"]
    assert ozon.order(number).status == "delivered"


def test_fbs_postings_never_get_status_calls(ozon: Ozon, client: TestClient, carriers: Carriers) -> None:
    registry = carriers.registry
    [number] = seed_postings(ozon.state, 1, seed=11)
    sync(ozon)
    pack(client, pick(client, "MSK"))
    drain(ozon, registry)
    ozon.clock.advance(46)
    make_due(ozon.engine)
    drain(ozon, registry)  # Ozon's label on the shipment
    r = client.post("/api/v1/manifests", json={"carrier": "ozon", "warehouse": "MSK"})
    assert r.status_code == 201, r.text
    for status in ("delivering", "delivered"):  # Ozon's logistics moves it; we follow
        assert fake_moves(ozon, number, status).status_code == 200
        sync_later(ozon)
        drain(ozon, registry)
    assert ozon.order(number).status == "delivered"
    assert setter_calls(ozon) == [] and ozon.outbox(RFBS_STATUS_TOPIC) == []
