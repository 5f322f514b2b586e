"""Warehouse and stock request/response shapes."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=255)
    address: str = Field(default="", max_length=500)
    city: str = Field(default="", max_length=120)
    region: str = Field(default="", max_length=120)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    priority: int = Field(default=100, ge=0, le=10_000)
    active: bool = True
    cutoff_time: time | None = None
    timezone: str = Field(default="Europe/Moscow", max_length=64)


class WarehouseOut(WarehouseIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


class StockAdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    warehouse: str = Field(min_length=1, max_length=32)
    sku: str = Field(min_length=1, max_length=64)
    delta: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    set_on_hand: int | None = Field(default=None, ge=0, le=10_000_000)
    reason: str = Field(
        default="adjustment", pattern=r"^(receipt|adjustment|stocktake|damage|return_restock)$"
    )
    note: str = Field(default="", max_length=500)
    bin_location: str | None = Field(default=None, max_length=32)
