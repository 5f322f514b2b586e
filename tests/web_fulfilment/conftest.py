"""Fixtures for the fulfilment and messages screens (issues #4 and #5): the back office's users, clients
and browser (re-used from tests/web), a catalogue with bins and barcodes, allocated orders, a fake carrier."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.factories import order_payload
from tests.fulfilment.helpers import API_KEY, SECRET, registry_for, seed_catalogue
from tests.web.conftest import as_role, browser, page, receive, shoot, web, web_users  # noqa: F401
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.config import Settings


@dataclass
class Orders:
    first: str  # SKU-A x2 + SKU-B x1
    second: str  # SKU-A x1

    @property
    def shipment(self) -> str:
        return f"{self.first}-1"


@pytest.fixture
def orders(engine: Engine, settings: Settings) -> Orders:
    seed_catalogue(
        engine, {"MSK": {"SKU-A": (10, "A-01-10"), "SKU-B": (5, "A-01-02"), "SKU-C": (5, "B-02-01")}}
    )
    first = receive(engine, settings, order_payload([("SKU-A", 2), ("SKU-B", 1)], external_id="F-1"))
    second = receive(
        engine, settings, order_payload([("SKU-A", 1)], email="li@example.ru", external_id="F-2")
    )
    return Orders(first, second)


@pytest.fixture
def carriers(app: Any) -> Iterator[Any]:
    """The local fake carrier API behind every configured carrier (labels, tracking, cancel)."""
    fake_settings = FakeCarrierSettings(api_key=API_KEY, webhook_url=None, webhook_secret=SECRET)
    with running_fake_carrier(fake_settings) as fake:
        app.state.carriers = registry_for(fake.base_url)
        yield fake
