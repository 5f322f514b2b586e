"""After-sales test set-up: an order driven to delivered through the fulfilment API and a fake carrier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from tests.factories import order_payload
from tests.fulfilment.helpers import API_KEY, PRODUCTS, SECRET, registry_for, seed_catalogue
from zakaz.carriers.fake_server import FakeCarrierSettings, running_fake_carrier
from zakaz.db import unit_of_work
from zakaz.fulfilment.models import Shipment
from zakaz.fulfilment.tracking import poll_tracking_job
from zakaz.inventory.models import StockLevel, StockMovement, Warehouse
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.payments import FakeProvider

BARCODES = {sku: barcode for sku, (_n, barcode, *_rest) in PRODUCTS.items()}


def setup(app: Any, engine: Engine, **settings: Any) -> FakeProvider:
    """Catalogue + stock at MSK, returns settings for the test, and the fake payment provider."""
    seed_catalogue(engine, {"MSK": {"SKU-A": (10, "A-01"), "SKU-B": (10, "A-02"), "SKU-C": (10, "A-03")}})
    app.state.returns_settings = ReturnsSettings(**settings)
    provider = FakeProvider()
    app.state.payments = provider
    return provider


def delivered_order(
    client: TestClient, app: Any, lines: list[tuple[str, int]], **payload: Any
) -> dict[str, Any]:
    """Order -> wave pick -> pack -> label (fake carrier) -> carrier scans up to delivered."""
    r = client.post("/api/v1/orders", json=order_payload(lines, city="Москва", **payload))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "allocated", order
    shipment = f"{order['number']}-1"
    with running_fake_carrier(FakeCarrierSettings(api_key=API_KEY, webhook_secret=SECRET)) as fake:
        registry = registry_for(fake.base_url)
        app.state.carriers = registry
        wave = client.post("/api/v1/pick-lists", json={"warehouse": "MSK"}).json()
        for line in wave["lines"]:
            r = client.post(
                f"/api/v1/pick-lists/{wave['number']}/lines/{line['seq']}/pick",
                json={"quantity": line["quantity"]},
            )
            assert r.status_code == 200, r.text
        for sku, quantity in lines:
            for _ in range(quantity):
                r = client.post(f"/api/v1/packing/{shipment}/scan", json={"barcode": BARCODES[sku]})
                assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/packing/{shipment}/close", json={"box": "L", "weight_g": 2000})
        assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/shipments/{shipment}/label", json={"carrier": "cdek", "service": "137"})
        assert r.status_code == 201, r.text
        tracking_number = r.json()["tracking_number"]
        t0 = datetime.now(UTC) + timedelta(seconds=1)
        for i, code in enumerate(("RECEIVED_AT_SHIPMENT_WAREHOUSE", "SENT_TO_RECIPIENT_CITY", "DELIVERED")):
            fake.add_event(tracking_number, code, t0 + timedelta(seconds=i))
        poll_tracking_job(app.state.ctx.engine, registry=registry)
    detail = client.get(f"/api/v1/orders/{order['number']}").json()
    assert detail["status"] == "delivered", detail["status"]
    return dict(detail)


def age_delivery(engine: Engine, order_id: int, days: int) -> None:
    """Pretend the order was delivered ``days`` ago (the return window test)."""
    with unit_of_work(engine) as s:
        s.execute(
            update(Shipment)
            .where(Shipment.order_id == order_id)
            .values(delivered_at=datetime.now(UTC) - timedelta(days=days))
        )


def on_hand(engine: Engine, sku: str, warehouse: str = "MSK") -> int:
    """On hand, after checking that the movement ledger adds up to the stock row."""
    with unit_of_work(engine, read_only=True) as s:
        level = s.execute(
            select(StockLevel)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Warehouse.code == warehouse, StockLevel.product_id == _product_id(s, sku))
        ).scalar_one()
        total = s.scalar(
            select(func.sum(StockMovement.on_hand_delta)).where(StockMovement.stock_level_id == level.id)
        )
        assert total == level.on_hand, "the movement ledger does not add up"
        return level.on_hand


def _product_id(s: Any, sku: str) -> int:
    from zakaz.catalog.models import Product

    return int(s.scalar(select(Product.id).where(Product.sku == sku)))
