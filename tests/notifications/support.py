"""Test support: real servers on loopback (SMTP, fake SMS.ru, webhook receiver) and a worker drain."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine

from zakaz.notifications.channels.base import ChannelAdapter
from zakaz.notifications.channels.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from zakaz.notifications.handlers import build_handlers
from zakaz.notifications.rules import sms_segments
from zakaz.notifications.settings import NotifySettings
from zakaz.worker.runner import Worker
from zakaz.worker.settings import WorkerSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- worker ---------------------------------------------------------------------------------------


def quiet_free(**overrides: Any) -> NotifySettings:
    """Settings for tests: no quiet hours unless asked, links to a test host."""
    base: dict[str, Any] = {
        "public_base_url": "http://testserver",
        "sms_quiet_start_hour": 0,
        "sms_quiet_end_hour": 0,
    }
    return NotifySettings(**{**base, **overrides})


def drain(
    engine: Engine,
    settings: NotifySettings | None = None,
    *,
    channels: Mapping[str, ChannelAdapter] | None = None,
    rounds: int = 100,
    **worker: Any,
) -> Worker:
    """Run a worker in this process until nothing is due."""
    handlers = build_handlers(settings or quiet_free(), channels)
    w = Worker(engine, handlers, settings=WorkerSettings(batch_size=100, backoff_base_seconds=0.05, **worker))
    for _ in range(rounds):
        if not w.run_once():
            break
    return w


# -- servers ----------------------------------------------------------------------------------------


@contextmanager
def serve(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class SmtpSink:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, SmtpSink]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


@dataclass
class FakeSmsRu:
    """SMS.ru's documented ``/sms/send`` contract (json=1): per-number status, sms_id, balance."""

    api_ids: set[str] = field(default_factory=lambda: {"test-api-id"})
    balance: float = 100.0
    sent: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=lambda: {"79990000000"})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/sms/send", methods=["GET", "POST"])
        async def send(request: Request) -> Response:
            form = dict(await request.form()) if request.method == "POST" else dict(request.query_params)
            return Response(
                orjson.dumps(self.answer({k: str(v) for k, v in form.items()})), media_type="application/json"
            )

        return app

    def answer(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("api_id") not in self.api_ids:
            return {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
        if not form.get("msg"):
            return {"status": "ERROR", "status_code": 203, "status_text": "Нет текста сообщения"}
        result: dict[str, Any] = {}
        for to in form.get("to", "").split(","):
            if not (to.isdigit() and len(to) == 11) or to in self.blocked:
                result[to] = {
                    "status": "ERROR",
                    "status_code": 207,
                    "status_text": "На этот номер нельзя отправлять сообщения",
                }
                continue
            sms_id = f"000000-{len(self.sent) + 1:08d}"
            self.balance -= 2.5 * sms_segments(form["msg"])
            self.sent.append(
                {
                    "to": to,
                    "msg": form["msg"],
                    "from": form.get("from"),
                    "sms_id": sms_id,
                    "test": form.get("test"),
                }
            )
            result[to] = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        return {"status": "OK", "status_code": 100, "sms": result, "balance": round(self.balance, 2)}


@dataclass
class WebhookReceiver:
    """A seller's endpoint: verifies signatures, dedupes by event id, optionally slow or failing."""

    secret: str = ""
    delay: float = 0.0
    fail_first: int = 0
    received: list[str] = field(default_factory=list)  # every event id, duplicates included
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)  # applied once per event id
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[], None] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def receive(request: Request) -> Response:
            raw = await request.body()
            if not verify(self.secret, request.headers.get(SIGNATURE_HEADER, ""), raw):
                self.bad_signatures += 1
                return Response(status_code=400)
            if self.on_request:
                self.on_request()
            if self.delay:
                await asyncio.sleep(self.delay)
            event = orjson.loads(raw)
            assert request.headers[EVENT_ID_HEADER] == event["id"]
            with self.lock:
                self.received.append(event["id"])
                if self.fail_first > 0:
                    self.fail_first -= 1
                    return Response(status_code=503)
                self.effects.setdefault(event["id"], event)  # dedupe by event id
            return Response(status_code=200)

        return app


# -- orders ---------------------------------------------------------------------------------------


def seed_and_order(client: Any, engine: Engine, **payload: Any) -> dict[str, Any]:
    """A warehouse with stock and one order through the API (intake writes order.received etc.)."""
    from tests.factories import add_product, add_warehouse, order_payload, set_stock

    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 100)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)], **payload))
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def move(engine: Engine, order_id: int, *targets: str, data: dict[str, Any] | None = None) -> None:
    """Walk an order through statuses with the one transition() (as fulfilment will)."""
    from zakaz.db import unit_of_work
    from zakaz.orders.states import OrderStatus
    from zakaz.orders.timeline import Timeline, transition
    from zakaz.orders.views import load_order

    with unit_of_work(engine) as s:
        order = load_order(s, order_id, for_update=True)
        timeline = Timeline()
        for target in targets:
            transition(order, OrderStatus(target), timeline=timeline, actor="test", data=data)
        timeline.flush(s)


def fetch(engine: Engine, stmt: Any) -> list[Any]:
    """ORM rows detached from their (read-only, rolled back) session, attributes loaded."""
    from zakaz.db import unit_of_work

    with unit_of_work(engine, read_only=True) as s:
        found = list(s.scalars(stmt))
        s.expunge_all()
    return found
