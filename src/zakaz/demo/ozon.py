"""The demo's Ozon: the fake Seller API beside ``zakaz run`` and a connection pointing at it (issue #7).

``zakaz run`` starts :func:`fake_ozon_for_demo` on 127.0.0.1 (port ``ZAKAZ_DEMO_OZON_PORT``, default 8010;
taken -> a message and no fake), then, when the demo data set was just loaded into an empty database,
:func:`attach_demo_connection` creates an Ozon connection to it (the fake's credentials), maps the fake's
FBS warehouse to MSK and its rFBS warehouse to SPB, maps a few in-stock demo products as Ozon articles,
seeds the fake with postings of those products and queues a sync, so the worker imports them at once (the
periodic sync job keeps going from there). On later starts the demo connection is pointed at the new fake
(its address may differ) and the fake gets a fresh batch of postings: the fake keeps its state in memory.

A database with another Ozon connection (a real shop) is never touched.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.db import unit_of_work
from zakaz.inventory.models import StockLevel, Warehouse
from zakaz.marketplaces.connections import find_connection, save_connection
from zakaz.marketplaces.jobs import SYNC_TOPIC
from zakaz.marketplaces.mappings import list_product_mappings, put_product_mapping, put_warehouse_mapping
from zakaz.marketplaces.models import MarketplaceProduct
from zakaz.marketplaces.ozon.fake_server import FakeOzonState, create_fake_ozon_app, seed_postings
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE
from zakaz.marketplaces.settings import MarketplaceSettings, get_marketplace_settings
from zakaz.outbox import add_messages, outbox_row

PORT_ENV = "ZAKAZ_DEMO_OZON_PORT"
DEFAULT_PORT = 8010
DEMO_NAME = "Ozon (demo, fake server)"
#: The fake's warehouses -> the demo's: FBS (Ozon delivers) from Podolsk, rFBS (we deliver) from SPb.
WAREHOUSE_MAP = {FBS_WAREHOUSE: "MSK", RFBS_WAREHOUSE: "SPB"}
#: Demo products sold on the fake Ozon, and postings seeded at every start.
ARTICLES = 8
FBS_POSTINGS = 12
RFBS_POSTINGS = 4
#: The fake's Ozon SKU of a demo product (Ozon's numbers are unrelated to ours).
OZON_SKU_BASE = 400_000_000

Say = Callable[[str], None]


@dataclass
class FakeOzon:
    """The fake Ozon running in a background thread of this process."""

    url: str
    state: FakeOzonState
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


def demo_port() -> int:
    """``ZAKAZ_DEMO_OZON_PORT`` (0 = any free port), else 8010."""
    raw = os.environ.get(PORT_ENV, "").strip()
    try:
        return int(raw) if raw else DEFAULT_PORT
    except ValueError:
        return DEFAULT_PORT


def start_fake_ozon(port: int, *, host: str = "127.0.0.1", state: FakeOzonState | None = None) -> FakeOzon:
    """Bind ``host:port`` (OSError when taken) and serve the fake there until :meth:`FakeOzon.stop`."""
    state = state or FakeOzonState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))  # no SO_REUSEADDR: a port somebody listens on must fail here
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        create_fake_ozon_app(state), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-fake-ozon", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the fake Ozon server did not start")
        time.sleep(0.02)
    return FakeOzon(f"http://{host}:{bound}", state, server, thread, sock)


@contextmanager
def fake_ozon_for_demo(port: int | None = None, *, say: Say = print) -> Iterator[FakeOzon | None]:
    """The fake for ``zakaz run``; yields None (after saying why) when it cannot start. Stopped on exit."""
    port = demo_port() if port is None else port
    try:
        fake = start_fake_ozon(port)
    except (OSError, RuntimeError) as exc:
        say(
            f"Warning: the demo's fake Ozon did not start on 127.0.0.1:{port} ({exc}); "
            "Zakaz runs without it. "
            f"Free the port or set {PORT_ENV} to another one (0 = any free port)."
        )
        yield None
        return
    try:
        yield fake
    finally:
        fake.stop()


def _demo_products(session: Session, limit: int) -> list[Product]:
    """Active products with at least 20 free units at both mapped warehouses, cheapest first (stable)."""
    codes = sorted(set(WAREHOUSE_MAP.values()))
    free = StockLevel.on_hand - StockLevel.reserved
    stocked = (
        select(StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(and_(Warehouse.code.in_(codes), free >= 20))
        .group_by(StockLevel.product_id)
        .having(func.count() == len(codes))
    )
    return list(
        session.scalars(
            select(Product)
            .where(Product.active.is_(True), Product.id.in_(stocked))
            .order_by(Product.price_minor, Product.sku)
            .limit(limit)
        )
    )


def _create(session: Session, fake: FakeOzon, settings: MarketplaceSettings) -> int | None:
    have = set(session.scalars(select(Warehouse.code).where(Warehouse.code.in_(WAREHOUSE_MAP.values()))))
    if have != set(WAREHOUSE_MAP.values()):
        return None  # not the demo data set
    row, _ = save_connection(
        session,
        settings=settings,
        name=DEMO_NAME,
        client_id=fake.state.client_id,
        api_key=fake.state.api_key,
        base_url=fake.url,
    )
    for external_id, code in WAREHOUSE_MAP.items():
        name = str(fake.state.warehouses[external_id]["name"])
        put_warehouse_mapping(session, row.id, external_id=str(external_id), warehouse_code=code, name=name)
    for product in _demo_products(session, ARTICLES):
        ozon_sku = str(OZON_SKU_BASE + product.id)
        put_product_mapping(session, row.id, offer_id=product.sku, sku=product.sku, marketplace_sku=ozon_sku)
    return row.id


def _catalog(session: Session, connection_id: int) -> list[tuple[int, str, str, str]]:
    """The fake's articles: the mapped demo products, as (Ozon SKU, offer_id, name, price string)."""
    rows = session.execute(
        select(
            MarketplaceProduct.offer_id, MarketplaceProduct.marketplace_sku, Product.name, Product.price_minor
        )
        .join(Product, Product.id == MarketplaceProduct.product_id)
        .where(MarketplaceProduct.connection_id == connection_id)
        .order_by(MarketplaceProduct.offer_id)
    ).all()
    return [
        (int(ozon_sku or OZON_SKU_BASE), offer, name, f"{price / 100:.2f}")
        for offer, ozon_sku, name, price in rows
        if (ozon_sku or "").isdigit()
    ]


