"""Small builders for test data: warehouses, products, stock and order payloads."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine

from zakaz.catalog.schemas import ProductIn
from zakaz.catalog.service import upsert_product
from zakaz.db import unit_of_work
from zakaz.inventory import service as stock
from zakaz.inventory.schemas import WarehouseIn
from zakaz.inventory.warehouses import upsert_warehouse

# A currency code as a page or document shows money ("RUB 1,234.56", "1 234.56 RUB"), not inside an order
# number: ZK-YYMMDD-XXXXX draws its suffix from letters that spell RUB about once in 10,000 orders.
_CURRENCY = re.compile(r"(?<![\w-])RUB(?!\w)")


def shows_currency(text: str) -> bool:
    return _CURRENCY.search(text) is not None


CITIES = {
    "MSK": ("Москва", 55.7558, 37.6173, 10),
    "SPB": ("Санкт-Петербург", 59.9386, 30.3141, 20),
    "EKB": ("Екатеринбург", 56.8389, 60.6057, 30),
    "NSK": ("Новосибирск", 55.0084, 82.9357, 40),
    "KZN": ("Казань", 55.7963, 49.1088, 50),
}


def add_warehouse(engine: Engine, code: str, *, priority: int | None = None, active: bool = True) -> None:
    city, lat, lon, default_priority = CITIES[code]
    with unit_of_work(engine) as s:
        upsert_warehouse(
            s,
            WarehouseIn(
                code=code,
                name=f"Склад {city}",
                city=city,
                latitude=lat,
                longitude=lon,
                priority=default_priority if priority is None else priority,
                active=active,
            ),
        )


def add_product(
    engine: Engine, sku: str, *, price: int = 100_00, backorder: bool = False, name: str = ""
) -> None:
    with unit_of_work(engine) as s:
        upsert_product(
            s,
            ProductIn(
                sku=sku,
                name=name or f"Товар {sku}",
                price_minor=price,
                allow_backorder=backorder,
                barcodes=[f"460{abs(hash(sku)) % 10**10:010d}"],
                weight_g=500,
            ),
        )


def set_stock(engine: Engine, warehouse: str, sku: str, on_hand: int) -> None:
    with unit_of_work(engine) as s:
        stock.adjust(s, warehouse_code=warehouse, sku=sku, set_on_hand=on_hand, actor="test")


def order_payload(
    lines: list[tuple[str, int]] | None = None,
    *,
    city: str = "Москва",
    email: str = "ivan@example.ru",
    phone: str = "+7 916 123-45-67",
    price: int = 100_00,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"name": "Иван Петров", "email": email, "phone": phone},
        "shipping_address": {"city": city, "line1": "ул. Тверская, д. 1, кв. 5", "postcode": "125009"},
        "lines": [
            {"sku": sku, "quantity": q, "unit_price_minor": price} for sku, q in (lines or [("SKU-1", 1)])
        ],
        "payment_status": "paid",
    }
    body.update(extra)
    return body
