"""The orders board at 100,000 orders: the first page, a deep keyset page and the tab counts stay fast."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from tests.web.conftest import WebClient
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.orders.models import Order
from zakaz.web import board

N = 100_000
STATUSES = [
    "new",
    "on_hold",
    "confirmed",
    "allocated",
    "backordered",
    "picking",
    "packed",
    "shipped",
    "delivered",
]
SORTS = (("created", "desc"), ("number", "asc"), ("customer", "asc"), ("total", "desc"))


def fill(engine: Engine) -> None:
    rng = random.Random(7)
    start = utcnow() - timedelta(days=120)
    rows = []
    for i in range(N):
        at = start + timedelta(seconds=i * 100 + rng.randint(0, 50))
        rows.append(
            {
                "number": f"ZK-{at:%y%m%d}-{i:06d}",
                "channel": rng.choice(("ozon", "web", "api")),
                "status": rng.choices(STATUSES, weights=(3, 1, 2, 4, 1, 2, 2, 30, 55))[0],
                "payment_status": "paid",
                "currency": "RUB",
                "subtotal_minor": 0,
                "shipping_minor": 0,
                "discount_minor": 0,
                "total_minor": rng.randint(100, 5_000_000),
                "ship_name": "",
                "ship_country": "RU",
                "ship_region": "",
                "ship_city": "Москва",
                "ship_postcode": "",
                "ship_line1": "",
                "ship_line2": "",
                "note": "",
                "contact_name": f"Customer {i % 5000}",
                "contact_phone": f"+7916{i:07d}",
                "hold_reasons": [],
                "created_at": at,
                "updated_at": at,
                "ship_by": at + timedelta(days=2),
            }
        )
    if engine.dialect.name == "postgresql":
        copy_rows(engine, rows)
        return
    with engine.begin() as conn:
        conn.execute(insert(Order.__table__), rows)


def copy_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: COPY is ~20x faster than executemany for 100,000 rows."""
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY orders ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([orjson.dumps(v).decode() if isinstance(v, list) else v for v in row.values()])
        raw.commit()
    finally:
        raw.close()


def timed(work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best


def test_board_stays_fast_at_100k_orders(engine: Engine, as_role: Callable[[str], WebClient]) -> None:
    fill(engine)
    with unit_of_work(engine, read_only=True) as session:

        def load(size: int = 50, **query: Any) -> board.Page:
            return board.load_page(session, board.BoardQuery(**query), tz="Europe/Moscow", size=size)

        deep: dict[str, str | None] = {}
        for sort, direction in (
            ("created", "desc"),
            ("number", "asc"),
            ("customer", "asc"),
            ("total", "desc"),
        ):
            page = load(200, sort=sort, dir=direction)
            assert page.total == N and len(page.orders) == 200
            cursor = page.next_cursor
            for _ in range(4):  # walk a few pages to get a cursor deep in the list
                cursor = load(200, sort=sort, dir=direction, after=cursor).next_cursor
            assert cursor
            deep[sort] = cursor
        timings = {
            "first page + counts": timed(lambda: load()),
            "deep page (created)": timed(lambda: load(after=deep["created"])),
            "deep page (number)": timed(lambda: load(sort="number", dir="asc", after=deep["number"])),
            "deep page (total)": timed(lambda: load(sort="total", dir="desc", after=deep["total"])),
            "status tab": timed(lambda: load(status="on_hold")),
            "search by phone": timed(lambda: load(q="+7 916 0054321")),
        }
    print({k: f"{v * 1000:.0f} ms" for k, v in timings.items()})
    web = as_role("admin")
    http = timed(lambda: web.get("/orders?status=allocated"))
    print(f"full board page over HTTP: {http * 1000:.0f} ms")
    # Generous bounds for a 2-core CI machine; typical numbers are in docs/back-office.md.
    assert max(timings.values()) < 1.0, timings
    assert http < 1.5
