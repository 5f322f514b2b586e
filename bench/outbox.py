"""Outbox dispatch rate: messages settled per second by 1 and 4 worker processes, SQLite and PostgreSQL.

Two scenarios on a fresh migrated database each:

* ``noop``: N messages whose handler does nothing: the claim / settle machinery alone (batch claim,
  batched ``done``) — the ceiling of the worker.
* ``notify``: N ``order.received`` messages for real orders with no provider configured: each is planned
  (render ru e-mail, insert the delivery, queue ``notification.deliver``) and then delivered (recorded),
  so 2 N outbox messages are settled; reported as messages/s and orders notified/s.

Run: ``python -m bench.outbox [--messages 5000] [--kinds sqlite,postgres] [--workers 1,4]``.
PostgreSQL from ``ZAKAZ_BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from zakaz.clock import utcnow
from zakaz.db import create_db_engine, normalise_url, unit_of_work
from zakaz.migrate import upgrade
from zakaz.orders.models import Order
from zakaz.outbox import OutboxMessage, outbox_row

PG_ADMIN_URL = os.environ.get("ZAKAZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def create_db(kind: str, workdir: Path) -> tuple[str, str]:
    name = f"zakaz_bench_outbox_{os.getpid()}_{secrets.token_hex(3)}"
    if kind == "sqlite":
        url = f"sqlite:///{workdir / (name + '.db')}"
    else:
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(normalise_url(PG_ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, name


def drop_db(kind: str, name: str) -> None:
    if kind == "postgres":
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(url: str, scenario: str, n: int) -> None:
    engine = create_db_engine(url)
    now = utcnow()
    with unit_of_work(engine) as s:
        if scenario == "noop":
            s.execute(
                insert(OutboxMessage), [outbox_row("bench.noop", "bench", i, {"i": i}) for i in range(n)]
            )
        else:
            orders = [
                {
                    "number": f"ZK-BENCH-{i:06d}",
                    "status": "allocated",
                    "contact_name": "Иван Петров",
                    "contact_email": f"shopper{i}@example.ru",
                    "contact_phone": "+79161234567",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ]
            ids = s.execute(insert(Order).returning(Order.id), orders).scalars().all()
            rows = [
                outbox_row("order.received", "order", oid, {"order_id": oid, "at": now.isoformat()})
                for oid in ids
            ]
            s.execute(insert(OutboxMessage), rows)
    engine.dispose()


def _worker(url: str, scenario: str, start: Any) -> None:
    from zakaz.notifications.handlers import build_handlers
    from zakaz.notifications.settings import NotifySettings
    from zakaz.worker.runner import Worker
    from zakaz.worker.settings import WorkerSettings

    engine = create_db_engine(url)
    if scenario == "noop":
        handlers: Any = {"bench.noop": [lambda _e, _m: None]}
    else:
        handlers = build_handlers(NotifySettings(secret_key="bench", sms_events=[], push_events=[]))
    worker = Worker(engine, handlers, settings=WorkerSettings())
    start.wait()
    idle = 0
    while idle < 3:
        if worker.run_once():
            idle = 0
            continue
        with unit_of_work(engine, read_only=True) as s:
            left = s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "done")
            )
        idle = idle + 1 if not left else 0
        time.sleep(0.005)
    engine.dispose()


def run_once(kind: str, scenario: str, workers: int, n: int, workdir: Path) -> float:
    url, name = create_db(kind, workdir)
    try:
        fill(url, scenario, n)
        ctx = mp.get_context("fork")
        start = ctx.Event()
        procs = [ctx.Process(target=_worker, args=(url, scenario, start)) for _ in range(workers)]
        for p in procs:
            p.start()
        time.sleep(1.0)  # let every process import and connect
        t0 = time.perf_counter()
        start.set()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        engine = create_db_engine(url)
        with unit_of_work(engine, read_only=True) as s:
            done = s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "done")
            )
        engine.dispose()
        expected = n if scenario == "noop" else 2 * n
        assert done == expected, f"{done} of {expected} done"
        return expected / elapsed
    finally:
        drop_db(kind, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kinds", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--scenarios", default="noop,notify")
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, messages per run: {args.messages}, median of {args.repeat}")
    print(f"{'db':<9}{'scenario':<9}{'workers':>8}{'msg/s':>10}{'runs':>28}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for scenario in args.scenarios.split(","):
                for workers in (int(w) for w in args.workers.split(",")):
                    rates = [
                        run_once(kind, scenario, workers, args.messages, Path(tmp))
                        for _ in range(args.repeat)
                    ]
                    runs = " ".join(f"{r:,.0f}" for r in rates)
                    print(
                        f"{kind:<9}{scenario:<9}{workers:>8}{statistics.median(rates):>10,.0f}{runs:>28}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
