"""Kill -9 a worker in the middle of a batch, start another: every webhook event reaches the receiver,
and its effect is applied exactly once (at-least-once delivery + dedupe by event id)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories import order_payload
from tests.notifications.support import WebhookReceiver, fetch, seed_and_order, serve
from zakaz.db import unit_of_work
from zakaz.notifications.models import Delivery
from zakaz.outbox import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 8  # x 3 events (received, confirmed, allocated) = 24 webhook events


def start_worker(db_url: str, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ZAKAZ_DATABASE_URL": db_url,
        "ZAKAZ_WORKER_LEASE_SECONDS": "2",
        "ZAKAZ_WORKER_BATCH_SIZE": "6",
        "ZAKAZ_WORKER_POLL_INTERVAL_SECONDS": "0.1",
        "ZAKAZ_WORKER_BACKOFF_BASE_SECONDS": "0.2",
        "ZAKAZ_SMS_QUIET_START_HOUR": "0",
        "ZAKAZ_SMS_QUIET_END_HOUR": "0",
    }
    log = open(ROOT / "var" / f"test-worker-{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "zakaz.cli", "worker"], env=env, cwd=ROOT, stdout=log, stderr=log
    )


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def outstanding(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return int(
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "done"))
            or 0
        )


def processing(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as s:
        stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "processing")
        return int(s.scalar(stmt) or 0)


def test_sigkill_mid_batch_loses_nothing_and_applies_once(
    client: TestClient, engine: Engine, db_url: str
) -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    receiver = WebhookReceiver(delay=0.15)
    with serve(receiver.app()) as url:
        r = client.post("/api/v1/webhooks", json={"url": f"{url}/hook"})
        receiver.secret = r.json()["secret"]
        seed_and_order(client, engine)
        for i in range(ORDERS - 1):
            assert (
                client.post(
                    "/api/v1/orders", json=order_payload([("SKU-1", 1)], email=f"b{i}@example.ru")
                ).status_code
                == 201
            )
        expected = ORDERS * 3

        first = start_worker(db_url, "first")
        try:
            wait_for(
                lambda: len(receiver.received) >= 4 and processing(engine) >= 2,
                60,
                "the first worker mid-batch",
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        killed_at = len(set(receiver.received))
        assert killed_at < expected, "the worker was killed before finishing"
        in_flight = fetch(engine, select(OutboxMessage).where(OutboxMessage.status == "processing"))
        assert in_flight, "rows claimed by the dead worker are still leased"

        second = start_worker(db_url, "second")
        try:
            wait_for(
                lambda: len(receiver.effects) >= expected and outstanding(engine) == 0,
                90,
                "everything delivered",
            )
        finally:
            second.terminate()
            second.wait(timeout=20)

    assert len(receiver.effects) == expected, "every event applied exactly once"
    assert set(receiver.received) == set(receiver.effects)
    assert len(receiver.received) >= expected  # at least once; copies were dropped by event id
    hooks = fetch(engine, select(Delivery).where(Delivery.channel == "webhook"))
    assert len(hooks) == expected and {d.status for d in hooks} == {"sent"}
    assert receiver.bad_signatures == 0
    print(f"killed after {killed_at} events; {len(receiver.received) - expected} redelivered copies dropped")
