"""``zakaz serve --workers N``: N uvicorn processes, each with its own listening socket (``SO_REUSEPORT``).

uvicorn's own multi-process mode shares one listening socket: whichever worker wakes first accepts, and a
handful of keep-alive clients often all land on one process while the other cores idle (measured: 8
benchmark clients all on one of two workers). With ``SO_REUSEPORT`` every worker listens on a socket of
its own and the kernel spreads new connections over them by the hash of the client's address and port.
Where the option does not exist, or for one worker, uvicorn serves as usual.

The parent process only supervises: a worker that dies is started again; SIGINT/SIGTERM stop them all
(uvicorn's graceful shutdown in each).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "zakaz.api.asgi:app"


def reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(sock: socket.socket, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config(APP, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, *, workers: int, log_level: str) -> None:
    import uvicorn

    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, host=host, port=port, workers=workers, log_level=log_level, access_log=False)
        return
    context = multiprocessing.get_context("spawn")
    sockets = [reuseport_socket(host, port) for _ in range(workers)]
    stopping = False

    started: dict[int, float] = {}

    def start(sock: socket.socket) -> BaseProcess:
        process = context.Process(target=_worker, args=(sock, log_level), name="zakaz-http", daemon=False)
        process.start()
        started[id(process)] = time.monotonic()
        return process

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    processes = [start(sock) for sock in sockets]
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    if time.monotonic() - started[id(process)] < 5:
                        raise SystemExit(f"an HTTP worker exited at start (code {process.exitcode})")
                    processes[i] = start(sockets[i])  # a worker died: serve its socket again
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
        for sock in sockets:
            sock.close()
