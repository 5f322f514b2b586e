"""Declared values on manifests are money: warehouse staff get the PDF and CSV without them, operators with.

On SQLite and PostgreSQL, through the API (keys per role) and the back office (users per role).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import order_payload, shows_currency
from tests.fulfilment.helpers import API_KEY, SECRET, pdf_text, registry_for, seed_catalogue
from tests.web.conftest import as_role, web, web_users  # noqa: F401
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier

PRICE = 1234_56  # one unit; the order's total is the declared value


def _manifest(client: TestClient, app: Any, engine: Engine) -> tuple[str, str, int]:
    """One order picked, packed, labelled and handed over. Returns (manifest, tracking number, total)."""
    seed_catalogue(engine, {"MSK": {"SKU-B": (5, "A-01")}})
    r = client.post("/api/v1/orders", json=order_payload([("SKU-B", 1)], price=PRICE))
    assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
    order = r.json()
    settings = FakeCarrierSettings(api_key=API_KEY, webhook_url=None, webhook_secret=SECRET)
    with running_fake_carrier(settings) as fake:
        app.state.carriers = registry_for(fake.base_url)
        wave = client.post("/api/v1/pick-lists", json={"warehouse": "MSK"}).json()
        client.post(f"/api/v1/pick-lists/{wave['number']}/lines/1/pick", json={"quantity": 1})
        shipment = f"{order['number']}-1"
        client.post("/api/v1/packing/start", json={"barcode": shipment})
        client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": "4601234567800"})
        assert client.post(f"/api/v1/packing/{shipment}/close", json={}).status_code == 200
        carrier = client.post(f"/api/v1/shipments/{shipment}/rate-shop", json={}).json()["carrier"]
        label = client.post(f"/api/v1/shipments/{shipment}/label")
        assert label.status_code == 201, label.text
        r = client.post("/api/v1/manifests", json={"carrier": carrier, "warehouse": "MSK"})
        assert r.status_code == 201, r.text
    return str(r.json()["number"]), str(label.json()["tracking_number"]), int(order["total_minor"])


def _amounts(total_minor: int) -> list[str]:
    """Ways the declared value could appear in a document."""
    units, cents = divmod(total_minor, 100)
    return [f"{units:,}".replace(",", " ") + f".{cents:02d}", f"{units}.{cents:02d}", str(total_minor)]


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _check(csv_body: bytes, pdf: bytes, *, tracking: str, total: int, money: bool) -> None:
    rows = _csv(csv_body)
    assert [r["tracking_number"] for r in rows] == [tracking]
    text = pdf_text(pdf)
    assert tracking in text, "the manifest itself is there either way"
    if money:
        assert rows[0]["declared_value_minor"] == str(total)
        assert _amounts(total)[0] + " RUB" in text and "Declared value" in text
    else:
        assert "declared_value_minor" not in rows[0], "no value column at all, not an empty one"
        assert "declared" not in csv_body.decode("utf-8-sig").lower()
        assert not any(amount in text for amount in _amounts(total)), text
        assert "Declared" not in text and not shows_currency(text)


@pytest.mark.parametrize(("role", "money"), [("warehouse", False), ("operator", True), ("admin", True)])
def test_api_manifest_downloads_show_declared_values_only_to_money_roles(
    client: TestClient,
    app: Any,
    engine: Engine,
    make_key: Callable[[str], str],
    role: str,
    money: bool,
) -> None:
    number, tracking, total = _manifest(client, app, engine)
    auth = {"Authorization": f"Bearer {make_key(role)}"}
    csv_r = client.get(f"/api/v1/manifests/{number}/manifest.csv", headers=auth)
    pdf_r = client.get(f"/api/v1/manifests/{number}/manifest.pdf", headers=auth)
    assert csv_r.status_code == 200 and pdf_r.status_code == 200
    _check(csv_r.content, pdf_r.content, tracking=tracking, total=total, money=money)
    detail = client.get(f"/api/v1/manifests/{number}", headers=auth).json()
    assert ("declared_value_minor" in detail["shipments"][0]) is money


def test_back_office_manifest_downloads_hide_declared_values_from_warehouse_staff(
    client: TestClient,
    app: Any,
    engine: Engine,
    as_role: Callable[[str], Any],  # noqa: F811 (the fixture imported from tests/web/conftest.py)
) -> None:
    number, tracking, total = _manifest(client, app, engine)
    for role, money in (("warehouse", False), ("operator", True)):
        user = as_role(role)
        csv_r = user.get(f"/fulfilment/manifests/{number}/manifest.csv")
        pdf_r = user.get(f"/fulfilment/manifests/{number}/manifest.pdf")
        assert csv_r.status_code == 200 and pdf_r.status_code == 200, role
        _check(csv_r.content, pdf_r.content, tracking=tracking, total=total, money=money)
