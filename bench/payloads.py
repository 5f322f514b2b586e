"""The orders the benchmark sends: shared by the HTTP load generator and the raw baseline."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

WAREHOUSES = [
    # code, city, lat, lon, priority
    ("MSK", "Москва", 55.7558, 37.6173, 10),
    ("SPB", "Санкт-Петербург", 59.9386, 30.3141, 20),
    ("EKB", "Екатеринбург", 56.8389, 60.6057, 30),
    ("NSK", "Новосибирск", 55.0084, 82.9357, 40),
    ("KZN", "Казань", 55.7963, 49.1088, 50),
]
CITIES = ["Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Уфа", "Самара", "Пермь"]
PRODUCTS = 1_000
CUSTOMERS = 20_000
HOT_SKU = "HOT-1"
PRICE = 1_000_00


def sku(i: int) -> str:
    return f"SKU-{i:05d}"


@dataclass(frozen=True)
class OrderSpec:
    """One order: the customer number and two (sku, quantity) lines."""

    customer: int
    city: str
    lines: tuple[tuple[str, int], tuple[str, int]]


def orders(n: int, *, hot: bool, seed: int) -> list[OrderSpec]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(range(PRODUCTS), 2)
        first = (HOT_SKU, 1) if hot else (sku(a), rng.randint(1, 2))
        out.append(
            OrderSpec(rng.randrange(CUSTOMERS), rng.choice(CITIES), (first, (sku(b), rng.randint(1, 2))))
        )
    return out


def body(spec: OrderSpec) -> dict[str, Any]:
    c = spec.customer
    return {
        "customer": {
            "name": f"Покупатель {c}",
            "email": f"buyer{c}@example.ru",
            "phone": f"+7 916 {c // 10000:03d}-{c // 100 % 100:02d}-{c % 100:02d}",
        },
        "shipping_address": {"city": spec.city, "line1": "ул. Тверская, д. 1, кв. 5", "postcode": "125009"},
        "lines": [{"sku": s, "quantity": q, "unit_price_minor": PRICE} for s, q in spec.lines],
        "payment_status": "paid",
    }


def http_request(spec: OrderSpec, *, host: str, api_key: str) -> bytes:
    payload = orjson.dumps(body(spec))
    head = (
        f"POST /api/v1/orders HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload
