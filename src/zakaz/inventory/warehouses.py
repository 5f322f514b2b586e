"""Warehouse registry: upsert by code, list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.inventory.models import Warehouse
from zakaz.inventory.schemas import WarehouseIn


def upsert_warehouse(session: Session, data: WarehouseIn) -> tuple[Warehouse, bool]:
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == data.code))
    created = warehouse is None
    if warehouse is None:
        warehouse = Warehouse(code=data.code)
        session.add(warehouse)
    for field, value in data.model_dump(exclude={"code"}).items():
        setattr(warehouse, field, value)
    session.flush()
    return warehouse, created


def list_warehouses(session: Session) -> list[Warehouse]:
    return list(session.scalars(select(Warehouse).order_by(Warehouse.priority, Warehouse.code)))
