"""The outbox worker's claim, lease, retry, dead-letter and scheduler, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.outbox import OutboxMessage, add_messages, outbox_row
from zakaz.worker import claim as outbox
from zakaz.worker.backoff import backoff_seconds
from zakaz.worker.runner import Worker
from zakaz.worker.scheduler import PeriodicJob, Scheduler
from zakaz.worker.settings import WorkerSettings
from zakaz.worker.types import Defer, Message


def queue(engine: Engine, n: int, topic: str = "test.ping") -> None:
    with unit_of_work(engine) as s:
        add_messages(s, [outbox_row(topic, "test", i, {"i": i}) for i in range(n)])


def rows(engine: Engine) -> list[OutboxMessage]:
    with unit_of_work(engine, read_only=True) as s:
        found = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        s.expunge_all()
    return found


def fast(**kw: Any) -> WorkerSettings:
    return WorkerSettings(**{"batch_size": 10, "backoff_base_seconds": 0.01, "max_attempts": 3, **kw})


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    assert backoff_seconds(1, base=2, cap=100, rand=lambda: 0.0) == 1.0
    assert backoff_seconds(1, base=2, cap=100, rand=lambda: 1.0) == 2.0
    assert backoff_seconds(4, base=2, cap=100, rand=lambda: 1.0) == 16.0
    assert backoff_seconds(30, base=2, cap=100, rand=lambda: 0.5) == 75.0


def test_handlers_run_once_and_messages_are_done(engine: Engine) -> None:
    seen: list[int] = []
    queue(engine, 25)
    worker = Worker(engine, {"test.ping": [lambda _e, m: seen.append(m.payload["i"])]}, settings=fast())
    while worker.run_once():
        pass
    assert sorted(seen) == list(range(25))
    assert {r.status for r in rows(engine)} == {"done"}
    assert all(r.attempts == 1 and r.processed_at for r in rows(engine))


def test_topics_without_handlers_are_settled(engine: Engine) -> None:
    queue(engine, 2, topic="order.picking")
    Worker(engine, {}, settings=fast()).run_once()
    assert {r.status for r in rows(engine)} == {"done"}


def test_concurrent_claims_never_overlap(engine: Engine) -> None:
    queue(engine, 200)
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def take(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while True:
            with unit_of_work(engine) as s:
                got = outbox.claim(s, worker_id=name, limit=7, lease=timedelta(seconds=60), now=utcnow())
            if not got:
                break
            mine += [m.id for m in got]
        claimed.append(mine)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for mine in claimed for i in mine]
    assert len(everything) == len(set(everything)) == 200


def test_an_expired_lease_makes_rows_claimable_again_and_the_old_owner_loses_them(engine: Engine) -> None:
    queue(engine, 3)
    now = utcnow()
    with unit_of_work(engine) as s:
        first = outbox.claim(s, worker_id="crashed", limit=10, lease=timedelta(seconds=30), now=now)
    assert len(first) == 3
    with unit_of_work(engine) as s:
        assert outbox.claim(s, worker_id="other", limit=10, lease=timedelta(seconds=30), now=now) == []
    later = now + timedelta(seconds=31)
    with unit_of_work(engine) as s:
        again = outbox.claim(s, worker_id="other", limit=10, lease=timedelta(seconds=30), now=later)
    assert [m.id for m in again] == [m.id for m in first]
    assert all(m.attempts == 2 for m in again)
    with unit_of_work(engine) as s:
        assert outbox.complete(s, [m.id for m in first], worker_id="crashed", now=later) == 0
        assert outbox.complete(s, [m.id for m in again], worker_id="other", now=later) == 3


def test_failures_back_off_then_go_dead_and_retry_requeues(engine: Engine) -> None:
    queue(engine, 1)

    def boom(_e: Engine, _m: Message) -> None:
        raise RuntimeError("provider down")

    worker = Worker(engine, {"test.ping": [boom]}, settings=fast(max_attempts=3, backoff_base_seconds=10))
    assert worker.run_once() == 1
    (row,) = rows(engine)
    assert row.status == "pending" and row.attempts == 1 and "provider down" in (row.last_error or "")
    assert row.available_at > utcnow()
    for _ in range(2):
        with unit_of_work(engine) as s:
            s.execute(update(OutboxMessage).values(available_at=utcnow()))
        worker.run_once()
    (row,) = rows(engine)
    assert row.status == "dead" and row.attempts == 3
    assert worker.stats == {"done": 0, "retried": 2, "dead": 1, "deferred": 0}


def test_a_message_that_keeps_killing_its_worker_is_dead_lettered(engine: Engine) -> None:
    queue(engine, 1)
    now = utcnow()
    for i in range(3):  # three workers claim it and die (no settle)
        with unit_of_work(engine) as s:
            outbox.claim(
                s, worker_id=f"w{i}", limit=1, lease=timedelta(seconds=1), now=now + timedelta(seconds=2 * i)
            )
    with unit_of_work(engine) as s:
        s.execute(update(OutboxMessage).values(available_at=utcnow() - timedelta(seconds=1)))
    ran: list[int] = []
    Worker(engine, {"test.ping": [lambda _e, m: ran.append(m.id)]}, settings=fast(max_attempts=3)).run_once()
    (row,) = rows(engine)
    assert ran == [] and row.status == "dead" and "claimed too many times" in (row.last_error or "")


def test_defer_reschedules_without_spending_an_attempt(engine: Engine) -> None:
    queue(engine, 1)
    until = utcnow() + timedelta(hours=3)

    def later(_e: Engine, _m: Message) -> None:
        raise Defer(until, "quiet hours")

    Worker(engine, {"test.ping": [later]}, settings=fast()).run_once()
    (row,) = rows(engine)
    assert row.status == "pending" and row.attempts == 0
    assert abs((row.available_at - until).total_seconds()) < 1


def test_a_periodic_job_runs_once_per_interval_across_workers(engine: Engine) -> None:
    runs: list[str] = []
    job = PeriodicJob("test.job", timedelta(hours=1), lambda _e: runs.append("x") or "ok")
    a = Scheduler(engine, [job], worker_id="a")
    b = Scheduler(engine, [job], worker_id="b")
    assert a.tick() == ["test.job"]
    assert b.tick() == [] and a.tick() == []
    assert runs == ["x"]


@pytest.mark.parametrize("n", [1])
def test_run_loop_stops_on_event(engine: Engine, n: int) -> None:
    queue(engine, 5)
    seen: list[int] = []
    stop = threading.Event()

    def handler(_e: Engine, m: Message) -> None:
        seen.append(m.id)
        if len(seen) == 5:
            stop.set()

    worker = Worker(engine, {"test.ping": [handler]}, settings=fast(poll_interval_seconds=0.05))
    t = threading.Thread(target=worker.run, args=(stop,))
    t.start()
    t.join(timeout=20)
    assert not t.is_alive() and len(seen) == 5
