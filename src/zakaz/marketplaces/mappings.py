"""Warehouse and SKU mappings: look-ups for the import and CRUD for the API / CLI. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.errors import NotFound
from zakaz.inventory.models import Warehouse
from zakaz.marketplaces.base import MarketplaceLine
from zakaz.marketplaces.models import MarketplaceProduct, MarketplaceWarehouse

#: Our SKU for a marketplace line that names no article (so it is held as unknown, never dropped).
NO_OFFER_PREFIX = "ozon-sku-"


@dataclass(frozen=True)
class WarehouseTarget:
    """Our warehouse behind a marketplace warehouse id (and where it is, for FBS order addresses)."""

    warehouse_id: int
    code: str
    name: str
    address: str
    city: str
    region: str
    latitude: float | None
    longitude: float | None


@dataclass
class Lookups:
    """Mappings of one connection, read once per sync run (or per push)."""

    warehouses: dict[str, WarehouseTarget] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)  # offer_id -> our SKU
    skus: dict[str, str] = field(default_factory=dict)  # marketplace SKU -> our SKU
    muted: set[int] = field(default_factory=set)  # placeholder customers already muted in this run

    def our_sku(self, line: MarketplaceLine) -> str:
        """Mapped by offer_id, else by marketplace SKU, else offer_id itself (the default convention)."""
        if line.offer_id in self.offers:
            return self.offers[line.offer_id]
        if line.marketplace_sku in self.skus:
            return self.skus[line.marketplace_sku]
        return (line.offer_id or f"{NO_OFFER_PREFIX}{line.marketplace_sku}")[:64]


def _target(w: Warehouse) -> WarehouseTarget:
    return WarehouseTarget(w.id, w.code, w.name, w.address, w.city, w.region, w.latitude, w.longitude)


def load_lookups(session: Session, connection_id: int) -> Lookups:
    lookups = Lookups()
    rows = session.execute(
        select(MarketplaceWarehouse.external_id, Warehouse)
        .join(Warehouse, Warehouse.id == MarketplaceWarehouse.warehouse_id)
        .where(MarketplaceWarehouse.connection_id == connection_id)
    ).all()
    for external_id, warehouse in rows:
        lookups.warehouses[external_id] = _target(warehouse)
    for offer_id, sku, ozon_sku in session.execute(
        select(MarketplaceProduct.offer_id, Product.sku, MarketplaceProduct.marketplace_sku)
        .join(Product, Product.id == MarketplaceProduct.product_id)
        .where(MarketplaceProduct.connection_id == connection_id)
    ):
        lookups.offers[offer_id] = sku
        if ozon_sku:
            lookups.skus[ozon_sku] = sku
    return lookups


# ------------------------------------------------------------------------------------------- warehouses


def warehouse_view(m: MarketplaceWarehouse, code: str) -> dict[str, Any]:
    return {"external_id": m.external_id, "warehouse": code, "name": m.name, "push_stock": m.push_stock}


def list_warehouse_mappings(session: Session, connection_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MarketplaceWarehouse, Warehouse.code)
        .join(Warehouse, Warehouse.id == MarketplaceWarehouse.warehouse_id)
        .where(MarketplaceWarehouse.connection_id == connection_id)
        .order_by(MarketplaceWarehouse.external_id)
    ).all()
    return [warehouse_view(m, code) for m, code in rows]


def put_warehouse_mapping(
    session: Session,
    connection_id: int,
    *,
    external_id: str,
    warehouse_code: str,
    name: str = "",
    push_stock: bool = True,
) -> tuple[dict[str, Any], bool]:
    warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse_code))
    if warehouse_id is None:
        raise NotFound(f"no warehouse {warehouse_code!r}", field="warehouse")
    row = session.scalar(
        select(MarketplaceWarehouse).where(
            MarketplaceWarehouse.connection_id == connection_id,
            MarketplaceWarehouse.external_id == external_id,
        )
    )
    created = row is None
    if row is None:
        row = MarketplaceWarehouse(connection_id=connection_id, external_id=external_id)
        session.add(row)
    row.warehouse_id, row.name, row.push_stock = warehouse_id, name, push_stock
    session.flush()
    return warehouse_view(row, warehouse_code), created


def delete_warehouse_mapping(session: Session, connection_id: int, external_id: str) -> None:
    result = session.execute(
        delete(MarketplaceWarehouse).where(
            MarketplaceWarehouse.connection_id == connection_id,
            MarketplaceWarehouse.external_id == external_id,
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no mapping for marketplace warehouse {external_id!r}")


# --------------------------------------------------------------------------------------------- products


def product_view(m: MarketplaceProduct, sku: str) -> dict[str, Any]:
    return {"offer_id": m.offer_id, "sku": sku, "marketplace_sku": m.marketplace_sku}


def list_product_mappings(session: Session, connection_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MarketplaceProduct, Product.sku)
        .join(Product, Product.id == MarketplaceProduct.product_id)
        .where(MarketplaceProduct.connection_id == connection_id)
        .order_by(MarketplaceProduct.offer_id)
    ).all()
    return [product_view(m, sku) for m, sku in rows]


def put_product_mapping(
    session: Session, connection_id: int, *, offer_id: str, sku: str, marketplace_sku: str | None = None
) -> tuple[dict[str, Any], bool]:
    product_id = session.scalar(select(Product.id).where(Product.sku == sku))
    if product_id is None:
        raise NotFound(f"no product with SKU {sku!r}", field="sku")
    row = session.scalar(
        select(MarketplaceProduct).where(
            MarketplaceProduct.connection_id == connection_id, MarketplaceProduct.offer_id == offer_id
        )
    )
    created = row is None
    if row is None:
        row = MarketplaceProduct(connection_id=connection_id, offer_id=offer_id)
        session.add(row)
    row.product_id, row.marketplace_sku = product_id, marketplace_sku
    session.flush()
    return product_view(row, sku), created


def delete_product_mapping(session: Session, connection_id: int, offer_id: str) -> None:
    result = session.execute(
        delete(MarketplaceProduct).where(
            MarketplaceProduct.connection_id == connection_id, MarketplaceProduct.offer_id == offer_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no mapping for offer {offer_id!r}")
