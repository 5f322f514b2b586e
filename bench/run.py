"""``make bench``: HTTP order intake beside the raw database transaction, on SQLite and PostgreSQL.

For each database: a fresh migrated database for the app and one for the raw baseline, both seeded alike;
the server (``zakaz serve``, uvicorn with uvloop + httptools, no access log) runs as a subprocess; the load
generator (bench/load.py) is another process. Each case (normal catalogue / hot SKU x 1, 8, 32 clients)
runs raw, then HTTP, ``--repeat`` times interleaved; the medians are reported and written to
docs/benchmarks.md between the result markers (the rest of that file is kept).

    python -m bench.run [--quick] [--db sqlite|postgres|both] [--duration S] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import raw, seed, sysinfo

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, workers: int, src: str | None = None) -> None:
        self.url = url
        self.port = _free_port()
        env = {**os.environ, "ZAKAZ_DATABASE_URL": url, "ZAKAZ_LOG_LEVEL": "warning"}
        if src:  # serve another checkout of the code (before/after comparisons)
            env["PYTHONPATH"] = src
        cmd = [
            sys.executable,
            "-m",
            "zakaz.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        time.sleep(0.5 * workers)  # let every worker finish importing

    def cpu(self) -> float:
        return sysinfo.group_cpu_seconds(self.proc.pid)

    def backends(self) -> list[int]:
        """PostgreSQL backend pids serving this server's database (its pooled connections)."""
        if not self.url.startswith("postgresql"):
            return []
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        with engine.connect() as conn:
            pids = (
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                .scalars()
                .all()
            )
        engine.dispose()
        return list(pids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def http_load(
    server: Server, key: str, clients: int, hot: bool, duration: float, warmup: float
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.load", "--port", str(server.port), "--key", key]
    cmd += ["--clients", str(clients), "--duration", str(duration), "--warmup", str(warmup)]
    if hot:
        cmd.append("--hot")
    db0 = {pid: sysinfo.pids_cpu_seconds([pid]) for pid in server.backends()}
    cpu0, busy0 = server.cpu(), sysinfo.machine_busy()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    cpu1, busy1 = server.cpu(), sysinfo.machine_busy()
    backends = server.backends()  # connections opened during the run count from zero
    db1 = sum(sysinfo.pids_cpu_seconds([pid]) - db0.get(pid, 0.0) for pid in backends)
    result: dict[str, Any] = json.loads(out.stdout)
    wall = duration + warmup
    result["server_cpu"] = (cpu1 - cpu0) / wall
    # CPU per order over the whole run (warm-up included, so divide by every order the server took)
    orders = max(1, result["completed_all"])
    result["server_ms"] = 1000 * (cpu1 - cpu0) / orders
    result["db_ms"] = 1000 * db1 / orders if backends else float("nan")
    result["machine_busy"] = 2 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    return result


def raw_load(db: seed.Database, clients: int, hot: bool, duration: float, warmup: float) -> dict[str, Any]:
    stock = seed.stock_index(db.url)
    products, base = _ids(db.url)
    job = raw.Job(db.kind, db.url, clients, duration, warmup, hot, stock, products, base)
    return raw.run(job)


_id_cache: dict[str, tuple[dict[str, int], int]] = {}


def _ids(url: str) -> tuple[dict[str, int], int]:
    if url not in _id_cache:
        from zakaz.catalog.models import Product
        from zakaz.customers.models import Customer
        from zakaz.db import create_db_engine, unit_of_work

        engine = create_db_engine(url)
        with unit_of_work(engine, read_only=True) as s:
            products = dict(s.execute(select(Product.sku, Product.id)).all())
            base = int(s.scalar(select(func.min(Customer.id))) or 0)
        engine.dispose()
        _id_cache[url] = (products, base)
    return _id_cache[url]


def check(db: seed.Database) -> dict[str, int]:
    """Nothing lost or double-counted: stock reserved == movements == active reservations."""
    from zakaz.db import create_db_engine, unit_of_work
    from zakaz.inventory.models import Reservation, StockLevel, StockMovement
    from zakaz.orders.models import Order

    engine = create_db_engine(db.url)
    with unit_of_work(engine, read_only=True) as s:
        out = {
            "orders": int(s.scalar(select(func.count()).select_from(Order)) or 0),
            "held": int(s.scalar(select(func.count()).where(Order.status == "on_hold")) or 0),
            "reserved": int(s.scalar(select(func.sum(StockLevel.reserved))) or 0),
            "movements": int(s.scalar(select(func.sum(StockMovement.reserved_delta))) or 0),
            "reservations": int(s.scalar(select(func.sum(Reservation.quantity))) or 0),
        }
    engine.dispose()
    if not out["reserved"] == out["movements"] == out["reservations"]:
        raise SystemExit(f"consistency check failed on {db.kind}: {out}")
    return out


def _median(runs: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in runs))


def bench_db(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print(f"== {kind}: creating and seeding databases", flush=True)
    app_db = seed.create(kind, "app", workdir)
    raw_db = seed.create(kind, "raw", workdir)
    workers = args.workers if args.workers else (1 if kind == "sqlite" else 2)
    rows = []
    server = None
    try:
        key = seed.api_key(app_db.url)
        server = Server(app_db.url, workers, args.src)
        for case in args.cases:
            hot = case == "hot"
            for clients in args.clients:
                raws, https = [], []
                for _ in range(args.repeat):
                    raws.append(raw_load(raw_db, clients, hot, args.duration, args.warmup))
                    https.append(http_load(server, key, clients, hot, args.duration, args.warmup))
                row = {
                    "case": case,
                    "clients": clients,
                    "rate": _median(https, "rate"),
                    "p50": _median(https, "p50_ms"),
                    "p99": _median(https, "p99_ms"),
                    "raw": _median(raws, "rate"),
                    "raw_p50": _median(raws, "p50_ms"),
                    "raw_p99": _median(raws, "p99_ms"),
                    "loadgen_cpu": _median(https, "loadgen_cpu"),
                    "server_cpu": _median(https, "server_cpu"),
                    "busy": _median(https, "machine_busy"),
                    "server_ms": _median(https, "server_ms"),
                    "raw_client_ms": _median(raws, "client_ms"),
                    "raw_db_ms": _median(raws, "db_ms"),
                    "db_ms": _median(https, "db_ms"),
                    "non_2xx": sum(
                        sum(n for st, n in r["statuses"].items() if not st.startswith("2")) for r in https
                    ),
                    "runs": [round(r["rate"]) for r in https],
                    "raw_runs": [round(r["rate"]) for r in raws],
                }
                row["ratio"] = row["rate"] / row["raw"] if row["raw"] else float("nan")
                rows.append(row)
                print(
                    f"{kind:8} {case:6} {clients:3} clients: http {row['rate']:7.0f}/s "
                    f"p50 {row['p50']:6.1f} ms "
                    f"p99 {row['p99']:6.1f} ms | raw {row['raw']:7.0f}/s | ratio {row['ratio']:5.0%} | "
                    f"loadgen {row['loadgen_cpu']:.2f} server {row['server_cpu']:.2f} cores "
                    f"({row['server_ms']:.2f} ms/order, db {row['db_ms']:.2f}; "
                    f"raw {row['raw_client_ms']:.2f} + db "
                    f"{row['raw_db_ms']:.2f}), "
                    f"machine {row['busy']:.0%} | runs {row['runs']} raw {row['raw_runs']}",
                    flush=True,
                )
        server.stop()
        server = None
        consistency = check(app_db)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            app_db.drop()
            raw_db.drop()
    return {"kind": kind, "workers": workers, "rows": rows, "check": consistency}


def _na(x: float) -> str:
    return "-" if x != x else f"{x:.2f}"


def render(results: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace) -> str:
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    out = [START, "", f"Run: `{command}`"]
    out.append(
        f"({args.duration:g} s measured after {args.warmup:g} s warm-up, median of {args.repeat} interleaved "
        "runs; load generator, server and database on the same machine).\n"
    )
    out.append("| machine | |\n|---|---|")
    out += [f"| {k} | {v} |" for k, v in info.items()]
    for res in results:
        out.append("")
        out.append(f"### {res['kind']} ({res['workers']} uvicorn worker{'s' if res['workers'] > 1 else ''})")
        out.append("")
        out.append(
            "| case | clients | HTTP orders/s | p50 ms | p99 ms | raw orders/s | raw p50 ms | HTTP / raw "
            "| server CPU ms/order | its db CPU ms/order | raw client + db CPU ms/txn | load gen CPU "
            "| machine busy | non-2xx |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in res["rows"]:
            out.append(
                f"| {r['case']} | {r['clients']} | {r['rate']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                f"| {r['raw']:,.0f} | {r['raw_p50']:.2f} | **{r['ratio']:.0%}** | {r['server_ms']:.2f} "
                f"| {_na(r['db_ms'])} | {r['raw_client_ms']:.2f} + {_na(r['raw_db_ms'])} "
                f"| {r['loadgen_cpu']:.2f} "
                f"| {r['busy']:.0%} | {r['non_2xx']} |"
            )
        c = res["check"]
        out.append("")
        out.append(
            f"Consistency after the run: {c['orders']:,} orders ({c['held']} held); reserved units "
            f"{c['reserved']:,} = stock movements {c['movements']:,} = reservations {c['reservations']:,}."
        )
    out += ["", END]
    return "\n".join(out)


def write_doc(block: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="short runs, one repeat (a smoke test)")
    ap.add_argument("--duration", type=float, default=None, help="measured seconds per run (default 3)")
    ap.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (default 1)")
    ap.add_argument("--repeat", type=int, default=None, help="interleaved runs per case (default 3)")
    ap.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    ap.add_argument("--cases", type=lambda s: s.split(","), default=["normal", "hot"])
    ap.add_argument("--workers", type=int, default=0, help="uvicorn workers (default: sqlite 1, postgres 2)")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--src", help="serve the zakaz package from this src directory (e.g. a git archive)")
    args = ap.parse_args()
    args.duration = args.duration or (1.5 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.repeat = args.repeat or (1 if args.quick else 3)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    info = sysinfo.machine(seed.PG_ADMIN_URL if "postgres" in kinds else None)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zakaz-bench-") as tmp:
        results = [bench_db(kind, args, Path(tmp)) for kind in kinds]
    block = render(results, info, args)
    print(block)
    print(f"(took {time.monotonic() - started:.0f} s)")
    if not args.no_write:
        write_doc(block)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
