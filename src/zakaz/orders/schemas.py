"""Request and response shapes of the orders API (pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(_In):
    name: str = Field(default="", max_length=255)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    locale: str = Field(default="ru", pattern=r"^(ru|en|zh)$")


class AddressIn(_In):
    name: str = Field(default="", max_length=255)
    country: str = Field(default="RU", min_length=2, max_length=2)
    region: str = Field(default="", max_length=120)
    city: str = Field(default="", max_length=120)
    postcode: str = Field(default="", max_length=16)
    line1: str = Field(default="", max_length=255)
    line2: str = Field(default="", max_length=255)
    latitude: float | None = None
    longitude: float | None = None


class LineIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    # 64-bit bounds: PostgreSQL intake reads the lines before rules.validate sets the business limits
    quantity: int = Field(ge=-(2**63), le=2**63 - 1)
    unit_price_minor: int = Field(
        ge=-(2**63), le=2**63 - 1, description="Unit price in minor units (kopecks)"
    )
    name: str | None = Field(default=None, max_length=255)


class OrderCreate(_In):
    channel: str = Field(default="api", pattern=r"^[a-z0-9_\-]{1,32}$")
    external_id: str | None = Field(default=None, min_length=1, max_length=128)
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    customer: CustomerIn
    shipping_address: AddressIn
    lines: list[LineIn]
    shipping_minor: int = 0
    discount_minor: int = 0
    total_minor: int | None = Field(
        default=None, description="If given, must equal lines + shipping - discount"
    )
    payment_status: str = Field(default="pending", pattern=r"^(pending|paid|cod|failed)$")
    ship_by: AwareDatetime | None = Field(default=None, description="Ship-by deadline with a UTC offset")
    note: str = Field(default="", max_length=2000)


class OrderEdit(_In):
    """Fields that may change until picking starts. Lines, when given, replace all lines."""

    customer: CustomerIn | None = None
    shipping_address: AddressIn | None = None
    lines: list[LineIn] | None = None
    shipping_minor: int | None = None
    discount_minor: int | None = None
    note: str | None = Field(default=None, max_length=2000)
    reason: str = Field(default="", max_length=500)


class ActionIn(_In):
    reason: str = Field(default="", max_length=500)


class HoldIn(_In):
    reason: str = Field(min_length=1, max_length=500)


def order_view(data: dict[str, Any]) -> dict[str, Any]:
    """Identity helper kept for symmetry with other domains; views are plain dicts built by the service."""
    return data
