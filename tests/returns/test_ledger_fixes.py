"""Issue #6 review fixes: damaged units stay out of stock, refund overrides typed in roubles, exchange
charges in the ledger, quarantine in the stock ledger with a write-off, the list filter refuses typos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.returns.helpers import delivered_order, on_hand, setup
from tests.web.conftest import WebClient, as_role, password_hash, web, web_users  # noqa: F401  fixtures
from zakaz.db import unit_of_work
from zakaz.inventory.models import StockMovement
from zakaz.orders.models import OrderEvent


def _received(client: TestClient, app: Any, engine: Engine, *, reason: str = "defective", **kw: Any) -> str:
    order = delivered_order(client, app, [("SKU-A", 2)], price=1000_00, **kw)
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": reason},
    )
    assert r.status_code == 201, r.text
    rma = str(r.json()["rma"])
    if r.json()["status"] == "requested":
        assert client.post(f"/api/v1/returns/{rma}/approve", json={}).status_code == 200
    assert client.post(f"/api/v1/returns/{rma}/receive", json={}).status_code == 200
    return rma


def _movements(engine: Engine, rma: str) -> list[tuple[str, int, str]]:
    with unit_of_work(engine, read_only=True) as s:
        rows = s.execute(
            select(StockMovement.reason, StockMovement.on_hand_delta, StockMovement.note)
            .where(StockMovement.reference == rma)
            .order_by(StockMovement.id)
        ).all()
    return [(reason, delta, note or "") for reason, delta, note in rows]


def test_damaged_units_are_never_restocked_and_stay_in_the_stock_ledger(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    rma = _received(client, app, engine)
    assert on_hand(engine, "SKU-A") == 8

    r = client.post(
        f"/api/v1/returns/{rma}/inspect",
        json={"lines": [{"line_no": 1, "condition": "damaged_by_shopper", "restock": True}]},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["lines.0.restock"]
    assert "cannot go back to stock" in r.json()["errors"][0]["message"]
    assert client.get(f"/api/v1/returns/{rma}").json()["status"] == "received", "nothing changed"
    assert on_hand(engine, "SKU-A") == 8

    r = client.post(
        f"/api/v1/returns/{rma}/inspect",
        json={"lines": [{"line_no": 1, "condition": "damaged_by_shopper", "note": "screen cracked"}]},
    )
    assert r.status_code == 200, r.text
    assert on_hand(engine, "SKU-A") == 8, "the damaged unit never re-entered sellable stock"
    quarantine = r.json()["quarantine"]
    assert [(q["sku"], q["quantity"], q["written_off_at"]) for q in quarantine] == [("SKU-A", 1, None)]
    moves = _movements(engine, rma)
    assert [(m[0], m[1]) for m in moves] == [("return_quarantine", 0)]
    assert "1 unit(s) damaged_by_shopper" in moves[0][2]

    qid = quarantine[0]["id"]
    r = client.post(f"/api/v1/returns/{rma}/write-off", json={"quarantine_id": qid, "note": "scrap"})
    assert r.status_code == 200, r.text
    assert r.json()["quarantine"][0]["written_off_by"] and r.json()["events"][-1]["type"] == "written_off"
    assert [(m[0], m[1]) for m in _movements(engine, rma)] == [("return_quarantine", 0), ("write_off", 0)]
    assert on_hand(engine, "SKU-A") == 8
    r = client.post(f"/api/v1/returns/{rma}/write-off", json={"quarantine_id": qid})
    assert r.status_code == 409, "written off once"
    r = client.post(f"/api/v1/returns/{rma}/write-off", json={"quarantine_id": qid + 999})
    assert r.status_code == 404 and "quarantine_id" in r.text

    with unit_of_work(engine, read_only=True) as s:
        types = set(s.scalars(select(OrderEvent.type)))
    assert "return_written_off" in types, "the write-off is on the order timeline"


def test_unknown_status_filter_is_refused_naming_the_field(client: TestClient, engine: Engine) -> None:
    r = client.get("/api/v1/returns?status=bogus")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    error = r.json()["errors"][0]
    assert error["field"] == "status" and "inspected" in error["message"] and "requested" in error["message"]
    assert client.get("/api/v1/returns?status=inspected").status_code == 200


def test_refund_override_in_roubles_via_the_api(client: TestClient, engine: Engine, app: Any) -> None:
    provider = setup(app, engine)
    rma = _received(client, app, engine)
    client.post(f"/api/v1/returns/{rma}/inspect", json={"lines": [{"line_no": 1, "condition": "opened"}]})
    for body, field in (
        ({"amount": "100.005", "override_reason": "x"}, "amount"),
        ({"amount": "сто", "override_reason": "x"}, "amount"),
        ({"amount": "-5", "override_reason": "x"}, "amount"),
        ({"amount_minor": "100.00", "override_reason": "x"}, "amount_minor"),
        ({"amount": "999 999,00", "override_reason": "x"}, "amount_minor"),
    ):
        r = client.post(f"/api/v1/returns/{rma}/refund", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in [e.get("field", "").split(".")[-1] for e in r.json().get("errors", [])], r.text
    assert client.get(f"/api/v1/returns/{rma}").json()["status"] == "inspected" and provider.total == 0
    r = client.post(
        f"/api/v1/returns/{rma}/refund", json={"amount": "1 000,00", "override_reason": "goodwill"}
    )
    assert r.status_code == 201 and r.json()["status"] == "refunded", r.text
    assert provider.total == 1000_00


def test_dearer_replacement_is_a_charge_in_the_ledger_not_a_refund(
    client: TestClient, engine: Engine, app: Any
) -> None:
    provider = setup(app, engine)
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
    rma = r.json()["rma"]
    r = client.post(f"/api/v1/returns/{rma}/receive", json={})
    assert r.json()["replacement_order"], r.text
    charges = [x for x in r.json()["refunds"] if x["kind"] == "exchange_charge"]
    assert [(x["amount_minor"], x["status"]) for x in charges] == [(200_00, "pending")]
    assert "exchange_charge" in [e["type"] for e in r.json()["events"]]
    ledger = client.get(f"/api/v1/orders/{order['number']}/refunds").json()
    assert ledger["refunded_minor"] == 0 and ledger["charged_minor"] == 200_00
    assert ledger["remaining_minor"] == 800_00, "a charge is not a refund: the cap is untouched"

    client.post(f"/api/v1/returns/{rma}/inspect", json={"lines": [{"line_no": 1, "condition": "unopened"}]})
    r = client.post(f"/api/v1/returns/{rma}/refund", json={})
    assert r.status_code in (200, 201) and r.json()["status"] == "exchanged", r.text
    assert provider.collected == {f"{rma}:charge": 200_00} and provider.total == 0
    kinds = {x["kind"]: (x["amount_minor"], x["status"]) for x in r.json()["refunds"]}
    assert kinds["exchange_charge"] == (200_00, "succeeded")
    assert "charge_collected" in [e["type"] for e in r.json()["events"]]
    with unit_of_work(engine, read_only=True) as s:
        types = set(s.scalars(select(OrderEvent.type)))
    assert {"return_exchange_charge", "return_charge_collected"} <= types, "on the order timeline"
    # the whole payment can still be refunded later: the charge never counted as a refund
    ledger = client.get(f"/api/v1/orders/{order['number']}/refunds").json()
    assert ledger["refunded_minor"] == 0 and ledger["remaining_minor"] == 800_00


def test_marketplace_orders_are_not_exchanged_here(client: TestClient, engine: Engine, app: Any) -> None:
    setup(app, engine)
    r = client.post("/api/v1/orders", json=_ozon_order())
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/returns",
        json={
            "order": r.json()["number"],
            "kind": "exchange",
            "reason": "size_fit",
            "items": [{"line_no": 1, "quantity": 1, "exchange_sku": "SKU-B"}],
        },
    )
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "marketplace" in errors["kind"]


def _ozon_order() -> dict[str, Any]:
    from tests.factories import order_payload

    return order_payload([("SKU-A", 1)], price=1000_00, channel="ozon", external_id="OZ-1-1")


def test_back_office_refuses_damaged_restock_and_reads_roubles(
    client: TestClient,
    engine: Engine,
    app: Any,
    as_role: Callable[[str], WebClient],  # noqa: F811
) -> None:
    provider = setup(app, engine)
    rma = _received(client, app, engine)
    web = as_role("operator")  # noqa: F811
    page = web.get(f"/returns/{rma}")
    assert 'id="restock-1"> ' in page.text, "the box is not pre-ticked"
    assert 'value="opened" data-resellable' in page.text and 'value="damaged_by_shopper">' in page.text

    web.submit(f"/returns/{rma}/inspect", {"condition_1": "damaged_by_shopper", "restock_1": ["0", "1"]})
    page = web.get(f"/returns/{rma}")
    assert "cannot go back to stock" in page.text and 'id="inspect-form"' in page.text
    assert on_hand(engine, "SKU-A") == 8

    web.submit(f"/returns/{rma}/inspect", {"condition_1": "damaged_by_shopper", "restock_1": "0"})
    page = web.get(f"/returns/{rma}")
    assert 'id="quarantine"' in page.text and on_hand(engine, "SKU-A") == 8

    for typed in ("100.00.0", "-1", "100,005"):
        web.submit(f"/returns/{rma}/refund", {"amount": typed, "override_reason": "goodwill"})
        assert client.get(f"/api/v1/returns/{rma}").json()["status"] == "inspected", typed
    assert provider.total == 0
    web.submit(f"/returns/{rma}/refund", {"amount": "100.00", "override_reason": "goodwill"})
    detail = client.get(f"/api/v1/returns/{rma}").json()
    assert detail["status"] == "refunded" and provider.total == 100_00, "100.00 roubles, not 0"

    qid = detail["quarantine"][0]["id"]
    assert (
        web.submit(f"/returns/{rma}/write-off", {"quarantine_id": str(qid), "note": "scrap"}).status_code
        == 303
    )
    assert client.get(f"/api/v1/returns/{rma}").json()["quarantine"][0]["written_off_at"]
