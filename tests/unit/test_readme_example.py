"""The README's first API call works on the demo data that `make run` loads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from zakaz.demo.generator import generate
from zakaz.demo.loader import load_if_empty
from zakaz.orders.schemas import OrderCreate

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_order_names_a_demo_product_at_its_price() -> None:
    body = re.search(r"-d '(\{.*?\})'", README.read_text(), re.S)
    assert body, "no curl -d '{...}' example in the README"
    order = OrderCreate.model_validate(json.loads(body.group(1)))
    seed = load_if_empty.__kwdefaults__["seed"]  # what `make run` loads
    products = {p.sku: p for p in generate(orders=50, seed=seed, now=datetime.now(UTC)).products}
    for line in order.lines:
        assert line.sku in products, f"{line.sku} is not in the demo catalogue"
        assert line.unit_price_minor == products[line.sku].price_minor
