"""The worker loop: claim a batch, run the topic's handlers, settle each message, tick the scheduler."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import run_in_transaction
from zakaz.worker import claim as outbox
from zakaz.worker.backoff import backoff_seconds
from zakaz.worker.scheduler import PeriodicJob, Scheduler
from zakaz.worker.settings import WorkerSettings
from zakaz.worker.types import Defer, Handlers, Message, Permanent

log = logging.getLogger("zakaz.worker")

#: Completed ids are marked done together at most this often (and at the end of every batch). A crash
#: in between re-runs those handlers, which is safe: handlers are idempotent.
DONE_FLUSH_SECONDS = 0.25


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        handlers: Handlers,
        *,
        settings: WorkerSettings,
        jobs: Sequence[PeriodicJob] = (),
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.handlers = handlers
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.scheduler = Scheduler(engine, jobs, worker_id=self.worker_id)
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.stats = {"done": 0, "retried": 0, "dead": 0, "deferred": 0}

    # -- one batch -------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim and process one batch; returns how many messages were claimed."""

        def take(session: Session) -> list[Message]:
            return outbox.claim(
                session,
                worker_id=self.worker_id,
                limit=self.settings.batch_size,
                lease=self.lease,
                now=utcnow(),
            )

        batch = run_in_transaction(self.engine, take)
        if batch:
            self._process(batch)
        return len(batch)

    def _process(self, batch: list[Message]) -> None:
        done: list[int] = []
        leased_at = last_flush = time.monotonic()
        for index, message in enumerate(batch):
            if time.monotonic() - leased_at > self.settings.lease_seconds / 2:
                self._extend([m.id for m in batch[index:]])
                leased_at = time.monotonic()
            if message.attempts > self.settings.max_attempts:
                self._fail(
                    message, "gave up: claimed too many times (the worker crashed or stalled)", dead=True
                )
                continue
            if self._handle(message):
                done.append(message.id)
            if done and time.monotonic() - last_flush > DONE_FLUSH_SECONDS:
                self._complete(done)
                done, last_flush = [], time.monotonic()
        self._complete(done)

    def _handle(self, message: Message) -> bool:
        """Run the topic's handlers; True when the message is done, False when it was settled otherwise."""
        try:
            for handler in self.handlers.get(message.topic, ()):
                handler(self.engine, message)
        except Defer as deferral:
            until, reason = deferral.until, str(deferral)
            self._settle(
                lambda s: outbox.defer(s, message, worker_id=self.worker_id, until=until, reason=reason)
            )
            self.stats["deferred"] += 1
            return False
        except Permanent as exc:
            self._fail(message, f"permanent: {exc}", dead=True)
            return False
        except Exception as exc:
            log.warning("outbox %s (%s) try %s failed: %r", message.id, message.topic, message.attempts, exc)
            self._fail(
                message, f"{type(exc).__name__}: {exc}", dead=message.attempts >= self.settings.max_attempts
            )
            return False
        return True

    # -- settling --------------------------------------------------------------------------------

    def _settle(self, work: Callable[[Session], object]) -> None:
        run_in_transaction(self.engine, work)

    def _complete(self, ids: list[int]) -> None:
        if ids:
            self._settle(lambda s: outbox.complete(s, ids, worker_id=self.worker_id, now=utcnow()))
            self.stats["done"] += len(ids)

    def _extend(self, ids: list[int]) -> None:
        until = utcnow() + self.lease
        self._settle(lambda s: outbox.extend_lease(s, ids, worker_id=self.worker_id, until=until))

    def _fail(self, message: Message, error: str, *, dead: bool) -> None:
        delay = backoff_seconds(
            message.attempts, base=self.settings.backoff_base_seconds, cap=self.settings.backoff_max_seconds
        )
        retry_at = None if dead else utcnow() + timedelta(seconds=delay)
        self._settle(
            lambda s: outbox.fail(s, message, worker_id=self.worker_id, error=error, retry_at=retry_at)
        )
        self.stats["dead" if dead else "retried"] += 1

    # -- the loop --------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, parent_pid: int | None = None) -> None:
        """Work until ``stop`` is set (or the parent process is gone, when ``parent_pid`` is given)."""
        log.info("worker %s started", self.worker_id)
        last_tick = 0.0
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.info("parent process %s is gone; stopping", parent_pid)
                break
            try:
                if time.monotonic() - last_tick >= 1.0:
                    self.scheduler.tick()
                    last_tick = time.monotonic()
                claimed = self.run_once()
            except Exception:
                log.exception("worker loop error; pausing")
                claimed = 0
                stop.wait(2.0)
            if not claimed:
                stop.wait(self.settings.poll_interval_seconds)
        log.info("worker %s stopped: %s", self.worker_id, self.stats)
