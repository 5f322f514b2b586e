"""`make run`'s demo with the fake Ozon (issue #7): the fake starts beside the server, the freshly loaded
demo gets an Ozon connection to it with mapped warehouses and articles, and one sync imports the fake's
postings as orders of demo SKUs. `zakaz run --no-demo` starts no fake; a taken port only warns."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import Engine

from zakaz.catalog.models import Product
from zakaz.cli import run_cmd
from zakaz.db import unit_of_work
from zakaz.demo import ozon as demo_ozon
from zakaz.demo.loader import load_if_empty
from zakaz.marketplaces.connections import find_connection, save_connection
from zakaz.marketplaces.jobs import SYNC_TOPIC
from zakaz.marketplaces.mappings import list_product_mappings, list_warehouse_mappings
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.sync import sync_orders
from zakaz.orders.models import Order, OrderLine
from zakaz.outbox import OutboxMessage


@pytest.fixture
def settings() -> MarketplaceSettings:
    return MarketplaceSettings(secret_key=Fernet.generate_key().decode())


@pytest.fixture
def fake() -> Iterator[demo_ozon.FakeOzon]:
    started = demo_ozon.start_fake_ozon(0)
    try:
        yield started
    finally:
        started.stop()


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_demo_gets_an_ozon_connection_and_one_sync_imports_postings_of_demo_skus(
    engine: Engine, fake: demo_ozon.FakeOzon, settings: MarketplaceSettings
) -> None:
    assert load_if_empty(engine, orders=300, seed=3) is True
    line = demo_ozon.attach_demo_connection(engine, fake, create=True, settings=settings, seed=7)
    assert line is not None and fake.url in line

    with unit_of_work(engine, read_only=True) as s:
        row = find_connection(s)
        assert row is not None and row.base_url == fake.url and row.client_id == fake.state.client_id
        connection_id = row.id
        assert {(m["external_id"], m["warehouse"]) for m in list_warehouse_mappings(s, row.id)} == {
            (str(FBS_WAREHOUSE), "MSK"),
            (str(RFBS_WAREHOUSE), "SPB"),
        }
        articles = {m["offer_id"]: m["sku"] for m in list_product_mappings(s, row.id)}
        demo_skus = set(s.scalars(select(Product.sku)))
        queued = s.scalars(select(OutboxMessage.topic).where(OutboxMessage.topic == SYNC_TOPIC)).all()
    assert len(articles) == demo_ozon.ARTICLES and set(articles.values()) <= demo_skus
    assert queued == [SYNC_TOPIC]  # the worker imports at once, not at the next periodic run
    offers = {p["offer_id"] for posting in fake.state.postings.values() for p in posting["products"]}
    assert offers and offers <= set(articles)
    assert len(fake.state.postings) == demo_ozon.FBS_POSTINGS + demo_ozon.RFBS_POSTINGS

    report = sync_orders(engine, connection_id, settings=settings)
    assert report.created == len(fake.state.postings) and not report.errors

    with unit_of_work(engine, read_only=True) as s:
        orders = list(s.scalars(select(Order).where(Order.channel == "ozon", Order.external_id.is_not(None))))
        imported = {o.external_id: o for o in orders if o.external_id in fake.state.postings}
        skus = set(s.scalars(select(OrderLine.sku).where(OrderLine.order_id.in_([o.id for o in orders]))))
        statuses = {o.status for o in imported.values()}
    assert set(imported) == set(fake.state.postings)
    assert skus >= offers and skus <= demo_skus
    assert "on_hold" not in statuses  # known SKUs and warehouses, stock for all


def test_a_later_start_points_the_demo_connection_at_the_new_fake(
    engine: Engine, fake: demo_ozon.FakeOzon, settings: MarketplaceSettings
) -> None:
    load_if_empty(engine, orders=300, seed=3)
    demo_ozon.attach_demo_connection(engine, fake, create=True, settings=settings, seed=7)
    second = demo_ozon.start_fake_ozon(0)
    try:
        line = demo_ozon.attach_demo_connection(engine, second, create=False, settings=settings, seed=9)
        assert line is not None
        with unit_of_work(engine, read_only=True) as s:
            row = find_connection(s)
            assert row is not None and row.base_url == second.url
        assert second.state.postings and not set(second.state.postings) & set(fake.state.postings)
    finally:
        second.stop()


def test_a_real_shop_connection_or_a_non_demo_database_is_left_alone(
    engine: Engine, fake: demo_ozon.FakeOzon, settings: MarketplaceSettings
) -> None:
    # Not the demo data set (no MSK/SPB warehouses): nothing is created.
    assert demo_ozon.attach_demo_connection(engine, fake, create=True, settings=settings) is None
    with unit_of_work(engine) as s:
        assert find_connection(s) is None
        save_connection(
            s,
            settings=settings,
            name="My shop",
            client_id="4242",
            api_key="real-key-123456789",
            base_url=None,
        )
    assert demo_ozon.attach_demo_connection(engine, fake, create=False, settings=settings) is None
    with unit_of_work(engine, read_only=True) as s:
        row = find_connection(s)
        assert row is not None and row.base_url == "https://api-seller.ozon.ru" and row.name == "My shop"
    assert not fake.state.postings


def test_a_taken_port_warns_and_yields_no_fake() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said: list[str] = []
        with demo_ozon.fake_ozon_for_demo(port, say=said.append) as started:
            assert started is None
        assert said and str(port) in said[0] and demo_ozon.PORT_ENV in said[0]


def test_the_port_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(demo_ozon.PORT_ENV, raising=False)
    assert demo_ozon.demo_port() == 8010
    monkeypatch.setenv(demo_ozon.PORT_ENV, "0")
    with demo_ozon.fake_ozon_for_demo(say=lambda _: None) as started:
        assert started is not None
        answer = httpx.post(f"{started.url}/v1/roles", json={}, headers={"Client-Id": "1", "Api-Key": "x"})
        assert answer.status_code == 403  # a real HTTP server, checking credentials
        port = int(started.url.rsplit(":", 1)[1])
    assert _port_is_free(port)  # stopped with the context


def _run_without_serving(monkeypatch: pytest.MonkeyPatch, demo: bool) -> dict[str, Any]:
    """`zakaz run` with serving, the worker and the database work replaced by recorders."""
    seen: dict[str, Any] = {}

    def prepare(*, demo: bool = True, fake_ozon: Any = None) -> None:
        seen["prepare"] = (demo, fake_ozon)
        if fake_ozon is not None:  # the fake answers while the server would run
            seen["status"] = httpx.post(f"{fake_ozon.url}/v1/roles", json={}).status_code
            seen["port"] = int(fake_ozon.url.rsplit(":", 1)[1])

    class NoWorker:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setenv(demo_ozon.PORT_ENV, "0")
    monkeypatch.setattr(run_cmd, "prepare", prepare)
    monkeypatch.setattr("zakaz.cli.worker_cmd.background_worker", lambda: NoWorker())
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: seen.setdefault("served", True))
    run_cmd.run(host="127.0.0.1", port=1, demo=demo)
    return seen


def test_zakaz_run_starts_the_fake_beside_the_server_and_stops_it_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _run_without_serving(monkeypatch, demo=True)
    assert seen["served"] and seen["prepare"][1] is not None
    assert seen["status"] == 401  # no credentials: Ozon's error shape, from a live fake
    assert _port_is_free(seen["port"])


def test_zakaz_run_no_demo_starts_no_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(demo_ozon, "start_fake_ozon", lambda port, **kw: started.append(port))
    seen = _run_without_serving(monkeypatch, demo=False)
    assert seen["served"] and seen["prepare"] == (False, None) and started == []
