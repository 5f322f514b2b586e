"""HTTP load generator: N keep-alive HTTP/1.1 connections on one asyncio (uvloop) loop, in its own process.

Requests are pre-built bytes; a response is read by its Content-Length. Each client sends its next order
as soon as the previous answer arrives (closed loop). Prints one JSON object: completed requests in the
measured window, status counts, latency percentiles and this process's own CPU time.

    python -m bench.load --port 8000 --key zk_... --clients 8 --duration 8 --warmup 2 [--hot]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from dataclasses import dataclass, field

from bench import payloads as P


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    all_requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _client(
    port: int, requests: list[bytes], offset: int, warm_end: float, end: float, stats: Stats
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    n = len(requests)
    clock = time.perf_counter
    try:
        while True:
            start = clock()
            if start >= end:
                return
            writer.write(requests[i % n])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            done = clock()
            stats.all_requests += 1
            if start >= warm_end and done <= end:
                stats.latencies.append(done - start)
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
    except (ConnectionError, asyncio.IncompleteReadError):
        stats.errors += 1
    finally:
        writer.close()


async def _main(args: argparse.Namespace) -> dict[str, object]:
    specs = P.orders(args.requests, hot=args.hot, seed=args.seed)
    requests = [P.http_request(s, host=f"127.0.0.1:{args.port}", api_key=args.key) for s in specs]
    stats = Stats()
    start = time.perf_counter()
    warm_end = start + args.warmup
    end = warm_end + args.duration
    cpu0 = None

    async def mark_cpu() -> None:
        nonlocal cpu0
        await asyncio.sleep(args.warmup)
        cpu0 = _cpu()

    spread = len(requests) // max(args.clients, 1)
    await asyncio.gather(
        mark_cpu(),
        *(_client(args.port, requests, c * spread, warm_end, end, stats) for c in range(args.clients)),
    )
    cpu = _cpu() - (cpu0 if cpu0 is not None else 0.0)
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    ok = sum(n for s, n in stats.statuses.items() if 200 <= s < 300)
    return {
        "clients": args.clients,
        "duration": args.duration,
        "completed": len(lat),
        "completed_all": stats.all_requests,
        "ok": ok,
        "rate": ok / args.duration,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": stats.errors,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "loadgen_cpu": cpu / args.duration,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--hot", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--requests", type=int, default=4_000)
    args = ap.parse_args()
    try:
        import uvloop
    except ImportError:
        print(json.dumps(asyncio.run(_main(args))))
    else:
        print(json.dumps(uvloop.run(_main(args))))


if __name__ == "__main__":
    main()
