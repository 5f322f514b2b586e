"""Order intake and operator actions through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.db import unit_of_work
from zakaz.inventory.models import Reservation, StockLevel, StockMovement
from zakaz.orders.models import Order, OrderEvent
from zakaz.outbox import OutboxMessage


def seed(engine: Engine) -> None:
    for code in ("MSK", "SPB", "NSK"):
        add_warehouse(engine, code)
    for sku in ("SKU-1", "SKU-2"):
        add_product(engine, sku)
    add_product(engine, "BACK", backorder=True)
    set_stock(engine, "MSK", "SKU-1", 5)
    set_stock(engine, "SPB", "SKU-1", 10)
    set_stock(engine, "SPB", "SKU-2", 10)
    set_stock(engine, "NSK", "SKU-2", 10)


def stock_of(engine: Engine, sku_warehouse: tuple[str, str]) -> tuple[int, int]:
    from zakaz.catalog.models import Product
    from zakaz.inventory.models import Warehouse

    sku, code = sku_warehouse
    with unit_of_work(engine, read_only=True) as s:
        row = s.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.sku == sku, Warehouse.code == code)
        ).one()
    return row.on_hand, row.reserved


def count(engine: Engine, model: Any) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_clean_order_is_confirmed_allocated_to_nearest_full_warehouse_and_reserved(
    client: TestClient, engine: Engine
) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)], city="Москва"))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "allocated"
    assert order["number"].startswith("ZK-")
    assert order["total_minor"] == 200_00
    assert [leg["warehouse"] for leg in order["allocation"]["legs"]] == ["MSK"]
    assert "fills the whole order" in order["allocation"]["legs"][0]["reason"]
    assert [e["to_status"] for e in order["timeline"]] == ["new", "confirmed", "allocated"]
    assert stock_of(engine, ("SKU-1", "MSK")) == (5, 2)
    assert order["customer"]["phone"] == "+79161234567"


def test_order_needing_two_skus_goes_to_the_one_warehouse_that_has_both(
    client: TestClient, engine: Engine
) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1), ("SKU-2", 1)], city="Москва"))
    assert r.status_code == 201
    legs = r.json()["allocation"]["legs"]
    assert [leg["warehouse"] for leg in legs] == ["SPB"], "one shipment beats nearer partial stock"


def test_split_when_no_single_warehouse_can_fill(client: TestClient, engine: Engine) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 12)], city="Москва"))
    assert r.status_code == 201
    body = r.json()
    assert body["allocation"]["split"] is True
    assert sorted((leg["warehouse"], leg["lines"][0]["quantity"]) for leg in body["allocation"]["legs"]) == [
        ("MSK", 2),
        ("SPB", 10),
    ]


def test_idempotency_key_replays_and_rejects_a_different_body(client: TestClient, engine: Engine) -> None:
    seed(engine)
    payload = order_payload([("SKU-1", 1)])
    first = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "abc-1"})
    again = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert count(engine, Order) == 1
    assert stock_of(engine, ("SKU-1", "MSK")) == (5, 1), "no second reservation"
    other = client.post(
        "/api/v1/orders", json=order_payload([("SKU-1", 2)]), headers={"Idempotency-Key": "abc-1"}
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "/problems/idempotency-key-reused"


def test_same_channel_and_external_id_returns_the_same_order(client: TestClient, engine: Engine) -> None:
    seed(engine)
    payload = order_payload([("SKU-1", 1)], channel="web", external_id="W-1001")
    first = client.post("/api/v1/orders", json=payload)
    second = client.post("/api/v1/orders", json=payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert count(engine, Order) == 1 and count(engine, Reservation) == 1


def test_structural_errors_name_each_field_and_write_nothing(client: TestClient, engine: Engine) -> None:
    seed(engine)
    bad = order_payload([("NOPE", 1), ("SKU-1", 0)], email="bad@", phone="123", total_minor=1)
    bad["shipping_address"] = {"city": "", "line1": ""}
    before = (count(engine, Order), count(engine, StockMovement))
    r = client.post("/api/v1/orders", json=bad)
    assert r.status_code == 422
    problem = r.json()
    assert problem["status"] == 422 and problem["type"] == "/problems/validation-error"
    fields = {e["field"] for e in problem["errors"]}
    assert {
        "lines[0].sku",
        "lines[1].quantity",
        "customer.email",
        "customer.phone",
        "shipping_address.city",
        "shipping_address.line1",
        "total_minor",
    } <= fields
    assert (count(engine, Order), count(engine, StockMovement)) == before


def test_type_errors_and_malformed_json_are_problems_not_500(client: TestClient, engine: Engine) -> None:
    r = client.post("/api/v1/orders", json={"customer": {}, "shipping_address": {}, "lines": [{"sku": "A"}]})
    assert r.status_code == 422
    assert {"lines[0].quantity", "lines[0].unit_price_minor"} <= {e["field"] for e in r.json()["errors"]}
    r = client.post("/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"


def test_unlocatable_address_holds_and_release_allocates(client: TestClient, engine: Engine) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)], city="Нигдебург"))
    body = r.json()
    assert body["status"] == "on_hold"
    assert [h["code"] for h in body["hold_reasons"]] == ["address_unlocatable"]
    assert body["allowed_actions"] == ["release", "cancel"]
    assert count(engine, Reservation) == 0, "held orders do not take stock"
    released = client.post(f"/api/v1/orders/{body['number']}/release", json={"reason": "checked by phone"})
    assert released.status_code == 200
    assert released.json()["status"] == "allocated"
    assert released.json()["hold_reasons"] == []


def test_insufficient_stock_without_backorder_holds_with_reason(client: TestClient, engine: Engine) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 100)]))
    assert r.json()["status"] == "on_hold"
    assert r.json()["hold_reasons"][0]["code"] == "insufficient_stock"
    assert "SKU-1 x85" in r.json()["hold_reasons"][0]["detail"]


def test_backorder_then_stock_arrives_and_the_order_is_allocated(client: TestClient, engine: Engine) -> None:
    seed(engine)
    set_stock(engine, "MSK", "BACK", 1)
    r = client.post("/api/v1/orders", json=order_payload([("BACK", 3)]))
    order = r.json()
    assert order["status"] == "backordered"
    assert order["allocation"]["backordered"][0]["quantity"] == 2
    adj = client.post(
        "/api/v1/stock/adjust", json={"warehouse": "MSK", "sku": "BACK", "delta": 5, "reason": "receipt"}
    )
    assert adj.status_code == 200, adj.text
    assert adj.json()["backorders_allocated"] == [order["number"]]
    after = client.get(f"/api/v1/orders/{order['number']}").json()
    assert after["status"] == "allocated"
    assert stock_of(engine, ("BACK", "MSK")) == (6, 3)


def test_cancel_releases_every_reserved_unit_with_movements(client: TestClient, engine: Engine) -> None:
    seed(engine)
    order = client.post("/api/v1/orders", json=order_payload([("SKU-1", 12)])).json()
    r = client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "customer asked"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert stock_of(engine, ("SKU-1", "MSK"))[1] == 0 and stock_of(engine, ("SKU-1", "SPB"))[1] == 0
    with unit_of_work(engine, read_only=True) as s:
        net = s.scalar(select(func.sum(StockMovement.reserved_delta)))
    assert net == 0
    again = client.post(f"/api/v1/orders/{order['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["allowed"] == []


def test_invalid_transition_is_409_with_allowed_list(client: TestClient, engine: Engine) -> None:
    seed(engine)
    order = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)])).json()
    r = client.post(f"/api/v1/orders/{order['id']}/release")
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/invalid-transition"
    assert set(r.json()["allowed"]) == {"picking", "backordered", "on_hold", "cancelled"}


def test_every_transition_wrote_an_event_and_an_outbox_row(client: TestClient, engine: Engine) -> None:
    seed(engine)
    order = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)])).json()
    client.post(f"/api/v1/orders/{order['id']}/hold", json={"reason": "customer called"})
    with unit_of_work(engine, read_only=True) as s:
        topics = list(s.scalars(select(OutboxMessage.topic).order_by(OutboxMessage.id)))
        events = list(s.scalars(select(OrderEvent.to_status).order_by(OrderEvent.id)))
    assert topics == ["order.received", "order.confirmed", "order.allocated", "order.on_hold"]
    assert events == ["new", "confirmed", "allocated", "on_hold"]


def test_edit_lines_reallocates_and_records_before_and_after(client: TestClient, engine: Engine) -> None:
    seed(engine)
    order = client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)])).json()
    r = client.patch(
        f"/api/v1/orders/{order['id']}",
        json={
            "lines": [{"sku": "SKU-2", "quantity": 3, "unit_price_minor": 50_00}],
            "reason": "customer changed",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "allocated"
    assert body["total_minor"] == 150_00
    assert stock_of(engine, ("SKU-1", "MSK")) == (5, 0)
    assert stock_of(engine, ("SKU-2", "SPB")) == (10, 3)
    edited = next(e for e in body["timeline"] if e["type"] == "edited")
    assert edited["data"]["before"]["lines"][0]["sku"] == "SKU-1"
    assert edited["data"]["after"]["lines"][0]["sku"] == "SKU-2"


def test_list_filters_search_and_cursor_pagination(client: TestClient, engine: Engine) -> None:
    seed(engine)
    numbers = []
    for i in range(5):
        o = client.post(
            "/api/v1/orders", json=order_payload([("SKU-2", 1)], phone=f"+7 916 000-00-0{i}")
        ).json()
        numbers.append(o["number"])
    page1 = client.get("/api/v1/orders", params={"limit": 2}).json()
    page2 = client.get("/api/v1/orders", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    page3 = client.get("/api/v1/orders", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
    seen = [o["number"] for o in page1["items"] + page2["items"] + page3["items"]]
    assert seen == list(reversed(numbers)) and page3["next_cursor"] is None
    by_number = client.get("/api/v1/orders", params={"q": numbers[2].lower()}).json()["items"]
    assert [o["number"] for o in by_number] == [numbers[2]]
    by_phone = client.get("/api/v1/orders", params={"q": "8 916 000-00-03"}).json()["items"]
    assert [o["number"] for o in by_phone] == [numbers[3]]
    assert client.get("/api/v1/orders", params={"status": "on_hold"}).json()["items"] == []
    assert client.get("/api/v1/orders", params={"cursor": "garbage"}).status_code == 422


def test_auth_missing_key_is_401_and_roles_are_enforced(
    client: TestClient, engine: Engine, make_key: Any
) -> None:
    seed(engine)
    anonymous = client.get("/api/v1/orders", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/orders", headers={"Authorization": "Bearer zk_nope"}).status_code == 401
    readonly = {"Authorization": f"Bearer {make_key('readonly')}"}
    assert client.get("/api/v1/orders", headers=readonly).status_code == 200
    denied = client.post("/api/v1/orders", json=order_payload(), headers=readonly)
    assert denied.status_code == 403 and denied.json()["type"] == "/problems/forbidden"
    warehouse = {"Authorization": f"Bearer {make_key('warehouse')}"}
    ok = client.post(
        "/api/v1/stock/adjust", json={"warehouse": "MSK", "sku": "SKU-1", "delta": 1}, headers=warehouse
    )
    assert ok.status_code == 200


def test_stock_cannot_drop_below_reserved(client: TestClient, engine: Engine) -> None:
    seed(engine)
    client.post("/api/v1/orders", json=order_payload([("SKU-1", 4)]))
    r = client.post("/api/v1/stock/adjust", json={"warehouse": "MSK", "sku": "SKU-1", "set_on_hand": 2})
    assert r.status_code == 409
    assert stock_of(engine, ("SKU-1", "MSK")) == (5, 4)


def test_search_is_case_insensitive_for_cyrillic_names(client: TestClient, engine: Engine) -> None:
    seed(engine)
    body = order_payload([("SKU-1", 1)])
    body["customer"]["name"] = "Пётр Сидоров"
    number = client.post("/api/v1/orders", json=body).json()["number"]
    found = client.get("/api/v1/orders", params={"q": "сидоров"}).json()["items"]
    assert [o["number"] for o in found] == [number]


def test_ship_by_without_timezone_is_a_field_error(client: TestClient, engine: Engine) -> None:
    seed(engine)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)], ship_by="2026-12-01T10:00:00"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "ship_by"
