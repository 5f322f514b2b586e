"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``ZAKAZ_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
A fresh database is created per test session and migrated with Alembic; each test starts from empty
tables. When PostgreSQL is unreachable the PostgreSQL variants are skipped locally but FAIL under
``CI=true``, and a CI run in which no PostgreSQL test passed fails as a whole.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from zakaz.api.app import create_app
from zakaz.auth.roles import Role
from zakaz.auth.service import create_api_key
from zakaz.config import Settings, get_settings
from zakaz.db import create_db_engine, normalise_url, unit_of_work
from zakaz.migrate import upgrade
from zakaz.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
# Webhook receivers, fake push services and fake carriers in the tests listen on loopback; production refuses
# private destinations (notifications/netguard.py; tests/notifications/test_webhooks.py checks that).
os.environ["ZAKAZ_ALLOW_PRIVATE_DESTINATIONS"] = "true"
PG_URL = os.environ.get("ZAKAZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_passed = 0


def _pg_admin() -> Engine:
    return create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"zakaz_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("db")) / "zakaz-test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


_engines: dict[str, Engine] = {}


def _clean(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Engine:
    if db_url not in _engines:
        _engines[db_url] = create_db_engine(db_url)
    eng = _engines[db_url]
    _clean(eng)
    return eng


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, api_key_cache_seconds=0)


@pytest.fixture
def cli_env(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI (``zakaz ...`` through Typer's runner) pointed at the test database."""
    monkeypatch.setenv("ZAKAZ_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Any:
    return create_app(settings, engine)


@pytest.fixture
def make_key(engine: Engine) -> Callable[[str], str]:
    def make(role: str = "admin") -> str:
        with unit_of_work(engine) as session:
            _, raw = create_api_key(session, role=Role(role), name=f"test-{role}")
        return raw

    return make


@pytest.fixture
def client(app: Any, make_key: Callable[[str], str]) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as c:
        c.headers["Authorization"] = f"Bearer {make_key('admin')}"
        yield c


class LiveServer:
    def __init__(self, app: Any) -> None:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _pg_passed
    if report.when == "call" and report.passed and "[postgres" in report.nodeid:
        _pg_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collected_pg = any("[postgres" in item.nodeid for item in getattr(session, "items", []))
    if IN_CI and collected_pg and _pg_passed == 0 and exitstatus == 0:
        session.exitstatus = 1
        print("\nCI: no PostgreSQL test passed; failing the run.")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"PostgreSQL tests passed: {_pg_passed}")
