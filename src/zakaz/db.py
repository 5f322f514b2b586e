"""Engines, sessions and the unit of work.

SQLite is the embedded default: WAL, foreign keys on, and write transactions that start with
``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe) so that two writers can never read a
stock row outside the write lock. PostgreSQL is the scale path (psycopg 3).
Services take a ``Session`` and never commit; the entry point (HTTP request, CLI command, job) owns
the transaction through :func:`unit_of_work` or :func:`run_in_transaction`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from zakaz.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RetryableConflict(Exception):
    """Raised inside a unit of work when a concurrent writer won a race; the whole unit is retried."""


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine if isinstance(url_or_engine, str) else str(url_or_engine.url)
    return url.startswith("sqlite")


def _json_dumps(value: Any) -> str:
    # JSON columns are written on every order (timeline data, allocation, outbox payloads): orjson is
    # several times faster than the json module and writes the same JSON.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    from sqlalchemy import create_engine

    url = normalise_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _install_sqlite_recipe(engine)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", False)
    engine = create_engine(url, **kwargs)
    # Multi-row INSERTs without RETURNING (timeline, outbox, reservations, movements: 2-3 rows each) as one
    # INSERT ... VALUES (...), (...) statement, as with RETURNING, instead of psycopg's executemany, whose
    # pipeline mode costs several times the CPU for a handful of rows (measured: docs/benchmarks.md).
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_recipe(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's built-in lower() folds ASCII only; searches for "Петров" must match "петров" too.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("sqlite_deferred"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@cache
def get_engine() -> Engine:
    return create_db_engine(get_settings().database_url)


_factories: dict[tuple[Engine, bool], sessionmaker[Session]] = {}


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """One sessionmaker per engine and mode: building one (a new Session subclass) per request is costly."""
    factory = _factories.get((engine, read_only))
    if factory is None:
        bind = engine.execution_options(sqlite_deferred=True) if read_only else engine
        factory = _factories[(engine, read_only)] = sessionmaker(
            bind=bind, expire_on_commit=False, autoflush=False
        )
    return factory


@contextmanager
def unit_of_work(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with _one_writer(engine, read_only):
        session = session_factory(engine, read_only=read_only)()
        try:
            yield session
            if read_only:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


_writers: dict[str, threading.RLock] = {}


@contextmanager
def _one_writer(engine: Engine, read_only: bool) -> Iterator[None]:
    """On SQLite, one write transaction at a time per process (and database file).

    Writer threads that wait in SQLite's busy handler sleep in steps of up to 100 ms and collapse throughput
    (performance notes); a lock in the process hands the write lock over without sleeping. Other
    processes still wait in the busy handler (``busy_timeout``).
    """
    if read_only or engine.dialect.name != "sqlite":
        yield
        return
    lock = _writers.setdefault(str(engine.url), threading.RLock())
    with lock:
        yield


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, RetryableConflict | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        # serialization_failure, deadlock_detected
        return code in {"40001", "40P01"} or "database is locked" in str(exc.orig)
    return False


_DEFERRED = "zakaz.db.deferred"


def defer_writes(session: Session) -> None:
    """From now on, :func:`execute_or_defer` keeps its statements for :func:`run_deferred` (a batch of orders
    writes its own rows in one statement at its end, and these after them, in the order locks are taken)."""
    session.info[_DEFERRED] = []


def execute_or_defer(session: Session, statement: Executable, params: list[dict[str, Any]]) -> None:
    deferred: list[tuple[Executable, list[dict[str, Any]]]] | None = session.info.get(_DEFERRED)
    if deferred is None:
        session.execute(statement, params)
    else:
        deferred.append((statement, params))


def run_deferred(session: Session) -> None:
    for statement, params in session.info.pop(_DEFERRED, None) or []:
        session.execute(statement, params)


def run_in_transaction(engine: Engine, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``work`` in its own transaction, retrying lost races (conflicts, deadlocks, unique clashes).

    ``work`` must be safe to re-run from the start: it reads fresh state on every attempt.
    """
    for attempt in range(1, attempts + 1):
        try:
            with unit_of_work(engine) as session:
                return work(session)
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(random.uniform(0, 0.002 * attempt))
    raise AssertionError("unreachable")
