"""The raw baseline: the order-intake transaction in plain SQL through the bare driver, no HTTP, no ORM.

Per order: insert the order row, its two lines (one statement) and an outbox row, then reserve with one
guarded ``UPDATE stock_levels SET reserved = reserved + q WHERE id = :id AND on_hand - reserved >= q``
per stock row in id order, done last (the fastest ordering; see docs/performance-notes), and commit.

PostgreSQL (psycopg 3): one connection per client, clients spread over up to four processes so that the
Python side is not the bottleneck. SQLite (sqlite3): one process, a thread per client, one writer at a time
(a process lock, as the app does), WAL and synchronous=NORMAL like the app.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import payloads as P
from bench.sysinfo import pids_cpu_seconds

ORDER_SQL = (
    "INSERT INTO orders (number, channel, external_id, customer_id, status, payment_status, currency,"
    " subtotal_minor, shipping_minor, discount_minor, total_minor, contact_name, contact_email,"
    " contact_phone,"
    " ship_name, ship_country, ship_region, ship_city, ship_postcode, ship_line1, ship_line2, ship_latitude,"
    " ship_longitude, geo_precision, ship_by, hold_reasons, allocation, note, created_at, updated_at)"
    " VALUES ({p}) RETURNING id"
).format(p=", ".join(["{ph}"] * 30))
LINES_SQL = (
    "INSERT INTO order_lines (order_id, line_no, product_id, sku, name, quantity, unit_price_minor,"
    " line_total_minor) VALUES ({p}), ({p})"
).format(p=", ".join(["{ph}"] * 8))
OUTBOX_SQL = (
    "INSERT INTO outbox (topic, aggregate_type, aggregate_id, payload, status, attempts, available_at,"
    " created_at) VALUES ({p})"
).format(p=", ".join(["{ph}"] * 8))
RESERVE_SQL = (
    "UPDATE stock_levels SET reserved = reserved + {ph}, updated_at = {ph}"
    " WHERE id = {ph} AND on_hand - reserved >= {ph}"
)


@dataclass(frozen=True)
class Job:
    kind: str
    url: str
    clients: int
    duration: float
    warmup: float
    hot: bool
    stock: dict[tuple[str, str], int]
    products: dict[str, int]
    customer_base: int


def _warehouse_for(city: str) -> str:
    return P.WAREHOUSES[zlib.crc32(city.encode()) % len(P.WAREHOUSES)][0]


def _params(job: Job, spec: P.OrderSpec, number: str, sqlite: bool) -> tuple[Any, ...]:
    now = datetime.now(UTC)
    ts: Any = now.replace(tzinfo=None).isoformat(" ") if sqlite else now
    subtotal = sum(q * P.PRICE for _, q in spec.lines)
    warehouse = "MSK" if job.hot else _warehouse_for(spec.city)
    alloc = json.dumps({"policy": "fewest_shipments", "legs": [{"warehouse": warehouse}]})
    c = spec.customer
    order = (
        number,
        "api",
        None,
        job.customer_base + c,
        "allocated",
        "paid",
        "RUB",
        subtotal,
        0,
        0,
        subtotal,
        f"Покупатель {c}",
        f"buyer{c}@example.ru",
        f"+7916{c:07d}",
        f"Покупатель {c}",
        "RU",
        "",
        spec.city,
        "125009",
        "ул. Тверская, д. 1, кв. 5",
        "",
        55.75,
        37.61,
        "city",
        ts,
        "[]",
        alloc,
        "",
        ts,
        ts,
    )
    return order, ts, warehouse  # type: ignore[return-value]


Result = tuple[int, list[float], int, float, float]  # client, latencies, all txns, client CPU, backend CPU


def _thread_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


def _run_clients(job: Job, offset: int, clients: int, start_at: float, out: Any) -> None:
    results: list[Result] = []
    threads = [
        threading.Thread(target=_client, args=(job, offset + i, start_at, results)) for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


_sqlite_writer = threading.Lock()


def _client(job: Job, index: int, start_at: float, results: list[Result]) -> None:
    sqlite = job.kind == "sqlite"
    specs = P.orders(2_000, hot=job.hot, seed=1000 + index)
    tx: Callable[[P.OrderSpec, str], None]
    if sqlite:
        conn = sqlite3.connect(job.url, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        ph = "?"
    else:
        import psycopg

        conn = psycopg.connect(job.url)  # type: ignore[assignment]
        backend = [conn.info.backend_pid]  # type: ignore[attr-defined]
        ph = "%s"
    order_sql, lines_sql, outbox_sql, reserve_sql = (
        s.replace("{ph}", ph) for s in (ORDER_SQL, LINES_SQL, OUTBOX_SQL, RESERVE_SQL)
    )

    def tx(spec: P.OrderSpec, number: str) -> None:
        order, ts, warehouse = _params(job, spec, number, sqlite)
        cur = conn.cursor()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        order_id = cur.execute(order_sql, order).fetchone()[0]
        line_params: list[Any] = []
        for n, (sku, q) in enumerate(spec.lines, 1):
            line_params += [order_id, n, job.products[sku], sku, f"Товар {sku}", q, P.PRICE, q * P.PRICE]
        cur.execute(lines_sql, line_params)
        payload = json.dumps({"order_id": order_id, "number": number, "to_status": "allocated"})
        cur.execute(outbox_sql, ("order.allocated", "order", order_id, payload, "pending", 0, ts, ts))
        per_row: dict[int, int] = {}
        for sku, q in spec.lines:
            row = job.stock[(warehouse, sku)]
            per_row[row] = per_row.get(row, 0) + q
        for row in sorted(per_row):
            cur.execute(reserve_sql, (per_row[row], ts, row, per_row[row]))
            if cur.rowcount != 1:
                raise RuntimeError("stock ran out in the raw baseline")
        if sqlite:
            cur.execute("COMMIT")
        else:
            conn.commit()

    if sqlite:
        backend = []
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0, db0 = _thread_cpu(), pids_cpu_seconds(backend)
    clock = time.perf_counter
    warm_end = clock() + job.warmup
    end = warm_end + job.duration
    latencies: list[float] = []
    i = 0
    while True:
        t0 = clock()
        if t0 >= end:
            break
        spec = specs[i % len(specs)]
        number = f"RAW-{index}-{i}-{int(t0 * 1e6) % 10**9}"
        i += 1
        if sqlite:
            with _sqlite_writer:
                tx(spec, number)
        else:
            tx(spec, number)
        t1 = clock()
        if t0 >= warm_end and t1 <= end:
            latencies.append(t1 - t0)
    cpu, db = _thread_cpu() - cpu0, pids_cpu_seconds(backend) - db0
    conn.close()
    results.append((index, latencies, i, cpu, db))


def run(job: Job) -> dict[str, Any]:
    start_at = time.time() + 0.5
    if job.kind == "sqlite":
        from sqlalchemy.engine import make_url

        job = Job(**{**job.__dict__, "url": str(Path(make_url(job.url).database or ""))})
        results: list[Result] = []
        threads = [
            threading.Thread(target=_client, args=(job, i, start_at, results)) for i in range(job.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        from sqlalchemy.engine import make_url

        plain = make_url(job.url).set(drivername="postgresql").render_as_string(hide_password=False)
        job = Job(**{**job.__dict__, "url": plain})
        procs = min(job.clients, 4)
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        share = [job.clients // procs + (1 if i < job.clients % procs else 0) for i in range(procs)]
        workers = []
        offset = 0
        for n in share:
            p = ctx.Process(target=_run_clients, args=(job, offset, n, start_at, queue))
            p.start()
            workers.append(p)
            offset += n
        results = [r for _ in workers for r in queue.get()]
        for p in workers:
            p.join()
    lat = sorted(x for r in results for x in r[1])
    txns = max(1, sum(r[2] for r in results))

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "rate": len(lat) / job.duration,
        "completed": len(lat),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "client_ms": 1000 * sum(r[3] for r in results) / txns,
        "db_ms": 1000 * sum(r[4] for r in results) / txns if job.kind != "sqlite" else float("nan"),
    }
