"""Periodic jobs run by whichever worker moves the job's ``next_run_at`` forward first.

The claim is one conditional ``UPDATE ... WHERE name = :job AND next_run_at <= :now``; a row count of 1
means this worker runs the job this time, so any number of workers can tick the same schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.worker.models import WorkerJob
from zakaz.worker.sql import insert_ignore

log = logging.getLogger("zakaz.worker")


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every: timedelta
    #: Runs in its own transactions; returns a one-line summary kept in ``worker_jobs.last_result``.
    run: Callable[[Engine], str]


class Scheduler:
    def __init__(self, engine: Engine, jobs: Sequence[PeriodicJob], *, worker_id: str) -> None:
        self.engine = engine
        self.jobs = list(jobs)
        self.worker_id = worker_id
        self._ensured = False

    def _ensure_rows(self) -> None:
        now = utcnow()
        with unit_of_work(self.engine) as session:
            for job in self.jobs:
                insert_ignore(session, WorkerJob.__table__, {"name": job.name, "next_run_at": now})  # type: ignore[arg-type]
        self._ensured = True

    def _claim(self, job: PeriodicJob) -> bool:
        now = utcnow()

        def work(session: Session) -> bool:
            result = session.execute(
                update(WorkerJob)
                .where(WorkerJob.name == job.name, WorkerJob.next_run_at <= now)
                .values(next_run_at=now + job.every, last_run_at=now, claimed_by=self.worker_id)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

        return run_in_transaction(self.engine, work)

    def tick(self) -> list[str]:
        """Run every due job once; returns the names run."""
        if not self.jobs:
            return []
        if not self._ensured:
            self._ensure_rows()
        ran = []
        for job in self.jobs:
            if not self._claim(job):
                continue
            try:
                result = job.run(self.engine)
            except Exception as exc:
                log.exception("periodic job %s failed", job.name)
                result = f"error: {exc}"
            with unit_of_work(self.engine) as session:
                session.execute(
                    update(WorkerJob)
                    .where(WorkerJob.name == job.name)
                    .values(last_result=result[:1000])
                    .execution_options(synchronize_session=False)
                )
            ran.append(job.name)
        return ran
