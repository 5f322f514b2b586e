"""`zakaz worker --once` and `zakaz outbox list|retry|replay`, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.notifications.support import fetch, seed_and_order
from zakaz.cli.main import app
from zakaz.config import get_settings
from zakaz.db import unit_of_work
from zakaz.notifications.models import Delivery
from zakaz.outbox import OutboxMessage
from zakaz.worker.settings import get_worker_settings

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZAKAZ_DATABASE_URL", db_url)
    monkeypatch.setenv("ZAKAZ_WORKER_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    get_worker_settings.cache_clear()
    yield
    get_settings.cache_clear()
    get_worker_settings.cache_clear()


def test_worker_once_then_outbox_list_retry_replay(cli_env: None, client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "processed" in result.output
    listed = runner.invoke(app, ["outbox", "list", "--topic", "order.received"])
    assert listed.exit_code == 0 and "order.received" in listed.output and "dead: 0" in listed.output

    with unit_of_work(engine) as s:  # a poison message, as if it had failed every try
        s.execute(update(OutboxMessage).where(OutboxMessage.topic == "order.received").values(status="dead"))
    dead = fetch(engine, select(OutboxMessage).where(OutboxMessage.status == "dead"))
    assert "dead: 1" in runner.invoke(app, ["outbox", "list", "--status", "dead"]).output
    assert "1 messages queued again" in runner.invoke(app, ["outbox", "retry", "--all"]).output
    assert runner.invoke(app, ["worker", "--once"]).exit_code == 0
    assert {m.status for m in fetch(engine, select(OutboxMessage))} == {"done"}

    replay = runner.invoke(app, ["outbox", "replay", str(dead[0].id), "--resend"])
    assert replay.exit_code == 0 and "1 deliveries to send again" in replay.output
    assert runner.invoke(app, ["worker", "--once"]).exit_code == 0
    (email,) = fetch(engine, select(Delivery).where(Delivery.order_id == order["id"]))
    assert email.status == "recorded" and email.attempts == 2
