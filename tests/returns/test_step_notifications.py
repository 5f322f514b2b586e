"""Issue #6: the shopper hears about every return step (in transit, exchanged, closed), in ru and en."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.notifications.support import quiet_free
from tests.returns.helpers import delivered_order, setup
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.notifications.models import Delivery
from zakaz.notifications.planner import plan_shopper
from zakaz.notifications.render import render
from zakaz.notifications.rules import SHOPPER_EVENTS
from zakaz.notifications.settings import NotifySettings
from zakaz.outbox import OutboxMessage
from zakaz.worker.types import Message

BASE = {"shop": "Zakaz", "name": "Иван", "number": "ZK-1", "tracking_url": "http://t/track/x", "rma": "RMA-1"}


@pytest.mark.parametrize(
    ("event", "extra", "ru", "en"),
    [
        (
            "return_in_transit",
            {"return_tracking": "CD123"},
            ["едет к нам", "CD123"],
            ["on its way to us", "CD123"],
        ),
        (
            "return_exchanged",
            {"replacement": "ZK-2"},
            ["замену", "ZK-2"],
            ["replacement order ZK-2", "on its way"],
        ),
        ("return_closed", {}, ["закрыт", "http://t/track/x"], ["is closed", "http://t/track/x"]),
    ],
)
def test_new_return_steps_render_in_russian_and_english(
    event: str, extra: dict[str, Any], ru: list[str], en: list[str]
) -> None:
    for locale, words in (("ru", ru), ("en", en)):
        r = render(event, locale, {**BASE, **extra})
        assert "RMA-1" in r.subject and "ZK-1" in r.subject
        assert all(w in r.text for w in words), (locale, r.text)
        assert all(w in r.html for w in words) and r.sms.startswith("Zakaz")
    assert render(event, "zh", {**BASE, **extra}).subject
    assert "RMA-1" in render(event, "en", BASE).text, "an older message without the extras still renders"


def test_every_return_step_but_inspection_notifies_and_sms_stays_off() -> None:
    topics = {t for t in SHOPPER_EVENTS if t.startswith("return.")}
    steps = ["requested", "approved", "rejected", "in_transit", "received", "refunded", "exchanged", "closed"]
    assert topics == {f"return.{s}" for s in steps}
    defaults = NotifySettings()
    for event in ("return_in_transit", "return_exchanged", "return_closed"):
        assert event in defaults.email_events and event in defaults.push_events
        assert event not in defaults.sms_events


def _plan(engine: Engine, topic: str, settings: NotifySettings) -> list[Any]:
    with unit_of_work(engine) as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)).all()
        for row in rows:
            message = Message(row.id, row.topic, row.aggregate_type, row.aggregate_id, row.payload, 1)
            plan_shopper(s, message, settings=settings)
        found = s.execute(
            select(Delivery.channel, Delivery.subject, Delivery.body_text).where(Delivery.topic == topic)
        ).all()
        return [tuple(x) for x in found]


def test_in_transit_exchanged_and_closed_reach_the_shopper(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    settings = quiet_free()
    order = delivered_order(client, app, [("SKU-A", 2)], price=1200_00)
    with unit_of_work(engine) as s:  # this shopper reads English
        s.execute(update(Customer).values(locale="en"))

    r = client.post(
        "/api/v1/returns",
        json={
            "order": order["number"],
            "kind": "exchange",
            "reason": "size_fit",
            "items": [{"line_no": 1, "quantity": 1, "exchange_sku": "SKU-B"}],
        },
    )
    exc = r.json()["rma"]
    r = client.post(f"/api/v1/returns/{exc}/in-transit", json={"tracking_number": "RR123456785RU"})
    assert r.status_code == 200, r.text
    sent = _plan(engine, "return.in_transit", settings)
    assert {c for c, _s, _b in sent} == {"email"}, "e-mail (push needs a subscription); no SMS by default"
    assert "on its way to us" in sent[0][2] and "RR123456785RU" in sent[0][2] and exc in sent[0][1]

    replacement = client.post(f"/api/v1/returns/{exc}/receive", json={}).json()["replacement_order"]
    client.post(f"/api/v1/returns/{exc}/inspect", json={"lines": [{"line_no": 1, "condition": "unopened"}]})
    assert _plan(engine, "return.inspected", settings) == [], "inspection itself is not a message"
    assert client.post(f"/api/v1/returns/{exc}/refund", json={}).json()["status"] == "exchanged"
    sent = _plan(engine, "return.exchanged", settings)
    assert len(sent) == 1 and f"replacement order {replacement} is on its way" in sent[0][2], sent

    # A Russian-speaking shopper whose approved return is closed (never sent back).
    with unit_of_work(engine) as s:
        s.execute(update(Customer).values(locale="ru"))
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "changed_mind"},
    )
    rma = r.json()["rma"]
    assert r.json()["status"] == "approved", r.text
    assert client.post(f"/api/v1/returns/{rma}/close", json={"note": "withdrawn"}).status_code == 200
    sent = _plan(engine, "return.closed", settings)
    assert len(sent) == 1 and f"Возврат {rma} по заказу {order['number']} закрыт" in sent[0][2], sent
    assert "withdrawn" not in sent[0][2], "the operator's closing note stays internal"
