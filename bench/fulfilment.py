"""Fulfilment benchmark: a wave pick list over 1,000 orders, its PDF and HTML, and labels per second.

    python -m bench.fulfilment [--orders 1000] [--skus 300] [--labels 200] [--database-url URL]

A fresh SQLite database (default) is migrated and seeded; orders go through the real intake service.
Labels are measured twice: rendering only (``HttpCarrier.label``), and booking through the local fake
carrier over HTTP (booking + label, what ``POST /shipments/{id}/label`` pays). Results are written to
docs/benchmarks-fulfilment.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from zakaz.carriers.base import BookingRequest, Contact, Location, Parcel, ShipmentRequest
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.catalog.schemas import ProductIn
from zakaz.catalog.service import upsert_product
from zakaz.config import Settings
from zakaz.db import create_db_engine, run_in_transaction, unit_of_work
from zakaz.fulfilment.documents.html import pick_list_html
from zakaz.fulfilment.documents.pdfs import pick_list_pdf
from zakaz.fulfilment.picking import create_pick_list
from zakaz.fulfilment.views import pick_list_detail
from zakaz.inventory import service as stock
from zakaz.inventory.schemas import WarehouseIn
from zakaz.inventory.warehouses import upsert_warehouse
from zakaz.migrate import upgrade
from zakaz.orders.intake import IntakeConfig, receive
from zakaz.orders.schemas import OrderCreate

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-fulfilment.md"


def seed(url: str, skus: int) -> None:
    engine = create_db_engine(url)
    with unit_of_work(engine) as s:
        upsert_warehouse(
            s, WarehouseIn(code="MSK", name="Склад Москва", city="Москва", latitude=55.75, longitude=37.62)
        )
        for i in range(skus):
            upsert_product(
                s,
                ProductIn(
                    sku=f"SKU-{i:04d}",
                    name=f"Товар {i} 商品",
                    price_minor=500_00,
                    barcodes=[f"460{i:010d}"],
                    weight_g=300 + i % 700,
                    length_mm=100,
                    width_mm=100,
                    height_mm=50,
                ),
            )
    with unit_of_work(engine) as s:
        for i in range(skus):
            aisle, shelf = divmod(i, 40)
            stock.adjust(
                s,
                warehouse_code="MSK",
                sku=f"SKU-{i:04d}",
                set_on_hand=100_000,
                actor="bench",
                bin_location=f"{chr(65 + aisle % 26)}-{shelf:02d}-{i % 7 + 1:02d}",
            )
    engine.dispose()


def make_orders(url: str, orders: int, skus: int) -> float:
    engine = create_db_engine(url)
    config = IntakeConfig.from_settings(Settings(database_url=url))
    started = time.perf_counter()
    for n in range(orders):
        lines = [
            {"sku": f"SKU-{(n * 7 + k * 13) % skus:04d}", "quantity": 1 + k % 2, "unit_price_minor": 500_00}
            for k in range(1 + n % 3)
        ]
        data = OrderCreate.model_validate(
            {
                "customer": {
                    "name": f"Покупатель {n}",
                    "email": f"c{n}@example.ru",
                    "phone": f"+7916{n:07d}",
                },
                "shipping_address": {
                    "city": "Москва",
                    "line1": f"ул. Тверская, д. {n % 90 + 1}",
                    "postcode": "125009",
                },
                "lines": lines,
                "payment_status": "paid",
            }
        )
        run_in_transaction(engine, lambda s, d=data: receive(s, d, actor="bench", config=config))
    engine.dispose()
    return time.perf_counter() - started


def bench_pick_list(url: str, orders: int) -> dict[str, float]:
    engine = create_db_engine(url)
    t0 = time.perf_counter()
    data = run_in_transaction(
        engine,
        lambda s: pick_list_detail(
            s, create_pick_list(s, warehouse_code="MSK", max_orders=orders, actor="bench")
        ),
    )
    t1 = time.perf_counter()
    with unit_of_work(engine, read_only=True) as s:
        from zakaz.fulfilment.picking import load_pick_list

        pick_list_detail(s, load_pick_list(s, data["number"]))
    t2 = time.perf_counter()
    pdf = pick_list_pdf(data)
    t3 = time.perf_counter()
    html = pick_list_html(data)
    t4 = time.perf_counter()
    engine.dispose()
    return {
        "create_s": t1 - t0,
        "read_s": t2 - t1,
        "pdf_s": t3 - t2,
        "html_s": t4 - t3,
        "pdf_kb": len(pdf) / 1024,
        "html_kb": len(html.encode()) / 1024,
        "lines": data["line_count"],
        "units": data["unit_count"],
        "orders": data["order_count"],
    }


def _booking(i: int) -> BookingRequest:
    origin = Location("Москва", "Москва", "101000", 55.75, 37.62)
    destination = Location("Казань", "Республика Татарстан", "420111", 55.79, 49.11)
    request = ShipmentRequest(origin, destination, (Parcel(1200, 300, 200, 150),), 350_000, datetime.now(UTC))
    return BookingRequest(
        shipment=request,
        service_code="137",
        order_number=f"ZK-261127-{i:05d}",
        sender=Contact("Zakaz", "+74950000000", "ул. Складская, 1", origin),
        recipient=Contact("Иван Петров 王伟", "+79161234567", "ул. Баумана, 5, кв. 7", destination),
        idempotency_key=f"bench-{i}",
    )


def bench_labels(count: int) -> dict[str, float]:
    with running_fake_carrier(FakeCarrierSettings(api_key="k")) as fake:
        carrier = CdekCarrier(CarrierApiClient(fake.base_url, "k"))
        carrier.label(_booking(0), "1100000000")  # fonts registered, caches warm
        t0 = time.perf_counter()
        sizes = [len(carrier.label(_booking(i), f"11{i:08d}")) for i in range(count)]
        t1 = time.perf_counter()
        for i in range(count):
            carrier.book(_booking(i))
        t2 = time.perf_counter()
    return {
        "render_per_s": count / (t1 - t0),
        "book_per_s": count / (t2 - t1),
        "label_kb": statistics.mean(sizes) / 1024,
    }


def write_doc(
    args: argparse.Namespace, intake_s: float, pick: dict[str, float], labels: dict[str, float]
) -> str:
    db = "SQLite" if args.database_url is None else args.database_url.split(":", 1)[0]
    body = f"""# Fulfilment benchmarks

