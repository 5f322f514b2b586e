"""Fresh, migrated databases seeded with warehouses, a catalogue, stock that will not run out, customers."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url

from bench import payloads as P
from zakaz.auth.roles import Role
from zakaz.auth.service import create_api_key
from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.customers.models import Customer
from zakaz.db import create_db_engine, normalise_url, unit_of_work
from zakaz.inventory.models import StockLevel, Warehouse
from zakaz.migrate import upgrade

PG_ADMIN_URL = os.environ.get("ZAKAZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ON_HAND = 100_000_000
HOT_ON_HAND = 2_000_000_000


@dataclass
class Database:
    kind: str  # sqlite | postgres
    url: str
    name: str

    def drop(self) -> None:
        if self.kind == "sqlite":
            path = Path(make_url(self.url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


def create(kind: str, label: str, workdir: Path) -> Database:
    name = f"zakaz_bench_{label}_{os.getpid()}_{secrets.token_hex(2)}"
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        db = Database(kind, f"sqlite:///{workdir / (name + '.db')}", name)
    else:
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(normalise_url(PG_ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
        db = Database(kind, url, name)
    try:
        upgrade(db.url)
        engine = create_db_engine(db.url)
        try:
            _seed(engine)
        finally:
            engine.dispose()
    except BaseException:
        db.drop()
        raise
    return db


def _seed(engine: Engine) -> None:
    now = utcnow()
    with unit_of_work(engine) as s:
        s.execute(
            insert(Warehouse),
            [
                {
                    "code": code,
                    "name": f"Склад {city}",
                    "city": city,
                    "latitude": lat,
                    "longitude": lon,
                    "priority": prio,
                    "active": True,
                    "created_at": now,
                }
                for code, city, lat, lon, prio in P.WAREHOUSES
            ],
        )
        products = [P.sku(i) for i in range(P.PRODUCTS)] + [P.HOT_SKU]
        s.execute(
            insert(Product),
            [
                {
                    "sku": sku,
                    "name": f"Товар {sku}",
                    "price_minor": P.PRICE,
                    "barcodes": [],
                    "active": True,
                    "allow_backorder": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for sku in products
            ],
        )
        warehouse_ids = dict(s.execute(select(Warehouse.code, Warehouse.id)).all())
        product_ids = dict(s.execute(select(Product.sku, Product.id)).all())
        rows = [
            {
                "warehouse_id": wid,
                "product_id": product_ids[P.sku(i)],
                "on_hand": ON_HAND,
                "reserved": 0,
                "updated_at": now,
            }
            for i in range(P.PRODUCTS)
            for wid in warehouse_ids.values()
        ]
        # the hot SKU lives in one warehouse only: every order for it hits the same stock row
        rows.append(
            {
                "warehouse_id": warehouse_ids["MSK"],
                "product_id": product_ids[P.HOT_SKU],
                "on_hand": HOT_ON_HAND,
                "reserved": 0,
                "updated_at": now,
            }
        )
        s.execute(insert(StockLevel), rows)
        s.execute(
            insert(Customer),
            [
                {
                    "name": f"Покупатель {c}",
                    "email": f"buyer{c}@example.ru",
                    "phone": f"+7916{c // 10000:03d}{c // 100 % 100:02d}{c % 100:02d}",
                    "locale": "ru",
                    "order_count": 0,
                    "total_spent_minor": 0,
                    "created_at": now,
                }
                for c in range(P.CUSTOMERS)
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def api_key(url: str) -> str:
    engine = create_db_engine(url)
    try:
        with unit_of_work(engine) as s:
            _, raw = create_api_key(s, role=Role.admin, name="bench")
    finally:
        engine.dispose()
    return raw


def stock_index(url: str) -> dict[tuple[str, str], int]:
    """(warehouse code, sku) -> stock_levels.id, for the raw baseline."""
    engine = create_db_engine(url)
    try:
        with unit_of_work(engine, read_only=True) as s:
            rows = s.execute(
                select(Warehouse.code, Product.sku, StockLevel.id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                .join(Product, Product.id == StockLevel.product_id)
            ).all()
    finally:
        engine.dispose()
    return {(r[0], r[1]): r[2] for r in rows}
