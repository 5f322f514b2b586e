"""Product request/response shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")
    name: str = Field(min_length=1, max_length=255)
    barcodes: list[str] = Field(default_factory=list, max_length=20)
    weight_g: int = Field(default=0, ge=0, le=1_000_000)
    length_mm: int = Field(default=0, ge=0, le=10_000)
    width_mm: int = Field(default=0, ge=0, le=10_000)
    height_mm: int = Field(default=0, ge=0, le=10_000)
    price_minor: int = Field(default=0, ge=0, le=10**12)  # orders.rules.MAX_AMOUNT_MINOR
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    allow_backorder: bool = False
    image_url: str | None = Field(default=None, max_length=500)
    active: bool = True


class ProductOut(ProductIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
