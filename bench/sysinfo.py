"""Machine facts for the report, and CPU accounting from /proc (Linux)."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine(pg_url: str | None) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), "?"
    )
    mem_kb = next(
        int(ln.split()[1])
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal")
    )
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu model": model,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if pg_url:
        try:
            out = subprocess.run(
                [
                    "psql",
                    pg_url.replace("postgresql+psycopg://", "postgresql://"),
                    "-Atc",
                    "SHOW server_version",
                ],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            info["postgresql"] = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            info["postgresql"] = "?"
    for pkg in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "uvloop", "httptools"):
        try:
            from importlib.metadata import version

            info[pkg] = version(pkg)
        except Exception:
            pass
    return info


def pids_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the given live processes (e.g. PostgreSQL backends)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a server and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is state; pgrp is the 5th field overall
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs since boot; diff two readings for utilisation."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return total - idle, total
