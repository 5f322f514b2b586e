"""Back-office fixtures: users for every role (one password hash per run), and a small set of orders."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.auth.roles import Role
from zakaz.config import Settings
from zakaz.db import unit_of_work
from zakaz.orders import intake
from zakaz.orders.models import Order
from zakaz.orders.schemas import OrderCreate
from zakaz.users.models import User
from zakaz.users.passwords import hash_password

PASSWORD = "correct horse battery"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def email_of(role: str) -> str:
    return f"{role}@example.test"


@pytest.fixture
def web_users(engine: Engine) -> dict[str, str]:
    """One user per role, all with PASSWORD; returns role -> e-mail."""
    rows = [
        {
            "email": email_of(role.value),
            "password_hash": password_hash(),
            "role": role.value,
            "locale": "en",
            "active": True,
        }
        for role in Role
    ]
    with unit_of_work(engine) as session:
        session.execute(insert(User), rows)
    return {role.value: email_of(role.value) for role in Role}


@dataclass
class Shop:
    """Orders made through the real intake: one allocated, one held (high value, first order)."""

    allocated: str
    held: str
    numbers: list[str]


def receive(engine: Engine, settings: Settings, payload: dict[str, Any]) -> str:
    config = intake.IntakeConfig.from_settings(settings)
    with unit_of_work(engine) as session:
        result = intake.receive(session, OrderCreate.model_validate(payload), actor="test", config=config)
        number = session.scalar(select(Order.number).where(Order.id == result.order_id))
    assert number is not None
    return number


@pytest.fixture
def shop(engine: Engine, settings: Settings) -> Shop:
    add_warehouse(engine, "MSK")
    add_warehouse(engine, "SPB")
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        add_product(engine, sku, name=f"Чайник {sku}")
        set_stock(engine, "MSK", sku, 20)
        set_stock(engine, "SPB", sku, 5)
    allocated = receive(engine, settings, order_payload([("SKU-1", 2)], external_id="A-1"))
    held = receive(
        engine,
        settings,
        order_payload(
            [("SKU-2", 1)],
            price=6_000_000,
            email="big@example.ru",
            phone="+7 903 555-00-11",
            external_id="A-2",
        ),
    )
    others = [
        receive(
            engine,
            settings,
            order_payload(
                [("SKU-3", 1)], email=f"c{i}@example.ru", phone=f"+7 916 000-00-{i:02d}", external_id=f"B-{i}"
            ),
        )
        for i in range(3)
    ]
    return Shop(allocated=allocated, held=held, numbers=[allocated, held, *others])


@pytest.fixture
def status_of(engine: Engine) -> Callable[[str], str]:
    def get(number: str) -> str:
        with unit_of_work(engine, read_only=True) as session:
            status = session.scalar(select(Order.status).where(Order.number == number))
        assert status is not None
        return status

    return get


# --- HTTP client (no browser) -----------------------------------------------------------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebClient(TestClient):
    """A TestClient that logs in through the form and knows its CSRF token."""

    csrf: str = ""

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        form = self.get("/login")
        token = CSRF_FIELD.search(form.text)
        assert token, form.text
        response = self.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/"},
            follow_redirects=False,
        )
        if response.status_code == 303:
            page = self.get("/")
            found = CSRF_META.search(page.text)
            assert found, page.text
            self.csrf = found.group(1)
        return response

    def submit(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form with this session's CSRF token, not following the redirect."""
        kwargs.setdefault("follow_redirects", False)
        return self.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


@pytest.fixture
def web(app: Any) -> Iterator[WebClient]:
    with WebClient(app, base_url="http://testserver", headers={"Accept": "text/html"}) as client:
        yield client


@pytest.fixture
def as_role(web: WebClient, web_users: dict[str, str]) -> Callable[[str], WebClient]:
    def login(role: str) -> WebClient:
        web.cookies.clear()
        assert web.login(web_users[role]).status_code == 303
        return web

    return login


# --- browser -----------------------------------------------------------------------------------------

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


#: issue #4: the running Chromium, shared by every directory that imports this fixture (two sync
#: Playwright instances cannot run in one process).
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (the Debian package, never a downloaded build) for the whole run."""
    executable = shutil.which("chromium")
    if executable is None:
        message = "chromium not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    if "chromium" in _SHARED:  # issue #4: tests/web_fulfilment re-uses this fixture; one Playwright only
        yield _SHARED["chromium"]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        _SHARED["chromium"] = chromium
        try:
            yield chromium
        finally:
            _SHARED.pop("chromium", None)
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Any, str], None]:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>-<database>.png."""
    database = "postgres" if "[postgres" in request.node.nodeid else "sqlite"

    def save(tab: Any, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{name}-{database}.png"), full_page=True)

    return save
