"""Ozon returns into after-sales (issue #6 with #7), pulled from the fake Ozon over HTTP, on SQLite and
PostgreSQL: RMAs on the imported orders, idempotent re-pulls, forward-only status, cancellations back to
stock without refund, marketplace refunds recorded only, unknown postings/articles kept visible."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories import add_product, order_payload, set_stock
from tests.marketplaces_db.conftest import Ozon, our_sku
from tests.web.conftest import WebClient, as_role, password_hash, web, web_users  # noqa: F401  fixtures
from zakaz.db import unit_of_work
from zakaz.marketplaces.mappings import put_product_mapping
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.ozon.fake_state import add_return, seed_postings, set_return_status
from zakaz.marketplaces.returns import ReturnsReport, pull_returns
from zakaz.marketplaces.sync import sync_orders
from zakaz.notifications.planner import plan_shopper
from zakaz.notifications.settings import get_notify_settings
from zakaz.outbox import OutboxMessage
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.models import ReturnEvent, ReturnLine, ReturnRequest
from zakaz.returns.payments import FakeProvider
from zakaz.worker.types import Message

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "ozon" / "examples"


def pull(ozon: Ozon) -> ReturnsReport:
    report = pull_returns(
        ozon.engine,
        ozon.connection_id,
        settings=ozon.settings,
        factory=ozon.factory,
        returns_settings=ReturnsSettings(),
    )
    assert report.failed is None, report.failed
    return report


def imported_posting(ozon: Ozon) -> tuple[str, dict[str, Any]]:
    """One FBS posting of the fake, imported as our order; its first product."""
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    return number, ozon.state.postings[number]["products"][0]


def rmas(engine: Engine) -> list[ReturnRequest]:
    with unit_of_work(engine, read_only=True) as s:
        found = list(s.scalars(select(ReturnRequest).order_by(ReturnRequest.id)))
        s.expunge_all()
        return found


def written(engine: Engine) -> tuple[int, int]:
    """(return events, outbox messages): re-pulling the same data must not add to either."""
    with unit_of_work(engine, read_only=True) as s:
        return (
            int(s.scalar(select(func.count()).select_from(ReturnEvent)) or 0),
            int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
        )


def test_ozon_return_becomes_an_rma_and_only_moves_forward(ozon: Ozon, client: TestClient, app: Any) -> None:
    number, product = imported_posting(ozon)
    order = ozon.order(number)
    rid = add_return(
        ozon.state,
        posting_number=number,
        offer_id=product["offer_id"],
        quantity=1,
        kind="ClientReturn",
        status="MovingToSeller",
        reason="Товар с браком: не включается",
    )
    report = pull(ozon)
    assert (report.linked.created, report.linked.problems) == (1, 0)
    [ret] = rmas(ozon.engine)
    assert ret.number.startswith("RMA-") and ret.source == "ozon" and ret.kind == "return"
    assert ret.order_id == order.id and ret.status == "in_transit", "Ozon is sending it back to us"
    assert ret.reason == "defective" and "Товар с браком" in ret.comment
    assert "Ozon" in ret.instructions and ret.label_status is None, "the marketplace runs the return"
    with unit_of_work(ozon.engine, read_only=True) as s:
        [line] = s.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id)).all()
        assert (line.sku, line.quantity) == (our_sku(product["offer_id"]), 1)
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.topic.like("return.%"))).all()
        assert [m.topic for m in messages] == ["return.requested", "return.approved", "return.in_transit"]
        assert all(m.payload["marketplace"] == "ozon" for m in messages)
        m = messages[1]
        message = Message(m.id, m.topic, m.aggregate_type, m.aggregate_id, m.payload, 1)
        assert plan_shopper(s, message, settings=get_notify_settings()) == 0, "Ozon talks to its buyer"

    # The same data again changes nothing.
    before = written(ozon.engine)
    again = pull(ozon)
    assert (again.linked.created, again.linked.moved) == (0, 0)
    assert written(ozon.engine) == before and len(rmas(ozon.engine)) == 1

    # Ozon hands the parcel to us: received, ready for inspection.
    set_return_status(ozon.state, rid, "ReceivedBySeller")
    assert pull(ozon).linked.moved == 1
    [ret] = rmas(ozon.engine)
    assert ret.status == "received" and ret.received_at is not None and ret.warehouse_id is not None

    # A status from earlier in Ozon's flow never moves it back.
    set_return_status(ozon.state, rid, "MovingToSeller")
    pull(ozon)
    assert rmas(ozon.engine)[0].status == "received"
    detail = client.get(f"/api/v1/returns/{ret.number}").json()
    assert detail["marketplace"]["return_id"] == rid and detail["marketplace"]["posting"] == number
    assert "never backwards" in detail["events"][-1]["note"]

    # Inspection, then the refund is recorded for the marketplace: we pay nothing.
    provider = FakeProvider()
    app.state.payments = provider
    r = client.post(
        f"/api/v1/returns/{ret.number}/inspect", json={"lines": [{"line_no": 1, "condition": "opened"}]}
    )
    assert r.status_code == 200 and r.json()["lines"][0]["restocked"] == 1, r.text
    r = client.post(f"/api/v1/returns/{ret.number}/refund", json={})
    assert r.status_code == 201 and r.json()["status"] == "refunded", r.text
    [refund] = r.json()["refunds"]
    assert (refund["provider"], refund["status"]) == ("marketplace", "recorded")
    assert provider.calls == 0


def test_cancellation_comes_back_to_stock_without_refund(ozon: Ozon, client: TestClient) -> None:
    number, product = imported_posting(ozon)
    add_return(
        ozon.state,
        posting_number=number,
        offer_id=product["offer_id"],
        quantity=1,
        kind="Cancellation",
        status="ReceivedBySeller",
        reason="Отмена покупателем до получения",
    )
    pull(ozon)
    [ret] = rmas(ozon.engine)
    assert (ret.kind, ret.status) == ("cancellation", "received")
    r = client.post(
        f"/api/v1/returns/{ret.number}/inspect", json={"lines": [{"line_no": 1, "condition": "unopened"}]}
    )
    assert r.json()["lines"][0]["restocked"] == 1, "the goods are back in stock"
    r = client.post(f"/api/v1/returns/{ret.number}/refund", json={})
    assert r.status_code == 409 and "nobody is refunded" in r.json()["detail"]
    r = client.post(f"/api/v1/returns/{ret.number}/close", json={"note": "back on the shelf"})
    assert r.json()["status"] == "closed" and r.json()["refunds"] == []


def test_unknown_postings_and_articles_are_kept_and_linked_later(
    ozon: Ozon,
    client: TestClient,
    as_role: Callable[[str], WebClient],  # noqa: F811
) -> None:
    number, product = imported_posting(ozon)
    add_return(ozon.state, posting_number="99999999-0001-1", offer_id=product["offer_id"], status="Approved")
    add_return(ozon.state, posting_number=number, offer_id="NEW-ARTICLE", status="Approved")
    report = pull(ozon)
    assert (report.linked.created, report.linked.problems) == (0, 2) and rmas(ozon.engine) == []
    unlinked = client.get("/api/v1/returns").json()["needs_attention"]
    assert {(u["posting"], u["problem"]) for u in unlinked} == {
        ("99999999-0001-1", "unknown_posting"),
        (number, "unknown_sku"),
    }
    assert all(u["detail"] for u in unlinked)
    page = as_role("operator").get("/returns")  # the back office's queue shows them as needing attention
    assert (
        'id="returns-unlinked"' in page.text and "99999999-0001-1" in page.text and "NEW-ARTICLE" in page.text
    )
    before = written(ozon.engine)
    assert pull(ozon).linked.problems == 2 and written(ozon.engine) == before

    # The seller maps the new article to the product the posting carried: the next pull links it.
    with unit_of_work(ozon.engine) as s:
        put_product_mapping(s, ozon.connection_id, offer_id="NEW-ARTICLE", sku=our_sku(product["offer_id"]))
    report = pull(ozon)
    assert (report.linked.created, report.linked.problems) == (1, 1)
    [ret] = rmas(ozon.engine)
    assert ret.status == "approved" and ret.order_id == ozon.order(number).id
    assert [u["problem"] for u in client.get("/api/v1/returns").json()["needs_attention"]] == [
        "unknown_posting"
    ]


def _example() -> dict[str, Any]:
    if not EXAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Ozon example payloads missing at {EXAMPLES}")
        pytest.skip(f"Ozon example payloads not available at {EXAMPLES}")
    data: dict[str, Any] = json.loads(
        (EXAMPLES / "v1_returns_list.response.json").read_text(encoding="utf-8")
    )
    return data


def test_the_published_example_becomes_an_rma(ozon: Ozon, client: TestClient, engine: Engine) -> None:
    [item] = _example()["returns"]
    # Our side of that posting: the product (offer_id == our SKU), an Ozon order and its posting row.
    add_product(engine, "81451", price=3318_00, name=item["product"]["name"])
    set_stock(engine, "MSK", "81451", 5)
    body = order_payload([("81451", 1)], price=3318_00, channel="ozon", external_id=item["posting_number"])
    r = client.post("/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    with unit_of_work(engine) as s:
        s.add(
            MarketplacePosting(
                connection_id=ozon.connection_id, external_id=item["posting_number"], order_id=r.json()["id"]
            )
        )
    # Ozon lists it as published, changed just now (the pull's window).
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    item["visual"]["change_moment"] = moment.isoformat().replace("+00:00", "Z")
    ozon.state.returns.append(item)
    report = pull(ozon)
    assert report.linked.created == 1, report.line()
    detail = client.get("/api/v1/returns").json()["items"][0]
    assert detail["source"] == "ozon" and detail["order"] == r.json()["number"]
    full = client.get(f"/api/v1/returns/{detail['rma']}").json()
    assert full["status"] == "in_transit", "ArrivedAtReturnPlace: waiting for us at Ozon's return point"
    assert full["reason"] == "defective" and "недоволен качеством" in full["comment"]
    assert full["kind"] == "return" and full["value_minor"] == 3318_00
    assert full["marketplace"]["return_id"] == item["id"] and full["lines"][0]["sku"] == "81451"
