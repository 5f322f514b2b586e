"""`zakaz run` (what `make run` calls) on a fresh SQLite file: migrates, prints an admin key, serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_zakaz_run_on_an_empty_database_serves_the_api(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ZAKAZ_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "ZAKAZ_PORT": str(port),
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "zakaz.cli", "run", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        key = None
        while time.monotonic() < deadline and key is None:
            line = proc.stdout.readline() if proc.stdout else ""
            output += line
            if line.strip().startswith("zk_"):
                key = line.strip()
            if proc.poll() is not None:
                break
        assert key, f"no admin key printed:\n{output}"
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"server did not answer /healthz:\n{output}")
        orders = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/orders", headers={"Authorization": f"Bearer {key}"}
        )
        assert orders.status_code == 200 and orders.json()["items"] == []
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["info"]["title"] == "Zakaz OMS API"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
