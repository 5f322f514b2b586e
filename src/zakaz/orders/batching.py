"""Group commit for order intake: the orders that arrive together are received in one transaction.

Each API worker process hands every ``POST /api/v1/orders`` to one intake thread (:class:`IntakeBatcher`).
The thread takes whatever has queued up while the previous transaction ran (up to ``max_batch``) and
receives those orders one after the other in a single transaction, so BEGIN, COMMIT (and its WAL flush)
and the per-transaction work are paid once per batch instead of once per order. A lone order is received
exactly as before, in its own transaction.

Every order still gets its own answer only after the transaction holding it has committed. The rules do
not change: each order is received by the same unit of work as alone, sees the orders before it in the
batch (customer history, stock they took) and is validated, held or allocated on its own. On PostgreSQL
the whole batch is read in one statement before its first order and written in one after its last
(:mod:`zakaz.orders.intake_batch`), the stock rows and customer totals locked in id order and the stock
guarded against overselling.

On PostgreSQL the intake threads have connections of their own (:func:`intake_engine`) on which the server
plans intake's constant statements once (``plan_cache_mode = force_generic_plan``): left to choose, it
kept planning them anew on every execution (custom plans), which cost more than running them.

If a batch fails, its transaction is rolled back. A lost race (an order number drawn twice, a stock row
another process emptied, a deadlock: :func:`zakaz.db.is_transient`) runs it again once, as a batch; any
other failure (an invalid order, the same order twice in the batch), or a second one, has each of its
orders received alone, with the usual retries: the outcome of every request is what it would have been
without batching. See docs/benchmarks.md for what it buys.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.db import create_db_engine, is_transient, run_in_transaction, unit_of_work
from zakaz.orders import intake_batch, intake_pg

if TYPE_CHECKING:
    from zakaz.orders.intake import IntakeConfig
    from zakaz.orders.schemas import OrderCreate

log = logging.getLogger(__name__)

Unit = Callable[[Session], Any]


@dataclass
class _Job:
    unit: Unit
    order: tuple[OrderCreate, IntakeConfig] | None = None  # what the unit receives, read with its batch
    future: Future[Any] = field(default_factory=Future)


@dataclass
class BatchStats:
    batches: int = 0
    orders: int = 0
    retries: int = 0  # batches rolled back by a lost race and run again as a batch
    fallbacks: int = 0  # batches rolled back and received order by order
    largest: int = 0


# Measured in-process (docs/benchmarks.md): PostgreSQL CPU per order 0.80 -> 0.53 ms alone, 0.57 -> 0.40
# ms in batches of 8; the read statement's 0.38 ms was 0.14 ms of planning per execution.
GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan"


def intake_engine(engine: Engine, connections: int) -> Engine:
    """The engine intake runs on: on PostgreSQL a pool of ``connections`` beside ``engine``, whose
    sessions use generic plans for prepared statements. Intake's statements are constant and their plans do
    not depend on the values (unique-key look-ups, ``unnest``/``json_to_recordset`` rows, row locks by id),
    so planning once per connection is right for them; the rest of the application keeps PostgreSQL's
    choice (a list filtered on a rare status may well need a custom plan). SQLite: ``engine`` itself."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_db_engine(
        engine.url.render_as_string(hide_password=False),
        pool_size=connections,  # one per intake thread, kept open while it runs
        max_overflow=connections,
        connect_args={"options": GENERIC_PLANS},
    )


class IntakeBatcher:
    """The process's intake threads (``threads``, started on demand), each taking the next batch from one
    queue; a thread exits after ``idle_seconds`` without work.

    On PostgreSQL two threads by default, so that one thread's batch is in the database while the other's
    orders are checked and routed in Python; SQLite writes one transaction at a time, so one thread there.
    On PostgreSQL they work on their own :func:`intake_engine`, whose connections the last of them closes
    when it exits."""

    def __init__(
        self, engine: Engine, *, max_batch: int = 64, idle_seconds: float = 5.0, threads: int | None = None
    ) -> None:
        postgres = engine.dialect.name == "postgresql"
        self.threads = threads if threads is not None else (2 if postgres else 1)
        self.engine = intake_engine(engine, self.threads)
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, unit: Unit, order: tuple[OrderCreate, IntakeConfig] | None = None) -> Future[Any]:
        """Queue ``unit`` (re-runnable, database work only); its result or exception arrives on the future.

        ``order``: the order the unit receives (with ``intake.receive``) and its intake settings. On
        PostgreSQL the orders of a batch are then read and written together (:mod:`intake_batch`); a unit
        that receives an order without saying so makes its batch fall back to one by one."""
        job = _Job(unit, order)
        with self._lock:
            self._queue.put(job)
            if len(self._threads) < self.threads:
                thread = threading.Thread(target=self._loop, name="zakaz-intake", daemon=True)
                self._threads.append(thread)
                thread.start()
        return job.future

    def _next_batch(self) -> list[_Job] | None:
        try:
            first = self._queue.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self._lock:
                if self._queue.empty():  # nothing arrived meanwhile: let the thread go
                    self._threads.remove(threading.current_thread())
                    if not self._threads and self.engine.dialect.name == "postgresql":
                        self.engine.dispose()  # its idle connections; the next order opens new ones
                    return None
            first = self._queue.get()
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                jobs = [job for job in batch if job.future.set_running_or_notify_cancel()]
                try:
                    if jobs:
                        self._run(jobs)
                except BaseException as exc:  # not an error of an order's: the thread ends, no request waits
                    for job in jobs:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    raise
        finally:
            with self._lock:  # gone from the list, so that the next order starts a thread again
                if threading.current_thread() in self._threads:
                    self._threads.remove(threading.current_thread())

    def _run(self, jobs: list[_Job]) -> None:
        self.stats.batches += 1
        self.stats.orders += len(jobs)
        self.stats.largest = max(self.stats.largest, len(jobs))
        for attempt in (1, 2) if len(jobs) > 1 else ():
            try:
                results = self._together(jobs)
            except Exception as exc:
                # A lost race (an order number drawn twice, a stock row emptied meanwhile, a deadlock) is
                # tried again as a batch, once; anything else, or a second failure: each order alone below.
                if attempt == 1 and is_transient(exc):
                    self.stats.retries += 1
                    log.debug("intake batch of %d rolled back (%s); trying again", len(jobs), exc)
                    continue
                self.stats.fallbacks += 1
                log.debug("intake batch of %d rolled back (%s); receiving one by one", len(jobs), exc)
                break
            for job, result in zip(jobs, results, strict=True):
                job.future.set_result(result)
            return
        for job in jobs:
            try:
                job.future.set_result(run_in_transaction(self.engine, job.unit))
            except BaseException as exc:  # handed to the request that owns it
                job.future.set_exception(exc)

    def _together(self, jobs: list[_Job]) -> list[Any]:
        with unit_of_work(self.engine) as session:
            orders = [job.order for job in jobs if job.order is not None]
            batch = intake_batch.begin(session, orders) if orders and intake_pg.enabled(session) else None
            try:
                results = [job.unit(session) for job in jobs]
            finally:
                intake_pg.set_batch(session, None)
            if batch is not None:
                batch.finish(session)
        return results