`python -m bench.fulfilment --orders {args.orders} --skus {args.skus} --labels {args.labels}` on {db};
{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()},
measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Single process, one run (numbers vary by ~10 %).

## Wave pick list

{pick["orders"]:.0f} allocated orders ({pick["units"]:.0f} units) at one warehouse, merged into
{pick["lines"]:.0f} lines (one per SKU and bin) in walking order. Intake of the orders themselves took
{intake_s:.1f} s (not part of fulfilment).

| step | time |
|---|---|
| create (shipments, lines, events, outbox; one transaction) | {pick["create_s"] * 1000:.0f} ms |
| read it back with the orders of every unit | {pick["read_s"] * 1000:.0f} ms |
| PDF with Code128 per line ({pick["pdf_kb"]:.0f} KB) | {pick["pdf_s"] * 1000:.0f} ms |
| HTML print view ({pick["html_kb"]:.0f} KB) | {pick["html_s"] * 1000:.0f} ms |

## Labels

| what | rate |
|---|---|
| render a 100 x 150 mm label ({labels["label_kb"]:.0f} KB PDF) | {labels["render_per_s"]:.0f} labels/s |
| book through the local fake carrier over HTTP + render the label | {labels["book_per_s"]:.0f} bookings/s |
"""
    DOC.write_text(body, encoding="utf-8")
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        seed(url, args.skus)
        intake_s = make_orders(url, args.orders, args.skus)
        pick = bench_pick_list(url, args.orders)
    labels = bench_labels(args.labels)
    print(write_doc(args, intake_s, pick, labels))


if __name__ == "__main__":
    main()
