"""The customer tracking page: lookup without enumeration, signed links, languages, rate limit, SSE."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.notifications.support import move, seed_and_order
from zakaz.notifications import links
from zakaz.notifications.settings import get_notify_settings
from zakaz.tracking import routes
from zakaz.tracking.ratelimit import TokenBucket


@pytest.fixture(autouse=True)
def fresh_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "lookups", TokenBucket(capacity=10, refill_per_second=10 / 60))


def token_for(order_id: int) -> str:
    return links.tracking_token(order_id, links.secret_of(get_notify_settings()))


def test_lookup_by_number_and_email_or_phone_opens_the_page(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    for contact in ("IVAN@example.ru", "8 (916) 123-45-67", "+79161234567"):
        r = client.post(
            "/track", data={"number": order["number"].lower(), "contact": contact}, follow_redirects=False
        )
        assert r.status_code == 303, contact
        page = client.get(r.headers["location"])
        assert page.status_code == 200 and order["number"] in page.text
        assert "Подтверждён" in page.text and "Заказ принят" in page.text
        assert "on_hold" not in page.text and "test" not in page.text.lower().split("<script")[0]
        # the page carrying the signed link is never framed, and the link never leaves as a Referer
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "same-origin"


def test_misses_look_the_same_and_bad_links_too(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    wrong = client.post("/track", data={"number": order["number"], "contact": "other@example.ru"})
    unknown = client.post("/track", data={"number": "ZK-000000-AAAAA", "contact": "ivan@example.ru"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.text.replace(order["number"], "N") == unknown.text.replace("ZK-000000-AAAAA", "N")
    assert "Заказ не найден" in wrong.text
    assert client.get("/track/not-a-token").status_code == 404
    forged = links.tracking_token(order["id"], "some other secret")
    assert client.get(f"/track/{forged}").text == client.get("/track/not-a-token").text


def test_lookups_are_rate_limited_per_address(client: TestClient, engine: Engine) -> None:
    seed_and_order(client, engine)
    codes = [
        client.post("/track", data={"number": f"ZK-1-{i}", "contact": "x@example.ru"}).status_code
        for i in range(12)
    ]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]


def test_language_from_query_then_cookie(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    token = token_for(order["id"])
    en = client.get(f"/track/{token}?lang=en")
    assert "Order received" in en.text and en.cookies.get("zakaz_lang") == "en"
    assert "Order received" in client.get(f"/track/{token}").text  # the cookie remembers
    assert "订单已接收" in client.get(f"/track/{token}?lang=zh").text
    assert "Заказ принят" in client.get(f"/track/{token}?lang=ru").text
    assert "Где мой заказ?" in client.get("/track").text


def test_sse_streams_status_changes(live_server: Any, engine: Engine, client: TestClient) -> None:
    order = seed_and_order(client, engine)
    page = client.get(f"/track/{token_for(order['id'])}").text
    last = re.search(r"var last = (\d+);", page)
    assert last is not None
    url = f"{live_server.url}/track/{token_for(order['id'])}/events?after={last.group(1)}"
    lines: list[str] = []

    def later() -> None:
        time.sleep(1.5)
        move(engine, order["id"], "picking")

    threading.Thread(target=later, daemon=True).start()
    with httpx.stream("GET", url, timeout=15) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: update" in lines
    data = lines[-1]
    assert '"status":"picking"' in data and "Заказ собирается" in data and '"step":2' in data
    assert re.match(r"id: \d+", next(line for line in lines if line.startswith("id:")))
