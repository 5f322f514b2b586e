"""Large amounts: real ones (above 32 bits) are kept exactly, absurd ones get 422, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.orders.models import Order


def _seed(engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 100)


def test_orders_above_21_million_roubles_are_stored_exactly(engine: Engine, client: TestClient) -> None:
    _seed(engine)
    price = 15_000_000_00  # 15 million roubles a unit; two orders of two units: 60 million in all
    statuses = []
    for _ in range(2):
        r = client.post(
            "/api/v1/orders", json=order_payload([("SKU-1", 2)], price=price, shipping_minor=2**31)
        )
        assert r.status_code == 201, r.text
        assert r.json()["total_minor"] == 2 * price + 2**31
        statuses.append(r.json()["status"])
    assert statuses == ["on_hold", "allocated"]  # a first order this large waits for review
    with unit_of_work(engine, read_only=True) as s:
        totals = s.scalars(select(Order.total_minor)).all()
        spent = s.execute(select(Customer.total_spent_minor)).scalar_one()
    assert totals == [2 * price + 2**31] * 2
    assert spent == 2 * (2 * price + 2**31)


def test_absurd_amounts_are_refused_naming_the_field_and_nothing_is_written(
    engine: Engine, client: TestClient
) -> None:
    _seed(engine)
    cases = {
        "lines[0].unit_price_minor": order_payload([("SKU-1", 1)], price=2**63),
        "shipping_minor": order_payload([("SKU-1", 1)], shipping_minor=10**13),
        "discount_minor": order_payload([("SKU-1", 1)], discount_minor=-(2**70)),
        "total_minor": order_payload([("SKU-1", 1)], total_minor=10**20),
        "lines": order_payload([("SKU-1", 10_000)] * 50, price=10**12),
    }
    for field, body in cases.items():
        r = client.post("/api/v1/orders", json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    with unit_of_work(engine, read_only=True) as s:
        assert s.scalars(select(Order)).all() == []
        assert s.scalars(select(Customer)).all() == []
