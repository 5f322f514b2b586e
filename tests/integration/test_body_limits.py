"""Request bodies are capped: a huge body is refused with 413 before anything reads or stores it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zakaz.db import unit_of_work
from zakaz.marketplaces.models import MarketplacePush

PUSH = "/api/v1/marketplaces/ozon/push"


def _pushes(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return int(s.scalar(select(func.count()).select_from(MarketplacePush)) or 0)


def test_a_20_mb_push_is_refused_unread_and_unstored(client: TestClient, engine: Engine) -> None:
    big = b'{"message_type": "TYPE_PING", "pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    r = client.post(PUSH, content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json" and r.json()["status"] == 413
    assert _pushes(engine) == 0
    ok = client.post(PUSH, json={"message_type": "TYPE_PING", "time": "2026-11-27T10:00:00Z"})
    assert ok.status_code == 200  # normal pushes still pass


def test_a_body_without_length_is_counted_too(live_server: object, engine: Engine) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"message_type": "TYPE_PING", "pad": "'
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MB in all, sent chunked (no Content-Length)
        yield b'"}'

    url = f"{live_server.url}{PUSH}"  # type: ignore[attr-defined]
    r = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert _pushes(engine) == 0


def test_photos_get_a_larger_allowance_than_json(client: TestClient) -> None:
    # 3 MB is over the JSON limit but within the photo routes' allowance (the route then answers on its own)
    body = b"x" * (3 * 1024 * 1024)
    headers = {"Content-Type": "application/json"}
    assert client.post("/api/v1/orders", content=body, headers=headers).status_code == 413
    photos = client.post("/api/v1/returns/RMA-NONE/photos", content=body, headers=headers)
    assert photos.status_code != 413
