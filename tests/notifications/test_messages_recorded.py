"""With no provider configured every message is rendered and recorded, and listed by the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.notifications.support import drain, move, seed_and_order
from zakaz.db import unit_of_work
from zakaz.notifications.models import Delivery


def test_order_events_are_recorded_per_channel_and_listed(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    drain(engine)
    r = client.get("/api/v1/messages", params={"order_id": order["id"]})
    assert r.status_code == 200
    items = r.json()["items"]
    # received by e-mail only: the automatic confirmation a moment later is not repeated, SMS is for
    # shipping news by default, and nobody subscribed to push yet.
    assert [(m["event"], m["channel"], m["status"]) for m in items] == [("received", "email", "recorded")]
    assert (
        items[0]["recipient"] == "ivan@example.ru"
        and items[0]["subject"] == f"Заказ {order['number']} принят"
    )

    move(
        engine,
        order["id"],
        "picking",
        "packed",
        "shipped",
        data={"carrier": "СДЭК", "tracking_number": "1234567890"},
    )
    drain(engine)
    items = client.get("/api/v1/messages", params={"order_id": order["id"]}).json()["items"]
    shipped = {m["channel"]: m for m in items if m["event"] == "shipped"}
    assert set(shipped) == {"email", "sms"} and {m["status"] for m in shipped.values()} == {"recorded"}
    sms = client.get(f"/api/v1/messages/{shipped['sms']['id']}").json()
    assert "1234567890" in sms["body_text"] and sms["recipient"] == "+79161234567"
    email = client.get(f"/api/v1/messages/{shipped['email']['id']}").json()
    assert (
        "СДЭК" in email["body_text"]
        and "/unsubscribe/" in email["body_text"]
        and "<html" in email["body_html"]
    )


def test_running_the_worker_again_plans_nothing_twice(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    drain(engine)
    from sqlalchemy import update

    from zakaz.outbox import OutboxMessage

    with unit_of_work(engine) as s:  # replay everything, as `zakaz outbox replay` would
        s.execute(update(OutboxMessage).values(status="pending", attempts=0))
    drain(engine)
    with unit_of_work(engine, read_only=True) as s:
        assert (
            s.scalar(select(func.count()).select_from(Delivery).where(Delivery.order_id == order["id"])) == 1
        )


def test_messages_list_needs_a_key_and_paginates(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    move(engine, order["id"], "cancelled")
    drain(engine)
    first = client.get("/api/v1/messages", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_before"]
    rest = client.get("/api/v1/messages", params={"before": first["next_before"]}).json()["items"]
    assert rest and all(m["id"] < first["next_before"] for m in rest)
    assert client.get("/api/v1/messages", headers={"Authorization": ""}).status_code == 401


def test_marketplace_buyers_get_no_messages_from_us_but_webhooks_still_fire(
    client: TestClient, engine: Engine
) -> None:
    hook = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": []})
    assert hook.status_code == 201, hook.text
    order = seed_and_order(client, engine, channel="ozon", external_id="0123-4567-1")
    move(
        engine, order["id"], "picking", "packed", "shipped", data={"carrier": "Ozon", "tracking_number": "1"}
    )
    drain(engine, max_attempts=1)
    with unit_of_work(engine, read_only=True) as s:
        channels = set(s.scalars(select(Delivery.channel).where(Delivery.order_id == order["id"])).all())
    assert channels == {"webhook"}  # no e-mail or SMS to the Ozon buyer
    web = seed_and_order(client, engine, external_id="shop-1")
    drain(engine, max_attempts=1)
    with unit_of_work(engine, read_only=True) as s:
        assert "email" in set(s.scalars(select(Delivery.channel).where(Delivery.order_id == web["id"])))
