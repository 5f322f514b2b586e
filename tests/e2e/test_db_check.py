"""`zakaz db check`: lines, timeline events and reservations whose order (or line) is missing are found.

Those references carry no foreign-key constraint (migration 0015), so the check is what catches a broken one.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.cli.main import app
from zakaz.db import unit_of_work
from zakaz.integrity import find_problems
from zakaz.inventory.models import Reservation, StockLevel
from zakaz.orders.models import OrderEvent, OrderLine

runner = CliRunner()


def _seed(engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    add_product(engine, "SKU-2")
    set_stock(engine, "MSK", "SKU-1", 10)
    set_stock(engine, "MSK", "SKU-2", 10)


def _reserved(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return int(s.scalar(select(func.sum(StockLevel.reserved))) or 0)


def test_orders_edited_held_and_cancelled_leave_no_broken_reference(
    cli_env: None, client: TestClient, engine: Engine
) -> None:
    _seed(engine)
    a = client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)])).json()
    b = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1), ("SKU-2", 1)])).json()
    assert a["status"] == b["status"] == "allocated"
    assert _reserved(engine) == 4
    # lines replaced on an allocated order, and on one held after allocation
    new_lines = {"lines": [{"sku": "SKU-2", "quantity": 3, "unit_price_minor": 100_00}]}
    assert client.patch(f"/api/v1/orders/{a['id']}", json=new_lines).status_code == 200
    assert (
        client.post(f"/api/v1/orders/{b['id']}/hold", json={"reason": "call the customer"}).status_code == 200
    )
    edited = client.patch(f"/api/v1/orders/{b['id']}", json=new_lines)
    assert edited.status_code == 200, edited.text
    assert client.post(f"/api/v1/orders/{b['id']}/release", json={}).status_code == 200
    assert _reserved(engine) == 6  # 3 + 3 of SKU-2, nothing left of the replaced lines
    assert client.post(f"/api/v1/orders/{a['id']}/cancel", json={"reason": "test"}).status_code == 200
    assert _reserved(engine) == 3
    with unit_of_work(engine, read_only=True) as s:
        assert find_problems(s) == []
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert "no broken references" in result.output


def test_rows_pointing_at_no_order_are_reported_and_fail_the_command(
    cli_env: None, client: TestClient, engine: Engine
) -> None:
    _seed(engine)
    order = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1), ("SKU-2", 1)])).json()
    with unit_of_work(engine) as s:
        s.execute(insert(OrderEvent).values(order_id=order["id"] + 1000, type="note", actor="hand", data={}))
        line_id = s.scalar(select(OrderLine.id).where(OrderLine.order_id == order["id"]).limit(1))
        s.execute(update(OrderLine).where(OrderLine.id == line_id).values(order_id=order["id"] + 2000))
        reservation_id = s.scalar(select(func.min(Reservation.id)))
        s.execute(update(Reservation).where(Reservation.id == reservation_id).values(order_line_id=10**6))
    with unit_of_work(engine, read_only=True) as s:
        problems = {(p.table, p.rule): p for p in find_problems(s)}
    assert set(problems) == {
        ("order_events", "order_id names no order"),
        ("order_lines", "order_id names no order"),
        ("reservations", "order_line_id names no line of that order"),
    }
    assert problems[("order_lines", "order_id names no order")].sample_ids == [line_id]
    assert problems[("reservations", "order_line_id names no line of that order")].count >= 1
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 1
    assert "order_events" in result.output and "order_lines" in result.output
