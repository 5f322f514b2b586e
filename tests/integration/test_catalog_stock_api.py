"""Products, warehouses and stock through the API, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.db import unit_of_work
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition
from zakaz.orders.views import load_order


def test_put_product_creates_then_updates_and_validates(client: TestClient) -> None:
    body = {
        "sku": "TEA-1",
        "name": "Чай пуэр 357 г",
        "price_minor": 1290_00,
        "weight_g": 400,
        "barcodes": ["4601234567893"],
    }
    created = client.put("/api/v1/products/TEA-1", json=body, headers={"Idempotency-Key": "p1"})
    assert created.status_code == 201
    updated = client.put("/api/v1/products/TEA-1", json=body | {"price_minor": 1390_00})
    assert updated.status_code == 200 and updated.json()["price_minor"] == 1390_00
    assert client.get("/api/v1/products/TEA-1").json()["name"] == "Чай пуэр 357 г"
    assert [p["sku"] for p in client.get("/api/v1/products", params={"q": "пуэр"}).json()["items"]] == [
        "TEA-1"
    ]
    bad = client.put("/api/v1/products/TEA-1", json=body | {"price_minor": -1, "weight_g": "heavy"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"price_minor", "weight_g"}
    mismatch = client.put("/api/v1/products/OTHER", json=body)
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "sku"
    assert client.get("/api/v1/products/NOPE").status_code == 404


def test_warehouses_put_and_list_by_priority(client: TestClient) -> None:
    w = {"code": "EKB", "name": "Екатеринбург", "city": "Екатеринбург", "latitude": 56.84, "longitude": 60.6}
    assert (
        client.put("/api/v1/warehouses/EKB", json=w | {"priority": 5, "cutoff_time": "14:00:00"}).status_code
        == 201
    )
    assert client.put("/api/v1/warehouses/MSK", json=w | {"code": "MSK", "priority": 1}).status_code == 201
    items = client.get("/api/v1/warehouses").json()["items"]
    assert [i["code"] for i in items] == ["MSK", "EKB"]
    assert items[1]["cutoff_time"] == "14:00:00"
    bad = client.put("/api/v1/warehouses/X", json={"code": "X", "name": "x", "latitude": 123})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "latitude"


def test_stock_levels_and_movement_history(client: TestClient, engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    r = client.post(
        "/api/v1/stock/adjust",
        json={
            "warehouse": "MSK",
            "sku": "SKU-1",
            "delta": 7,
            "reason": "receipt",
            "note": "поставка 12",
            "bin_location": "A-01-02",
        },
    )
    assert r.status_code == 200 and r.json()["available"] == 7
    client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)]))
    level = client.get("/api/v1/stock", params={"warehouse": "MSK"}).json()["items"][0]
    assert (level["on_hand"], level["reserved"], level["available"], level["bin_location"]) == (
        7,
        2,
        5,
        "A-01-02",
    )
    moves = client.get("/api/v1/stock/movements", params={"sku": "SKU-1"}).json()["items"]
    assert [(m["reason"], m["on_hand_delta"], m["reserved_delta"]) for m in moves] == [
        ("reservation", 0, 2),
        ("receipt", 7, 0),
    ]
    assert moves[0]["reference"].startswith("ZK-") and moves[1]["note"] == "поставка 12"
    unknown = client.post("/api/v1/stock/adjust", json={"warehouse": "NOPE", "sku": "SKU-1", "delta": 1})
    assert unknown.status_code == 404
    both = client.post(
        "/api/v1/stock/adjust", json={"warehouse": "MSK", "sku": "SKU-1", "delta": 1, "set_on_hand": 3}
    )
    assert both.status_code == 422


def test_value_above_history_is_held(client: TestClient, engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 100)
    for _ in range(3):
        assert (
            client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)], price=1000_00)).json()["status"]
            == "allocated"
        )
    big = client.post("/api/v1/orders", json=order_payload([("SKU-1", 6)], price=1000_00)).json()
    assert big["status"] == "on_hold"
    assert [h["code"] for h in big["hold_reasons"]] == ["value_above_history"]


def test_first_order_above_limit_is_held(client: TestClient, engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 100)
    big = client.post(
        "/api/v1/orders", json=order_payload([("SKU-1", 60)], price=1000_00, email="new@example.ru")
    )
    assert big.json()["hold_reasons"][0]["code"] == "first_order_high_value"


def test_edit_is_refused_once_picking_started_and_address_change_can_hold(
    client: TestClient, engine: Engine
) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 10)
    a = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)])).json()
    moved = client.patch(
        f"/api/v1/orders/{a['id']}",
        json={"shipping_address": {"city": "Атлантида", "line1": "ул. Морская, 1", "name": "Иван"}},
    ).json()
    assert moved["status"] == "on_hold" and moved["hold_reasons"][-1]["code"] == "address_unlocatable"
    b = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)])).json()
    with unit_of_work(engine) as s:
        order = load_order(s, b["id"])
        timeline = Timeline()
        transition(order, OrderStatus.picking, timeline=timeline, actor="test")
        timeline.flush(s)
    r = client.patch(f"/api/v1/orders/{b['id']}", json={"note": "late change"})
    assert r.status_code == 409 and "can no longer be edited" in r.json()["detail"]


def test_openapi_and_health(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/orders" in spec["paths"] and "/api/v1/stock/adjust" in spec["paths"]
    assert client.get("/healthz").json()["status"] == "ok"
