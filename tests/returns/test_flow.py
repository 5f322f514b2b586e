"""After-sales end to end through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.returns.helpers import age_delivery, delivered_order, on_hand, setup
from zakaz.db import unit_of_work
from zakaz.inventory.models import StockMovement
from zakaz.orders.models import OrderEvent
from zakaz.outbox import OutboxMessage
from zakaz.returns.models import QuarantinedUnit


def _topics(engine: Engine, rma: str) -> list[str]:
    with unit_of_work(engine, read_only=True) as s:
        rows = s.execute(select(OutboxMessage.topic, OutboxMessage.payload).order_by(OutboxMessage.id)).all()
    return [topic for topic, payload in rows if payload.get("rma") == rma]


def _fields(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in r.json()["errors"]]


def test_return_to_refund_restocks_and_never_pays_twice(client: TestClient, engine: Engine, app: Any) -> None:
    provider = setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 2), ("SKU-B", 1)], price=1000_00, shipping_minor=300_00)
    assert on_hand(engine, "SKU-A") == 8
    paid = 3 * 1000_00 + 300_00

    r = client.post(
        "/api/v1/returns",
        json={
            "order": order["number"],
            "items": [{"line_no": 1, "quantity": 1}],
            "reason": "defective",
            "comment": "не включается",
        },
    )
    assert r.status_code == 201, r.text
    ret = r.json()
    rma = ret["rma"]
    assert rma.startswith("RMA-") and len(rma) == len("RMA-YYMMDD-XXXXX")
    assert ret["status"] == "approved" and ret["auto_approved"] is True, "seller fault: approved at once"
    assert rma in ret["instructions"] and ret["warehouse"] == "MSK"

    for path, body in (("in-transit", {"tracking_number": "RET123"}), ("receive", {})):
        r = client.post(f"/api/v1/returns/{rma}/{path}", json=body)
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/returns/{rma}/refund", json={})
    assert (r.status_code, r.json()["type"]) == (409, "/problems/conflict"), "no refund before inspection"
    r = client.post(f"/api/v1/returns/{rma}/inspect", json={"lines": [{"line_no": 1, "condition": "opened"}]})
    assert r.status_code == 200 and r.json()["status"] == "inspected", r.text
    assert r.json()["lines"][0]["restocked"] == 1
    assert on_hand(engine, "SKU-A") == 9, "the resellable unit is back in stock"

    preview = client.get(f"/api/v1/returns/{rma}/refund-preview").json()
    # seller fault, opened: no restocking fee, the unit's price plus its share of the shipping (100_00)
    assert preview["amount_minor"] == 1000_00 + 100_00
    assert any("shipping" in e["text"] for e in preview["explanation"])

    r = client.post(f"/api/v1/returns/{rma}/refund", json={})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "refunded"
    assert [x["amount_minor"] for x in r.json()["refunds"]] == [1100_00]
    again = client.post(f"/api/v1/returns/{rma}/refund", json={})
    assert again.status_code == 200 and len(again.json()["refunds"]) == 1, "a repeat never refunds twice"
    assert provider.total == 1100_00 and provider.calls == 1

    with unit_of_work(engine, read_only=True) as s:
        moves = s.execute(
            select(StockMovement.reason, StockMovement.reference, StockMovement.on_hand_delta).where(
                StockMovement.reference == rma
            )
        ).all()
        events = s.scalars(select(OrderEvent.type).where(OrderEvent.order_id == order["id"])).all()
    assert [tuple(m) for m in moves] == [("return_restock", rma, 1)]
    assert {
        "return_requested",
        "return_approved",
        "return_received",
        "return_inspected",
        "return_refunded",
    } <= set(events)
    assert _topics(engine, rma) == [
        "return.requested",
        "return.approved",
        "return.in_transit",
        "return.received",
        "return.inspected",
        "return.refunded",
    ]

    # A second return of the other unit, shopper's reason, damaged: quarantined, refund 0.
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "changed_mind"},
    )
    assert r.json()["status"] == "approved", "under the value limit: approved at once"
    second = r.json()["rma"]
    client.post(f"/api/v1/returns/{second}/receive", json={"warehouse": "MSK"})
    client.post(
        f"/api/v1/returns/{second}/inspect",
        json={"lines": [{"line_no": 1, "condition": "damaged_by_shopper"}]},
    )
    assert on_hand(engine, "SKU-A") == 9, "damaged units do not go back to stock"
    with unit_of_work(engine, read_only=True) as s:
        q = s.execute(select(QuarantinedUnit.sku, QuarantinedUnit.quantity)).all()
    assert [tuple(x) for x in q] == [("SKU-A", 1)]

    # The operator overrides with a reason; more than is left of the payment is refused.
    r = client.post(
        f"/api/v1/returns/{second}/refund", json={"amount_minor": paid, "override_reason": "goodwill"}
    )
    assert _fields(r) == ["amount_minor"]
    r = client.post(f"/api/v1/returns/{second}/refund", json={"amount_minor": 500_00, "override_reason": ""})
    assert _fields(r) == ["amount_minor"]
    r = client.post(
        f"/api/v1/returns/{second}/refund",
        json={"amount_minor": 500_00, "override_reason": "goodwill: loyal customer"},
    )
    assert r.status_code == 201 and r.json()["refunds"][0]["kind"] == "override", r.text
    with unit_of_work(engine, read_only=True) as s:
        audit = s.scalars(select(OrderEvent.reason).where(OrderEvent.type == "return_refund_override")).all()
    assert audit == ["goodwill: loyal customer"]

    ledger = client.get(f"/api/v1/orders/{order['number']}/refunds").json()
    assert ledger["paid_minor"] == paid and ledger["refunded_minor"] == 1600_00
    assert ledger["refunded_minor"] <= ledger["paid_minor"] and len(ledger["items"]) == 2

    # Nothing of line 1 is left to return.
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "defective"},
    )
    assert _fields(r) == ["items.0.quantity"]


def test_exchange_creates_a_linked_replacement_and_refunds_the_difference(
    client: TestClient, engine: Engine, app: Any
) -> None:
    provider = setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)], price=1200_00)
    r = client.post(
        "/api/v1/returns",
        json={
            "order": order["number"],
            "kind": "exchange",
            "reason": "size_fit",
            "items": [{"line_no": 1, "quantity": 1, "exchange_sku": "SKU-B"}],
        },
    )
    assert r.status_code == 201, r.text
    exc = r.json()
    assert exc["rma"].startswith("EXC-") and exc["status"] == "approved"
    assert exc["replacement_order"] is None, "ordinary customers: the replacement waits for the items"

    r = client.post(f"/api/v1/returns/{exc['rma']}/receive", json={})
    replacement_number = r.json()["replacement_order"]
    assert replacement_number
    replacement = client.get(f"/api/v1/orders/{replacement_number}").json()
    assert replacement["status"] == "allocated", "the replacement is allocated like any order"
    assert replacement["external_id"] == f"exchange:{exc['rma']}" and replacement["channel"] == "api"
    assert [(ln["sku"], ln["quantity"]) for ln in replacement["lines"]] == [("SKU-B", 1)]
    assert replacement["discount_minor"] == 1000_00 and replacement["total_minor"] == 0

    client.post(
        f"/api/v1/returns/{exc['rma']}/inspect", json={"lines": [{"line_no": 1, "condition": "unopened"}]}
    )
    assert on_hand(engine, "SKU-A") == 10
    r = client.post(f"/api/v1/returns/{exc['rma']}/refund", json={})
    assert r.status_code == 201 and r.json()["status"] == "exchanged", r.text
    assert [(x["kind"], x["amount_minor"]) for x in r.json()["refunds"]] == [("exchange_difference", 200_00)]
    assert provider.total == 200_00


def test_trusted_customers_get_the_replacement_at_once(client: TestClient, engine: Engine, app: Any) -> None:
    setup(app, engine, trusted_customer_min_orders=1)
    order = delivered_order(client, app, [("SKU-A", 1)], price=800_00)
    r = client.post(
        "/api/v1/returns",
        json={
            "order": order["number"],
            "kind": "exchange",
            "reason": "size_fit",
            "items": [{"line_no": 1, "quantity": 1, "exchange_sku": "SKU-B"}],
        },
    )
    exc = r.json()
    assert exc["replacement_order"], r.text
    replacement = client.get(f"/api/v1/orders/{exc['replacement_order']}").json()
    assert replacement["payment_status"] == "pending" and replacement["total_minor"] == 200_00
    assert "200.00" in replacement["note"], "the price difference becomes a charge note"


def test_ineligible_requests_are_refused_naming_the_field(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine, reasons=["defective", "changed_mind"], auto_approve_below_minor=0)
    r = client.post(
        "/api/v1/orders",
        json={**_payload(), "lines": [{"sku": "SKU-C", "quantity": 1, "unit_price_minor": 100_00}]},
    )
    undelivered = r.json()["number"]
    assert _fields(
        client.post(
            "/api/v1/returns",
            json={"order": undelivered, "items": [{"line_no": 1, "quantity": 1}], "reason": "defective"},
        )
    ) == ["order"]

    order = delivered_order(client, app, [("SKU-A", 1)], price=5000_00)
    body = {"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "size_fit"}
    assert _fields(client.post("/api/v1/returns", json=body)) == ["reason"], "not in the configured list"
    body["reason"] = "changed_mind"
    assert _fields(
        client.post("/api/v1/returns", json={**body, "items": [{"line_no": 1, "quantity": 2}]})
    ) == ["items.0.quantity"]
    assert _fields(
        client.post("/api/v1/returns", json={**body, "items": [{"line_no": 9, "quantity": 1}]})
    ) == ["items.0.line_no"]
    assert _fields(client.post("/api/v1/returns", json={**body, "order": "ZK-000000-NONE"})) == ["order"]

    # Manual review: a shopper's reason above the limit waits; a rejection needs a note.
    r = client.post("/api/v1/returns", json=body)
    assert r.status_code == 201 and r.json()["status"] == "requested", r.text
    rma = r.json()["rma"]
    assert _fields(client.post(f"/api/v1/returns/{rma}/reject", json={"note": ""})) == ["note"]
    r = client.post(f"/api/v1/returns/{rma}/reject", json={"note": "used for a month"})
    assert r.json()["status"] == "rejected"
    r = client.post(f"/api/v1/returns/{rma}/approve", json={})
    assert r.status_code == 409 and r.json()["type"] == "/problems/invalid-transition"

    age_delivery(engine, order["id"], days=30)
    assert _fields(client.post("/api/v1/returns", json=body)) == ["order"], "the window has closed"


def _payload() -> dict[str, Any]:
    from tests.factories import order_payload

    return order_payload([("SKU-C", 1)])
