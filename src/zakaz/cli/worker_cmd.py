"""``zakaz worker``: run the outbox worker (notifications, webhooks, periodic jobs) until stopped."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from zakaz.cli.common import console, engine

app = typer.Typer(help="Run the outbox worker: notifications, webhooks and periodic jobs.")


def build_worker(**overrides: Any) -> Any:
    from zakaz.notifications.handlers import build_handlers
    from zakaz.notifications.jobs import periodic_jobs
    from zakaz.notifications.settings import get_notify_settings
    from zakaz.worker.runner import Worker
    from zakaz.worker.settings import get_worker_settings

    settings = get_worker_settings().model_copy(update=overrides)
    handlers = build_handlers(get_notify_settings())
    jobs = periodic_jobs(settings)
    add_fulfilment_work(handlers, jobs)  # issue #4
    add_marketplace_work(handlers, jobs)  # issue #7
    add_support_work(handlers, jobs)  # issue #7: support inbox (Ozon chats)
    add_returns_work(handlers, jobs)  # issue #6
    return Worker(engine(), handlers, settings=settings, jobs=jobs)


def add_marketplace_work(handlers: dict[str, list[Any]], jobs: list[Any]) -> None:
    """Issue #7: Ozon outbound actions (ship, cancel, tracking, labels), pushes, sync/stock/returns jobs."""
    from zakaz.marketplaces import jobs as ozon

    for topic, funcs in ozon.build_handlers().items():
        handlers.setdefault(topic, []).extend(funcs)
    jobs.extend(ozon.periodic_jobs())


def add_support_work(handlers: dict[str, list[Any]], jobs: list[Any]) -> None:
    """Issue #7: chat pushes, replies sent once, read marks, the periodic pull of unread Ozon chats."""
    from zakaz.support import jobs as support

    for topic, funcs in support.build_handlers().items():
        handlers.setdefault(topic, []).extend(funcs)
    jobs.extend(support.periodic_jobs())


# issue #4: fulfilment's worker jobs (see zakaz.fulfilment.jobs): cancel a carrier booking when a labelled
# shipment is cancelled, and poll carrier tracking for shipments on their way.
TRACKING_POLL_EVERY = timedelta(minutes=15)


def add_fulfilment_work(handlers: dict[str, list[Any]], jobs: list[Any], registry: Any = None) -> None:
    from zakaz.fulfilment.config import get_fulfilment_settings
    from zakaz.fulfilment.jobs import cancel_booking, poll_tracking_job
    from zakaz.fulfilment.registry import build_registry
    from zakaz.worker.scheduler import PeriodicJob
    from zakaz.worker.types import Message

    carriers = registry if registry is not None else build_registry(get_fulfilment_settings().carriers)

    def on_shipment_cancelled(engine: Engine, message: Message) -> None:
        cancel_booking(message.payload, carriers)

    def poll(engine: Engine) -> str:
        result = poll_tracking_job(engine, registry=carriers)
        return f"tracking polled: {result.as_json()}"

    handlers.setdefault("shipment.cancelled", []).append(on_shipment_cancelled)
    jobs.append(PeriodicJob("fulfilment.poll_tracking", TRACKING_POLL_EVERY, poll))


# issue #6: return labels are booked (and voided) by outbox jobs; return parcels are polled like shipments.
RETURN_TRACKING_POLL_EVERY = timedelta(minutes=30)


def add_returns_work(handlers: dict[str, list[Any]], jobs: list[Any], registry: Any = None) -> None:
    from zakaz.fulfilment.config import get_fulfilment_settings
    from zakaz.fulfilment.jobs import cancel_booking, poll_tracking_job
    from zakaz.fulfilment.registry import build_registry
    from zakaz.returns import labels
    from zakaz.returns import tracking as return_tracking
    from zakaz.worker.scheduler import PeriodicJob
    from zakaz.worker.types import Message

    fulfilment = get_fulfilment_settings()
    carriers = registry if registry is not None else build_registry(fulfilment.carriers)

    def on_label_requested(engine: Engine, message: Message) -> None:
        labels.label_job(
            engine, message.payload, attempts=message.attempts, registry=carriers, fulfilment=fulfilment
        )

    def on_label_voided(engine: Engine, message: Message) -> None:
        cancel_booking(message.payload, carriers)

    def poll(engine: Engine) -> str:
        result = poll_tracking_job(
            engine,
            registry=carriers,
            due=return_tracking.due_for_polling,
            apply_with=return_tracking.apply_scans,
        )
        return f"return parcels polled: {result.as_json()}"

    handlers.setdefault(labels.LABEL_TOPIC, []).append(on_label_requested)
    handlers.setdefault(labels.VOID_TOPIC, []).append(on_label_voided)
    jobs.append(PeriodicJob("returns.poll_tracking", RETURN_TRACKING_POLL_EVERY, poll))


@app.callback(invoke_without_command=True)
def worker(
    once: Annotated[bool, typer.Option(help="process what is due now, then exit")] = False,
    batch_size: Annotated[int | None, typer.Option(help="rows claimed per batch")] = None,
    parent_pid: Annotated[int | None, typer.Option(hidden=True, help="exit when this parent is gone")] = None,
) -> None:
    """Claim outbox rows and run their handlers; several workers may run at once."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"batch_size": batch_size} if batch_size else {}
    w = build_worker(**overrides)
    if once:
        w.scheduler.tick()
        total = 0
        while claimed := w.run_once():
            total += claimed
        console.print(f"processed {total} outbox messages: {w.stats}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    w.run(stop, parent_pid=parent_pid)


@contextmanager
def background_worker() -> Iterator[subprocess.Popen[bytes]]:
    """``zakaz run`` starts one worker process beside the server and stops it when the server stops.

    A separate process (not a thread) keeps rendering and SMTP/HTTP calls off the API's GIL; it also
    exits by itself if the parent dies without cleaning up (``--parent-pid``).
    """
    proc = subprocess.Popen([sys.executable, "-m", "zakaz.cli", "worker", "--parent-pid", str(os.getpid())])
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
