"""Fulfilment test set-up: catalogue with bins and barcodes, carriers on the local fake, PDF readers."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories import add_warehouse
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.courier import CourierCarrier
from zakaz.carriers.russian_post import RussianPostCarrier
from zakaz.catalog.models import Product
from zakaz.catalog.schemas import ProductIn
from zakaz.catalog.service import upsert_product
from zakaz.db import unit_of_work
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.inventory import service as stock
from zakaz.inventory.models import StockLevel, StockMovement, Warehouse

API_KEY = "fake-key"
SECRET = "whsec-test"
PRODUCTS = {
    # sku: (name, barcode, weight g, dims mm)
    "SKU-A": ("Чайник 电水壶 Kettle", "4601234567893", 900, (200, 150, 150)),
    "SKU-B": ("Кружка Mug", "4601234567800", 300, (100, 100, 100)),
    "SKU-C": ("Ложка Spoon", "4601234567817", 50, (150, 30, 10)),
}


def seed_catalogue(engine: Engine, stock_by_warehouse: dict[str, dict[str, tuple[int, str]]]) -> None:
    """``{"MSK": {"SKU-A": (on_hand, bin)}}`` plus the three products."""
    for code in stock_by_warehouse:
        add_warehouse(engine, code)
    with unit_of_work(engine) as s:
        for sku, (name, barcode, weight, (length, width, height)) in PRODUCTS.items():
            upsert_product(
                s,
                ProductIn(
                    sku=sku,
                    name=name,
                    price_minor=1000_00,
                    barcodes=[barcode],
                    weight_g=weight,
                    length_mm=length,
                    width_mm=width,
                    height_mm=height,
                ),
            )
    with unit_of_work(engine) as s:
        for code, levels in stock_by_warehouse.items():
            for sku, (on_hand, bin_location) in levels.items():
                stock.adjust(
                    s,
                    warehouse_code=code,
                    sku=sku,
                    set_on_hand=on_hand,
                    actor="test",
                    bin_location=bin_location,
                )


def stock_of(engine: Engine, warehouse: str, sku: str) -> tuple[int, int]:
    """(on_hand, reserved), after checking that the movement ledger adds up to the same numbers."""
    with unit_of_work(engine, read_only=True) as s:
        level = s.execute(
            select(StockLevel)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.sku == sku, Warehouse.code == warehouse)
        ).scalar_one()
        sums = s.execute(
            select(func.sum(StockMovement.on_hand_delta), func.sum(StockMovement.reserved_delta)).where(
                StockMovement.stock_level_id == level.id
            )
        ).one()
        assert (sums[0] or 0, sums[1] or 0) == (level.on_hand, level.reserved), "ledger does not add up"
        return level.on_hand, level.reserved


def registry_for(base_url: str) -> CarrierRegistry:
    def client() -> CarrierApiClient:
        return CarrierApiClient(base_url, API_KEY, timeout_s=10)

    return CarrierRegistry(
        {
            "cdek": CdekCarrier(client(), webhook_secret=SECRET),
            "russian_post": RussianPostCarrier(client(), webhook_secret=SECRET),
            "courier": CourierCarrier(client(), webhook_secret=SECRET),
        }
    )


def pdf_text(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
        ).stdout


def pdf_barcodes(pdf: bytes) -> set[str]:
    """Every Code128 on every page, rendered at thermal-printer resolution (203 dpi) and read by zbarimg."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "203", "-gray", "-png", str(path), str(Path(tmp) / "page")], check=True
        )
        found: set[str] = set()
        for page in sorted(Path(tmp).glob("page*.png")):
            out = subprocess.run(["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True)
            found |= {line.strip() for line in out.stdout.splitlines() if line.strip()}
        return found
