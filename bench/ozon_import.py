"""Time to import N Ozon postings from the fake Seller API into orders (``zakaz ozon sync``'s code path).

The fake runs as its own process (``zakaz ozon fake-server``, real HTTP on loopback, Ozon's 50 rps limit
enforced; our client paces itself at 45 rps, 100 postings per v4 page). For each database: a fresh migrated
database, 5 products with plenty of stock in one mapped warehouse, then

1. the first sync (every posting becomes an order: intake, allocation, reservation, posting row);
2. a second sync (every posting is listed again and skipped as unchanged: the steady-state cost).

    python -m bench.ozon_import [--postings 10000] [--db sqlite|postgres|both]

Results go to docs/benchmarks-ozon.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

from bench import sysinfo
from zakaz.catalog.schemas import ProductIn
from zakaz.catalog.service import upsert_product
from zakaz.db import create_db_engine, normalise_url, unit_of_work
from zakaz.inventory import service as stock
from zakaz.inventory.schemas import WarehouseIn
from zakaz.inventory.warehouses import upsert_warehouse
from zakaz.marketplaces.connections import save_connection
from zakaz.marketplaces.mappings import put_product_mapping, put_warehouse_mapping
from zakaz.marketplaces.ozon.fake_state import CATALOG, FBS_WAREHOUSE
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.sync import sync_orders
from zakaz.migrate import upgrade
from zakaz.orders.models import Order

PG_URL = os.environ.get("ZAKAZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OUT = Path("docs/benchmarks-ozon.md")
LATIN = {"УТ-0001365": "UT-0001365", "Товар2": "TOVAR-2"}  # our SKUs are Latin; Ozon articles need not be


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(postings: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "zakaz.cli", "ozon", "fake-server", "--port", str(port)]
    cmd += ["--postings", str(postings), "--rfbs", "0", "--returns", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("fake Ozon did not start")


def seed(url: str, fake_url: str, settings: MarketplaceSettings, postings: int) -> int:
    engine = create_db_engine(url)
    with unit_of_work(engine) as s:
        upsert_warehouse(
            s, WarehouseIn(code="MSK", name="Склад", city="Москва", latitude=55.75, longitude=37.61)
        )
        for _, offer, name, _ in CATALOG:
            upsert_product(s, ProductIn(sku=LATIN.get(offer, offer), name=name, price_minor=100_00))
        s.flush()
        for _, offer, _, _ in CATALOG:
            stock.adjust(
                s, warehouse_code="MSK", sku=LATIN.get(offer, offer), set_on_hand=postings * 10, actor="b"
            )
        row, _ = save_connection(
            s,
            settings=settings,
            name="bench",
            client_id="100500",
            api_key="fake-api-key-0000-secret",
            base_url=fake_url,
        )
        put_warehouse_mapping(s, row.id, external_id=str(FBS_WAREHOUSE), warehouse_code="MSK")
        for offer, sku in LATIN.items():
            put_product_mapping(s, row.id, offer_id=offer, sku=sku)
        connection_id = row.id
    engine.dispose()
    return connection_id


def run_one(label: str, url: str, postings: int) -> dict[str, Any]:
    settings = MarketplaceSettings(secret_key=Fernet.generate_key().decode())
    upgrade(url)
    proc, fake_url = start_fake(postings)
    try:
        connection_id = seed(url, fake_url, settings, postings)
        engine = create_db_engine(url)
        first = sync_orders(engine, connection_id, settings=settings)
        second = sync_orders(engine, connection_id, settings=settings)
        with unit_of_work(engine, read_only=True) as s:
            orders = s.scalar(select(func.count()).select_from(Order)) or 0
            by_status = dict(s.execute(select(Order.status, func.count()).group_by(Order.status)).all())  # type: ignore[arg-type]
        engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "db": label,
        "postings": postings,
        "first_s": first.seconds,
        "created": first.created,
        "errors": first.errors + second.errors,
        "second_s": second.seconds,
        "unchanged": second.unchanged,
        "orders": orders,
        "by_status": by_status,
    }


def pg_database() -> tuple[str, Any]:
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"zakaz_bench_ozon_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return str(admin.url.set(database=name).render_as_string(hide_password=False)), drop


def report(results: list[dict[str, Any]], machine: dict[str, str]) -> str:
    lines = [
        "# Benchmark: importing Ozon postings",
        "",
        "`python -m bench.ozon_import` (see the module docstring for the method). The fake Seller API runs",
        "in its own process and enforces Ozon's 50 requests/s; our client paces itself at 45/s with 100",
        "postings per v4 page, so listing alone costs about N/100/45 seconds.",
        "",
        "| database | postings | first sync (import) | postings/s | second sync (all unchanged) | orders |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["created"] / r["first_s"] if r["first_s"] else 0
        lines.append(
            f"| {r['db']} | {r['postings']:,} | {r['first_s']:.1f} s | {rate:,.0f} | {r['second_s']:.1f} s "
            f"| {r['orders']:,} ({', '.join(f'{k} {v}' for k, v in sorted(r['by_status'].items()))}) |"
        )
    lines += ["", "Errors: " + ", ".join(f"{r['db']} {r['errors']}" for r in results), "", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += [
        "",
        "Notes: each posting is applied in its own transaction (intake + allocation + reservation + posting",
        "row), so one bad posting never blocks the rest; the second sync lists everything again but skips",
        "postings whose (status, substatus, ship-by, tracking) are unchanged without opening a transaction.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postings", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the docs file")
    args = parser.parse_args()
    results = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_one("SQLite", f"sqlite:///{tmp}/bench.db", args.postings))
            print(results[-1])
    if args.db in ("postgres", "both"):
        url, drop = pg_database()
        try:
            results.append(run_one("PostgreSQL", url, args.postings))
            print(results[-1])
        finally:
            drop()
    text_out = report(results, sysinfo.machine(PG_URL if args.db != "sqlite" else None))
    print(text_out)
    if not args.no_write:
        OUT.write_text(text_out)


if __name__ == "__main__":
    main()
