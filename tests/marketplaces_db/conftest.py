"""Fixtures: the fake Ozon on loopback (virtual clock shared with our client), a stored connection, a
catalog matching the fake's offers, warehouses mapped to the fake's FBS and rFBS warehouses."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, set_stock
from zakaz.db import unit_of_work
from zakaz.marketplaces.connections import Connection, save_connection
from zakaz.marketplaces.jobs import build_handlers
from zakaz.marketplaces.mappings import put_product_mapping, put_warehouse_mapping
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.ozon.adapter import OzonAdapter
from zakaz.marketplaces.ozon.client import OzonClient, OzonCredentials, RetryPolicy
from zakaz.marketplaces.ozon.fake_server import FakeOzonState, running_fake_ozon
from zakaz.marketplaces.ozon.fake_state import CATALOG, FBS_WAREHOUSE, RFBS_WAREHOUSE
from zakaz.marketplaces.ozon.ratelimit import VirtualClock
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.orders.models import Order, OrderEvent
from zakaz.outbox import OutboxMessage
from zakaz.worker.runner import Worker
from zakaz.worker.settings import WorkerSettings

#: Our catalog refuses Cyrillic SKUs, so two of the fake's Ozon articles need a SKU mapping; the other
#: three use the default convention (offer_id == our SKU).
OUR_SKU = {"УТ-0001365": "UT-0001365", "Товар2": "TOVAR-2"}


def our_sku(offer: str) -> str:
    return OUR_SKU.get(offer, offer)


@dataclass
class Ozon:
    url: str
    state: FakeOzonState
    clock: VirtualClock
    settings: MarketplaceSettings
    connection_id: int
    engine: Engine

    def factory(self, connection: Connection) -> OzonAdapter:
        client = OzonClient(
            OzonCredentials(connection.client_id, connection.api_key),
            base_url=connection.base_url,
            timeout=5.0,
            clock=self.clock,
            rng=random.Random(0),
            retry=RetryPolicy(max_attempts=6, base_delay=0.2, max_delay=2.0),
        )
        return OzonAdapter(client, page_size=50)

    def orders(self) -> list[Order]:
        with unit_of_work(self.engine, read_only=True) as s:
            found = list(s.scalars(select(Order).where(Order.channel == "ozon").order_by(Order.id)))
            s.expunge_all()  # keep the loaded values: the read-only unit rolls back (expiring them)
            return found

    def order(self, posting: str) -> Order:
        with unit_of_work(self.engine, read_only=True) as s:
            order = s.scalar(select(Order).where(Order.external_id == posting))
            assert order is not None, f"no order for {posting}"
            s.expunge_all()
            return order

    def worker(self) -> Worker:
        handlers = build_handlers(self.settings, factory=self.factory)
        settings = WorkerSettings(batch_size=20, backoff_base_seconds=0.01, max_attempts=3)
        return Worker(self.engine, handlers, settings=settings)

    def drain(self, rounds: int = 20) -> Worker:
        """Run the outbox until nothing is due (deferred messages wait for their time)."""
        worker = self.worker()
        for _ in range(rounds):
            if not worker.run_once():
                break
        return worker

    def outbox(self, topic: str) -> list[OutboxMessage]:
        with unit_of_work(self.engine, read_only=True) as s:
            found = list(s.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)))
            s.expunge_all()
            return found

    def posting(self, number: str) -> MarketplacePosting:
        with unit_of_work(self.engine, read_only=True) as s:
            row = s.scalar(select(MarketplacePosting).where(MarketplacePosting.external_id == number))
            assert row is not None
            s.expunge_all()
            return row

    def events(self, order_id: int) -> list[OrderEvent]:
        with unit_of_work(self.engine, read_only=True) as s:
            found = list(
                s.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
            )
            s.expunge_all()
            return found


def _catalog(engine: Engine, stock: int) -> None:
    add_warehouse(engine, "MSK")
    add_warehouse(engine, "SPB")
    for _, offer, name, price in CATALOG:
        add_product(engine, our_sku(offer), name=name, price=int(float(price) * 100))
        set_stock(engine, "MSK", our_sku(offer), stock)
        set_stock(engine, "SPB", our_sku(offer), stock)


@pytest.fixture
def ozon(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ozon]:
    clock = VirtualClock()
    settings = MarketplaceSettings(secret_key=Fernet.generate_key().decode())
    with running_fake_ozon(FakeOzonState(clock=clock)) as (url, state):
        _catalog(engine, stock=50)
        with unit_of_work(engine) as s:
            row, _ = save_connection(
                s,
                settings=settings,
                name="Test shop",
                client_id=state.client_id,
                api_key=state.api_key,
                base_url=url,
            )
            put_warehouse_mapping(s, row.id, external_id=str(FBS_WAREHOUSE), warehouse_code="MSK")
            put_warehouse_mapping(s, row.id, external_id=str(RFBS_WAREHOUSE), warehouse_code="SPB")
            for offer, sku in OUR_SKU.items():
                put_product_mapping(s, row.id, offer_id=offer, sku=sku)
            connection_id = row.id
        for module in ("zakaz.api.marketplaces", "zakaz.web.marketplaces_settings"):
            monkeypatch.setattr(f"{module}.get_marketplace_settings", lambda: settings)
        yield Ozon(url, state, clock, settings, connection_id, engine)


def by_type(events: list[OrderEvent], type_: str) -> list[dict[str, Any]]:
    return [{"to": e.to_status, "reason": e.reason, **e.data} for e in events if e.type == type_]
