"""Warehouse keys (no ``money:read``) get API answers without amounts; other roles get them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_warehouse_key_reads_orders_and_products_without_money(
    app: Any, client: TestClient, engine: Engine, make_key: Callable[[str], str]
) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 5)
    number = client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)])).json()["number"]
    paths = [f"/api/v1/orders/{number}", "/api/v1/orders", "/api/v1/products", "/api/v1/products/SKU-1"]
    money = {"total_minor", "unit_price_minor", "price_minor", "payment_status"}
    for path in paths:
        full = client.get(path)
        assert full.status_code == 200 and money & _keys(full.json()), path  # admin sees amounts
    with TestClient(app) as warehouse:
        warehouse.headers["Authorization"] = f"Bearer {make_key('warehouse')}"
        for path in paths:
            r = warehouse.get(path)
            assert r.status_code == 200, path
            keys = _keys(r.json())
            assert not {k for k in keys if k.endswith("_minor")} and "payment_status" not in keys, path
        order = warehouse.get(f"/api/v1/orders/{number}").json()
        assert order["number"] == number and order["lines"][0]["sku"] == "SKU-1"  # the rest is still there
        assert int(warehouse.get(f"/api/v1/orders/{number}").headers["content-length"]) > 0
