"""The back-office Ozon settings page: shown to readers, changed by admins with CSRF, key never shown."""

from __future__ import annotations

from collections.abc import Callable

from tests.marketplaces_db.conftest import Ozon
from tests.web.conftest import WebClient

# The back office's log-in fixtures, used here as they are (re-exported names are pytest fixtures).
from tests.web.conftest import as_role as as_role
from tests.web.conftest import password_hash as password_hash
from tests.web.conftest import web as web
from tests.web.conftest import web_users as web_users


def test_admin_sees_and_changes_ozon_settings(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    page = web.get("/settings/ozon")
    assert page.status_code == 200
    assert ozon.state.api_key[-4:] in page.text and ozon.state.api_key not in page.text
    assert "15110442724000" in page.text and "УТ-0001365" in page.text
    r = web.submit("/settings/ozon/warehouses", {"external_id": "777", "warehouse": "SPB"})
    assert r.status_code == 303
    assert "777" in web.get("/settings/ozon").text
    r = web.submit(
        "/settings/ozon/connection", {"client_id": "100500", "name": "Мой магазин", "api_key": "k" * 12}
    )
    assert r.status_code == 303
    page = web.get("/settings/ozon")
    assert "Мой магазин" in page.text and "k" * 12 not in page.text
    assert web.post("/settings/ozon/products", data={"offer_id": "A", "sku": "PH11042"}).status_code in (
        400,
        403,
    )


def test_readonly_cannot_change(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("readonly")
    assert web.get("/settings/ozon").status_code == 200
    r = web.submit("/settings/ozon/connection", {"client_id": "1", "api_key": "x" * 12})
    assert r.status_code == 403
