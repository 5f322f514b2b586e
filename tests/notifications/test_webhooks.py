"""Outgoing webhooks: signed like Stripe, retried, replayable; receivers dedupe by event id."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.notifications.support import WebhookReceiver, drain, fetch, seed_and_order, serve
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.notifications.channels.webhook import sign, verify
from zakaz.notifications.models import Delivery
from zakaz.outbox import OutboxMessage


def register(client: TestClient, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = client.post("/api/v1/webhooks", json={"url": url, "events": events or []})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["secret"].startswith("whsec_")
    return body


def test_signature_round_trip_and_tolerance() -> None:
    body = b'{"id":"evt_1"}'
    header = sign("whsec_x", 1_700_000_000, body)
    assert verify("whsec_x", header, body, now=1_700_000_100)
    assert not verify("whsec_x", header, body + b" ", now=1_700_000_100)
    assert not verify("whsec_y", header, body, now=1_700_000_100)
    assert not verify("whsec_x", header, body, now=1_700_000_000 + 301)


def test_order_events_reach_the_endpoint_signed_and_a_resend_is_deduped(
    client: TestClient, engine: Engine
) -> None:
    receiver = WebhookReceiver(fail_first=1)
    with serve(receiver.app()) as url:
        endpoint = register(client, f"{url}/hook")
        receiver.secret = endpoint["secret"]
        order = seed_and_order(client, engine)
        drain(engine)
        assert receiver.bad_signatures == 0
        with unit_of_work(engine) as s:  # the first try got a 503 and waits for its backoff
            s.execute(
                update(OutboxMessage).where(OutboxMessage.status == "pending").values(available_at=utcnow())
            )
        drain(engine)
        types = sorted(e["type"] for e in receiver.effects.values())
        assert types == ["order.allocated", "order.confirmed", "order.received"]
        assert len(receiver.received) == 4  # one 503, then each event once
        received = next(e for e in receiver.effects.values() if e["type"] == "order.received")
        assert received["data"]["number"] == order["number"] and received["id"].startswith("evt_")

        hooks = fetch(engine, select(Delivery).where(Delivery.channel == "webhook").order_by(Delivery.id))
        assert [d.status for d in hooks] == ["sent"] * 3 and sum(d.attempts for d in hooks) == 4
        listed = client.get("/api/v1/messages", params={"channel": "webhook"}).json()["items"]
        assert len(listed) == 3 and all("secret" not in str(m) for m in listed)

        r = client.post(f"/api/v1/messages/{hooks[0].id}/resend")
        assert r.status_code == 202 and r.json()["status"] == "pending"
        drain(engine)
        assert len(receiver.received) == 5 and len(receiver.effects) == 3, "same event id: applied once"


def test_endpoints_can_narrow_topics_and_be_disabled(client: TestClient, engine: Engine) -> None:
    receiver = WebhookReceiver()
    with serve(receiver.app()) as url:
        endpoint = register(client, f"{url}/hook", ["order.received"])
        receiver.secret = endpoint["secret"]
        assert (
            client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["order.nope"]}).status_code
            == 422
        )
        seed_and_order(client, engine)
        drain(engine)
        assert [e["type"] for e in receiver.effects.values()] == ["order.received"]
        assert client.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
        assert client.get("/api/v1/webhooks").json()["items"][0]["active"] is False


def test_webhooks_and_push_endpoints_must_be_public_addresses(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSRF: an admin's webhook or a shopper's push endpoint must not make the server call its own network."""
    from zakaz.notifications import links
    from zakaz.notifications.channels.base import ChannelError, Outgoing
    from zakaz.notifications.channels.webhook import WebhookSender
    from zakaz.notifications.settings import get_notify_settings

    monkeypatch.setenv("ZAKAZ_ALLOW_PRIVATE_DESTINATIONS", "false")
    get_notify_settings.cache_clear()
    try:
        for url in (
            "http://127.0.0.1:5432/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/hook",
            "http://localhost:6379/",
            "https://10.1.2.3/hook",
            "http://no-such-host.invalid/hook",
        ):
            r = client.post("/api/v1/webhooks", json={"url": url})
            assert r.status_code == 422, (url, r.text)
            assert r.json()["errors"][0]["field"] == "url"
        assert client.get("/api/v1/webhooks").json()["items"] == []
        order = seed_and_order(client, engine)
        token = links.tracking_token(order["id"], links.secret_of(get_notify_settings()))
        sub = {"endpoint": "https://192.168.0.10/push/1", "keys": {"p256dh": "BNc", "auth": "xyz"}}
        r = client.post(f"/track/{token}/push", json=sub)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "endpoint"
    finally:
        get_notify_settings.cache_clear()
    # checked again when sending (a public name may later resolve to a private address)
    outgoing = Outgoing(
        delivery_id=1,
        channel="webhook",
        recipient="http://127.0.0.1:9/hook",
        subject="order.shipped",
        text="",
        html=None,
        data={"event": {"id": "evt_1", "type": "order.shipped"}, "secret": "whsec_x"},
    )
    with pytest.raises(ChannelError, match="refused"):
        WebhookSender(allow_private=False).send(outgoing)
