"""Catalog: create/update products (upsert by SKU) and list them."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.catalog.schemas import ProductIn
from zakaz.errors import NotFound


def upsert_product(session: Session, data: ProductIn) -> tuple[Product, bool]:
    """Create the product or update the one with the same SKU; returns (product, created)."""
    product = session.scalar(select(Product).where(Product.sku == data.sku))
    created = product is None
    if product is None:
        product = Product(sku=data.sku)
        session.add(product)
    for field, value in data.model_dump(exclude={"sku"}).items():
        setattr(product, field, value)
    session.flush()
    return product, created


def get_product(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"no product with SKU {sku!r}")
    return product


def list_products(
    session: Session, *, q: str | None = None, limit: int = 100, offset: int = 0
) -> list[Product]:
    stmt = select(Product).order_by(Product.sku).limit(limit).offset(offset)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.sku).like(like), func.lower(Product.name).like(like)))
    return list(session.scalars(stmt))


def by_barcode(session: Session, barcode: str) -> Product | None:
    """Barcodes are a JSON list; scanning is rare enough for a filtered scan, exact match in Python."""
    for product in session.scalars(select(Product).where(Product.barcodes.is_not(None))):
        if barcode in (product.barcodes or []):
            return product
    return None
