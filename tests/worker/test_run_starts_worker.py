"""`zakaz run` (what `make run` calls) also runs the worker: an order's e-mail is recorded with no SMTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.factories import order_payload
from tests.notifications.support import free_port


def test_zakaz_run_records_notifications(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ZAKAZ_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "ZAKAZ_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zakaz.cli", "run", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        key, output, deadline = None, "", time.monotonic() + 60
        while key is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline() if proc.stdout else ""
            output += line
            key = line.strip() if line.strip().startswith("zk_") else None
        assert key, output
        auth = {"Authorization": f"Bearer {key}"}
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        product = {"sku": "SKU-1", "name": "Чай", "price_minor": 100_00}
        assert httpx.put(f"{base}/api/v1/products/SKU-1", json=product, headers=auth).status_code in (
            200,
            201,
        )
        body = order_payload([("SKU-1", 1)])  # no stock anywhere: held, but received all the same
        r = httpx.post(f"{base}/api/v1/orders", json=body, headers=auth)
        assert r.status_code == 201, r.text
        items: list[dict[str, str]] = []
        # the message is planned (pending) first, then the worker delivers it: wait for the outcome
        while time.monotonic() < deadline:
            items = httpx.get(f"{base}/api/v1/messages", headers=auth).json()["items"]
            if items and all(m["status"] != "pending" for m in items):
                break
            time.sleep(0.2)
        assert [(m["channel"], m["event"], m["status"]) for m in items] == [("email", "received", "recorded")]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
