"""Settings API: connection (key write-only), sync status, warehouse/SKU mappings, roles."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.marketplaces_db.conftest import Ozon
from zakaz.db import unit_of_work
from zakaz.idempotency import IdempotencyRecord
from zakaz.marketplaces import crypto
from zakaz.marketplaces.models import MarketplaceConnection
from zakaz.marketplaces.ozon.fake_server import seed_postings
from zakaz.marketplaces.sync import sync_orders

API = "/api/v1/marketplaces/ozon"


def test_connection_key_is_never_returned(ozon: Ozon, client: TestClient) -> None:
    r = client.get(f"{API}/connection")
    assert r.status_code == 200
    body = r.json()
    assert body["api_key_last4"] == ozon.state.api_key[-4:]
    assert ozon.state.api_key not in r.text and "api_key" not in body

    new_key = "new-secret-key-123456"
    r = client.put(
        f"{API}/connection",
        json={"name": "Магазин", "client_id": "100500", "api_key": new_key},
        headers={"Idempotency-Key": "conn-1"},
    )
    assert r.status_code == 200 and new_key not in r.text and r.json()["api_key_last4"] == "3456"
    with unit_of_work(ozon.engine, read_only=True) as s:
        row = s.scalar(select(MarketplaceConnection))
        assert row is not None and new_key not in row.api_key_encrypted
        assert crypto.decrypt(row.api_key_encrypted, ozon.settings) == new_key
        stored = [
            orjson.dumps(rec.response) + rec.request_hash.encode()
            for rec in s.scalars(select(IdempotencyRecord))
        ]
    assert stored and all(new_key.encode() not in blob for blob in stored)

    # Without api_key the stored key is kept; the base URL stays.
    r = client.put(f"{API}/connection", json={"name": "Renamed", "client_id": "100500"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.json()["base_url"] == ozon.url

    # The stored key never goes to a new address: changing it needs the key again.
    moved = {"name": "Renamed", "client_id": "100500", "base_url": "http://127.0.0.1:9/steal"}
    r = client.put(f"{API}/connection", json=moved)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "api_key"
    assert client.get(f"{API}/connection").json()["base_url"] == ozon.url
    r = client.put(f"{API}/connection", json={**moved, "api_key": "another-key-0000"})
    assert r.status_code == 200 and r.json()["base_url"] == "http://127.0.0.1:9/steal"


def test_sync_status_and_errors(ozon: Ozon, client: TestClient) -> None:
    numbers = seed_postings(ozon.state, 3)
    ozon.state.postings[numbers[0]]["products"][0]["price"] = "1.001"
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    body = client.get(f"{API}/sync").json()
    assert body["syncs"]["orders"]["status"] == "partial"
    assert body["syncs"]["orders"]["summary"]["created"] == 2
    assert body["errors"][0]["external_id"] == numbers[0]
    assert client.post(f"{API}/sync").status_code == 202
    assert len(ozon.outbox("marketplace.sync_requested")) == 1


def test_mapping_crud(ozon: Ozon, client: TestClient) -> None:
    items = client.get(f"{API}/warehouses").json()["items"]
    assert {i["warehouse"] for i in items} == {"MSK", "SPB"}
    r = client.put(f"{API}/warehouses/123456", json={"warehouse": "SPB", "name": "Новый"})
    assert r.status_code == 201 and r.json()["warehouse"] == "SPB"
    assert client.put(f"{API}/warehouses/123456", json={"warehouse": "MSK"}).status_code == 200
    assert client.put(f"{API}/warehouses/123456", json={"warehouse": "NOPE"}).status_code == 404
    assert client.put(f"{API}/warehouses/abc", json={"warehouse": "MSK"}).status_code == 422
    assert client.delete(f"{API}/warehouses/123456").status_code == 200
    assert client.delete(f"{API}/warehouses/123456").status_code == 404

    r = client.put(f"{API}/products/OZ-1", json={"sku": "PH11042", "marketplace_sku": "185479045"})
    assert r.status_code == 201 and r.json() == {
        "offer_id": "OZ-1",
        "sku": "PH11042",
        "marketplace_sku": "185479045",
    }
    offers = {i["offer_id"] for i in client.get(f"{API}/products").json()["items"]}
    assert "OZ-1" in offers
    assert client.put(f"{API}/products/OZ-1", json={"sku": "MISSING"}).status_code == 404
    assert client.delete(f"{API}/products/OZ-1").status_code == 200


def test_roles(ozon: Ozon, app: object, make_key: Callable[[str], str]) -> None:
    with TestClient(app) as c:  # type: ignore[arg-type]
        assert c.get(f"{API}/connection").status_code == 401
        c.headers["Authorization"] = f"Bearer {make_key('readonly')}"
        assert c.get(f"{API}/connection").status_code == 200
        assert c.put(f"{API}/connection", json={"client_id": "1"}).status_code == 403
        assert c.put(f"{API}/warehouses/1", json={"warehouse": "MSK"}).status_code == 403
        c.headers["Authorization"] = f"Bearer {make_key('operator')}"
        assert c.put(f"{API}/products/X", json={"sku": "PH11042"}).status_code == 201
