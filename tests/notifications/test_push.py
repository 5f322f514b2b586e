"""Web Push against a local fake push service that checks the VAPID JWT and decrypts the body (RFC 8291)."""

from __future__ import annotations

import base64
import os
import time
from typing import Any

import http_ece
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from py_vapid import Vapid02
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.notifications.support import drain, fetch, move, quiet_free, seed_and_order, serve
from zakaz.db import unit_of_work
from zakaz.notifications import service
from zakaz.notifications.models import Delivery, PushSubscription


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakePushService:
    """Accepts a push for a known subscription only with a valid VAPID token and a decryptable body."""

    def __init__(self, vapid_public: str) -> None:
        self.vapid_public = vapid_public
        self.browser_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.received: list[dict[str, Any]] = []

    @property
    def p256dh(self) -> str:
        point = self.browser_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/push/{sub}")
        async def push(sub: str, request: Request) -> Response:
            if sub == "gone":
                return Response(status_code=410)
            header = request.headers["authorization"]
            assert Vapid02.verify(header), "VAPID signature"
            parts = dict(p.split("=", 1) for p in header.split(" ", 1)[1].split(","))
            assert parts["k"] == self.vapid_public
            claims = orjson.loads(unb64url(parts["t"].split(".")[1]))
            assert claims["aud"] == str(request.base_url).rstrip("/") and claims["exp"] > time.time()
            assert claims["sub"] == "mailto:ops@example.ru"
            assert request.headers["content-encoding"] == "aes128gcm" and int(request.headers["ttl"]) > 0
            body = http_ece.decrypt(
                await request.body(), private_key=self.browser_key, auth_secret=self.auth, version="aes128gcm"
            )
            self.received.append(orjson.loads(body))
            return Response(status_code=201, headers={"Location": f"/msg/{len(self.received)}"})

        return app


def test_push_is_signed_encrypted_and_gone_subscriptions_are_dropped(
    client: TestClient, engine: Engine
) -> None:
    vapid = Vapid02()
    vapid.generate_keys()
    pem = vapid.private_pem().decode()  # a PEM *string*: the form pywebpush itself does not take
    public = b64url(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    fake = FakePushService(public)
    order = seed_and_order(client, engine)
    with serve(fake.app()) as url:
        with unit_of_work(engine) as s:
            for endpoint in (f"{url}/push/browser-1", f"{url}/push/gone"):
                service.subscribe_push(
                    s,
                    order_id=order["id"],
                    customer_id=None,
                    endpoint=endpoint,
                    p256dh=fake.p256dh,
                    auth=b64url(fake.auth),
                )
        settings = quiet_free(vapid_private_key=pem, vapid_subject="mailto:ops@example.ru")
        drain(engine, settings)  # order.received: both subscriptions, one of them gone
        move(engine, order["id"], "picking", "packed", "shipped")
        drain(engine, settings)
    number = order["number"]
    assert [m["title"] for m in fake.received] == [f"Заказ {number} принят", f"Заказ {number} отправлен"]
    assert fake.received[0]["url"].startswith("http://testserver/track/")
    pushes = fetch(engine, select(Delivery).where(Delivery.channel == "push").order_by(Delivery.id))
    assert [(d.status, d.provider_id) for d in pushes] == [
        ("sent", "/msg/1"),
        ("skipped", None),
        ("sent", "/msg/2"),
    ]
    assert [s.endpoint for s in fetch(engine, select(PushSubscription))] == [f"{url}/push/browser-1"]


def test_the_tracking_page_stores_a_browser_subscription(client: TestClient, engine: Engine) -> None:
    from zakaz.notifications import links
    from zakaz.notifications.settings import get_notify_settings

    order = seed_and_order(client, engine)
    token = links.tracking_token(order["id"], links.secret_of(get_notify_settings()))
    sub = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "BNc", "auth": "xyz"}}
    assert client.post(f"/track/{token}/push", json=sub).status_code == 201
    assert client.post(f"/track/{token}/push", json=sub).status_code == 201  # idempotent
    assert client.post("/track/bad/push", json=sub).status_code == 404
    assert len(fetch(engine, select(PushSubscription))) == 1
    assert client.get("/track/sw.js").headers["content-type"].startswith("text/javascript")


def test_a_subscription_hears_only_its_own_order_even_when_customers_are_merged(
    client: TestClient, engine: Engine
) -> None:
    """Customers are matched by e-mail or phone: someone typing another shopper's phone on their own order
    must not receive that shopper's orders (and their signed tracking links) by push."""
    from zakaz.notifications import links
    from zakaz.notifications.settings import get_notify_settings

    victim = seed_and_order(client, engine, email="victim@example.ru")
    attacker = seed_and_order(client, engine, email="mallory@example.ru")  # the same phone: one customer
    assert victim["customer_id"] == attacker["customer_id"]
    token = links.tracking_token(attacker["id"], links.secret_of(get_notify_settings()))
    sub = {"endpoint": "https://mallory.example/push/1", "keys": {"p256dh": "BNc", "auth": "xyz"}}
    assert client.post(f"/track/{token}/push", json=sub).status_code == 201
    move(engine, victim["id"], "picking", "packed", "shipped")
    move(engine, attacker["id"], "picking", "packed", "shipped")
    drain(engine, quiet_free(), max_attempts=1)
    pushes = fetch(engine, select(Delivery).where(Delivery.channel == "push"))
    assert pushes and {d.order_id for d in pushes} == {attacker["id"]}


def test_a_browser_follows_each_order_it_subscribed_on_and_at_most_ten_per_order(
    client: TestClient, engine: Engine
) -> None:
    from zakaz.notifications import links
    from zakaz.notifications.service import MAX_PUSH_SUBSCRIPTIONS_PER_ORDER
    from zakaz.notifications.settings import get_notify_settings

    first = seed_and_order(client, engine)
    second = seed_and_order(client, engine, external_id="shop-2")
    secret = links.secret_of(get_notify_settings())
    browser = {"endpoint": "https://push.example/browser", "keys": {"p256dh": "BNc", "auth": "xyz"}}
    for order in (first, second):
        token = links.tracking_token(order["id"], secret)
        assert client.post(f"/track/{token}/push", json=browser).status_code == 201
    rows = fetch(engine, select(PushSubscription).order_by(PushSubscription.id))
    assert [(s.order_id, s.endpoint) for s in rows] == [
        (first["id"], browser["endpoint"]),
        (second["id"], browser["endpoint"]),
    ]
    token = links.tracking_token(first["id"], secret)
    for i in range(MAX_PUSH_SUBSCRIPTIONS_PER_ORDER + 2):
        other = {**browser, "endpoint": f"https://push.example/other-{i}"}
        assert client.post(f"/track/{token}/push", json=other).status_code == 201
    kept = [
        s.endpoint
        for s in fetch(engine, select(PushSubscription).where(PushSubscription.order_id == first["id"]))
    ]
    assert len(kept) == MAX_PUSH_SUBSCRIPTIONS_PER_ORDER  # the oldest made room
    assert f"https://push.example/other-{MAX_PUSH_SUBSCRIPTIONS_PER_ORDER + 1}" in kept
    assert browser["endpoint"] not in kept