def attach_demo_connection(
    engine: Engine,
    fake: FakeOzon,
    *,
    create: bool,
    settings: MarketplaceSettings | None = None,
    seed: int | None = None,
) -> str | None:
    """Create (``create``: the demo was just loaded) or re-point the demo's Ozon connection at ``fake``,
    seed the fake with postings of the mapped demo products and queue a sync.

    Returns a line for the console, or None when there is nothing to do (no demo connection and ``create``
    false, the data is not the demo's, or the database is connected to another Ozon shop).
    """
    settings = settings or get_marketplace_settings()
    with unit_of_work(engine) as session:
        row = find_connection(session)
        if row is None:
            connection_id = _create(session, fake, settings) if create else None
        elif row.name == DEMO_NAME and row.client_id == fake.state.client_id:
            row.base_url, connection_id = fake.url, row.id  # the port may differ from the last start
        else:
            connection_id = None  # a real shop: leave it alone
        if connection_id is None:
            return None
        catalog = _catalog(session, connection_id)
        known = {p.sku: OZON_SKU_BASE + p.id for p in session.scalars(select(Product))}
        if catalog:
            payload = {"connection_id": connection_id}
            add_messages(session, [outbox_row(SYNC_TOPIC, "marketplace_connection", connection_id, payload)])
    # Every demo product is an article on the fake, so stock pushes are accepted (offer_id = our SKU).
    with fake.state.lock:
        fake.state.offers.update(known)
    if not catalog:
        return f"fake Ozon at {fake.url}: no demo products mapped, no postings seeded"
    # A fresh batch of posting numbers per start (the fake forgets its postings when it stops).
    seed = int(time.time() // 60) % 5000 * 2 if seed is None else seed
    start = fake.state.wall_start - timedelta(hours=1)  # ship-by tomorrow, not overdue at once
    seed_postings(fake.state, FBS_POSTINGS, seed=seed, catalog=catalog, start=start)
    seed_postings(fake.state, RFBS_POSTINGS, seed=seed + 1, rfbs=True, catalog=catalog, start=start)
    names = ", ".join(str(m["offer_id"]) for m in list_demo_articles(engine, connection_id))
    return (
        f"fake Ozon at {fake.url}: {FBS_POSTINGS} FBS + {RFBS_POSTINGS} rFBS postings of {names}; "
        "the worker imports them now (Settings -> Ozon)"
    )


def list_demo_articles(engine: Engine, connection_id: int) -> list[dict[str, object]]:
    with unit_of_work(engine, read_only=True) as session:
        return list_product_mappings(session, connection_id)
