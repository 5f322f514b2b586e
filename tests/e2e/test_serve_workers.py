"""`zakaz serve --workers 2`: each worker listens on its own socket and clients are spread over them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_make_run import free_port
from zakaz.migrate import upgrade


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _server_side_connections(port: int) -> set[str]:
    """Inodes of established TCP connections whose local port is ``port`` (the server's end)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local_port = int(cols[1].split(":")[1], 16)
        if local_port == port and cols[3] == "01":  # ESTABLISHED
            inodes.add(cols[9])
    return inodes


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    return sock.recv(4096)


def test_two_workers_each_take_connections_and_stop_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "ZAKAZ_DATABASE_URL": url, "ZAKAZ_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zakaz.cli", "serve", "--port", str(port), "--workers", "2"], env=env
    )
    clients: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                    if _get(probe).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        time.sleep(2)  # the second worker may still be importing
        for _ in range(16):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            assert _get(sock).startswith(b"HTTP/1.1 200")
            clients.append(sock)
        workers = _children(proc.pid)
        assert len(workers) >= 2
        established = _server_side_connections(port)
        per_worker = [len(_socket_inodes(pid) & established) for pid in workers]
        held = [n for n in per_worker if n]
        assert sum(per_worker) == 16 and len(held) == 2, per_worker  # both workers serve clients
    finally:
        for sock in clients:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0 or proc.returncode in (0, -signal.SIGTERM)
    time.sleep(0.5)
    # exited (a zombie counts: its parent is gone and init reaps it when it gets to it)
    alive = [pid for pid in workers if _state(pid) not in (None, "Z")]
    assert not alive, f"workers outlived the server: {alive}"


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
