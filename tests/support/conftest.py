"""Fixtures for the support inbox (issue #7): the fake Ozon on loopback with a stored connection (from
tests/marketplaces_db), a worker running the marketplace and support handlers, API clients per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.marketplaces_db.conftest import Ozon
from tests.marketplaces_db.conftest import ozon as ozon
from zakaz.db import unit_of_work
from zakaz.marketplaces import jobs as marketplace_jobs
from zakaz.marketplaces.ozon.fake_state import seed_postings
from zakaz.marketplaces.sync import sync_orders
from zakaz.orders.models import Order
from zakaz.outbox import OutboxMessage
from zakaz.support import jobs as support_jobs
from zakaz.support.models import SupportConversation, SupportMessage
from zakaz.support.settings import SupportSettings
from zakaz.support.sync import PullReport, pull_chats
from zakaz.worker.runner import Worker
from zakaz.worker.settings import WorkerSettings

PUSH = "/api/v1/marketplaces/ozon/push"


@dataclass
class Inbox:
    ozon: Ozon
    api: TestClient  # admin key
    support: SupportSettings
    make_key: Callable[[str], str]

    @property
    def engine(self) -> Any:
        return self.ozon.engine

    @property
    def fake(self) -> Any:
        return self.ozon.state

    def worker(self) -> Worker:
        handlers = marketplace_jobs.merge(
            marketplace_jobs.build_handlers(self.ozon.settings, factory=self.ozon.factory),
            support_jobs.build_handlers(self.ozon.settings, self.support, factory=self.ozon.factory),
        )
        settings = WorkerSettings(batch_size=20, backoff_base_seconds=0.01, backoff_max_seconds=0.05)
        return Worker(self.engine, handlers, settings=settings)

    def drain(self, rounds: int = 200) -> Worker:
        """Run the outbox until no message is pending (failed tries come back after a tiny backoff)."""
        worker = self.worker()
        for _ in range(rounds):
            if worker.run_once():
                continue
            with unit_of_work(self.engine, read_only=True) as s:
                waiting = s.scalar(
                    select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "pending")
                )
            if not waiting:
                break
            import time

            time.sleep(0.02)
        return worker

    def push(self, body: dict[str, Any]) -> Any:
        return self.api.post(PUSH, json=body)

    def pull(self, now: datetime | None = None) -> PullReport:
        return pull_chats(
            self.engine,
            self.ozon.connection_id,
            factory=self.ozon.factory,
            settings=self.ozon.settings,
            support=self.support,
            now=now,
        )

    def import_orders(self, n: int = 1, *, rfbs: bool = False) -> list[str]:
        """Postings on the fake, imported as our orders by the regular sync; returns posting numbers."""
        numbers = seed_postings(self.fake, n, rfbs=rfbs)
        sync_orders(
            self.engine, self.ozon.connection_id, settings=self.ozon.settings, factory=self.ozon.factory
        )
        return numbers

    def order_number(self, posting: str) -> str:
        with unit_of_work(self.engine, read_only=True) as s:
            number = s.scalar(select(Order.number).where(Order.external_id == posting))
        assert number is not None
        return number

    def conversations(self) -> list[SupportConversation]:
        with unit_of_work(self.engine, read_only=True) as s:
            rows = list(s.scalars(select(SupportConversation).order_by(SupportConversation.id)))
            s.expunge_all()
            return rows

    def conversation(self, chat_id: str) -> SupportConversation:
        with unit_of_work(self.engine, read_only=True) as s:
            row = s.scalar(select(SupportConversation).where(SupportConversation.external_id == chat_id))
            assert row is not None, f"no conversation for chat {chat_id}"
            s.expunge_all()
            return row

    def conversation_chat(self, conversation_id: int) -> str:
        with unit_of_work(self.engine, read_only=True) as s:
            row = s.get(SupportConversation, conversation_id)
            assert row is not None
            return row.external_id

    def messages(self, conversation_id: int) -> list[SupportMessage]:
        with unit_of_work(self.engine, read_only=True) as s:
            rows = list(
                s.scalars(
                    select(SupportMessage)
                    .where(SupportMessage.conversation_id == conversation_id)
                    .order_by(SupportMessage.created_at, SupportMessage.id)
                )
            )
            s.expunge_all()
            return rows

    def client(self, role: str) -> TestClient:
        c = TestClient(self.api.app)
        c.headers["Authorization"] = f"Bearer {self.make_key(role)}"
        return c


@pytest.fixture
def inbox(ozon: Ozon, app: Any, make_key: Callable[[str], str]) -> Iterator[Inbox]:
    with TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {make_key('admin')}"
        yield Inbox(ozon, api, SupportSettings(history_page=3), make_key)
