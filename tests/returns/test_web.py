"""Back office: the returns queue, review, receipt, inspection and the refund preview before confirming."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.returns.helpers import delivered_order, on_hand, setup
from tests.web.conftest import WebClient, as_role, password_hash, web, web_users  # noqa: F401  fixtures


def test_operator_reviews_inspects_previews_and_refunds(
    client: TestClient,
    engine: Engine,
    app: Any,
    as_role: Callable[[str], WebClient],  # noqa: F811
) -> None:
    provider = setup(app, engine, auto_approve_below_minor=0)
    order = delivered_order(client, app, [("SKU-A", 2)], price=1000_00)
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "changed_mind"},
    )
    rma = r.json()["rma"]
    assert r.json()["status"] == "requested"

    web = as_role("operator")  # noqa: F811
    queue = web.get("/returns")
    assert queue.status_code == 200 and rma in queue.text and 'data-sla="ok"' in queue.text
    assert web.submit(f"/returns/{rma}/review", {"decision": "approve", "note": "ok"}).status_code == 303
    assert web.submit(f"/returns/{rma}/receive").status_code == 303
    page = web.get(f"/returns/{rma}")
    assert 'id="inspect-form"' in page.text
    web.submit(f"/returns/{rma}/inspect", {"condition_1": "opened", "restock_1": ["0", "1"]})
    assert on_hand(engine, "SKU-A") == 9

    page = web.get(f"/returns/{rma}")
    assert 'id="refund-preview"' in page.text and "restocking fee 10%" in page.text
    assert (
        web.submit(f"/returns/{rma}/refund", {"amount_minor": "", "override_reason": ""}).status_code == 303
    )
    assert client.get(f"/api/v1/returns/{rma}").json()["status"] == "refunded"
    assert provider.total == 900_00, "price 1000, minus the 10 % restocking fee for an opened item"

    web.cookies.clear()
    warehouse = as_role("warehouse")
    assert warehouse.submit(f"/returns/{rma}/refund").status_code == 403
