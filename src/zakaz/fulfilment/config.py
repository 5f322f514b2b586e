"""Fulfilment settings from the environment (``ZAKAZ_FULFILMENT_*``): boxes, carriers, promises, texts.

JSON values for the structured ones, e.g.
``ZAKAZ_FULFILMENT_CARRIERS='{"cdek": {"base_url": "https://gw.example/cdek", "api_key": "...",
"webhook_secret": "..."}}'`` and ``ZAKAZ_FULFILMENT_BOXES='[{"code": "S", "length_mm": 200, ...}]'``.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from zakaz.carriers.rates import ShoppingPolicy
from zakaz.fulfilment.rules import DEFAULT_BOXES, Box


class BoxIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)
    tare_g: int = Field(ge=0)
    max_weight_g: int = Field(default=30_000, gt=0)

    def to_box(self) -> Box:
        return Box(**self.model_dump())


class CarrierConfig(BaseModel):
    base_url: str
    api_key: str
    webhook_secret: str = ""
    timeout_s: float = 10.0


RETURN_RU = (
    "Возврат: в течение 14 дней с момента получения. Сохраните этот бланк, упакуйте товар и отправьте его "
    "на адрес склада, указанный выше, с номером заказа. Деньги вернём в течение 10 дней после получения."
)
RETURN_EN = (
    "Returns: within 14 days of delivery. Keep this slip, pack the item and send it to the warehouse address "
    "above quoting the order number. We refund within 10 days of receiving it."
)


class FulfilmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_FULFILMENT_", env_file=".env", extra="ignore")

    boxes: list[BoxIn] = Field(default_factory=lambda: [BoxIn(**asdict(b)) for b in DEFAULT_BOXES])
    carriers: dict[str, CarrierConfig] = Field(default_factory=dict)
    rate_policy: ShoppingPolicy = ShoppingPolicy.CHEAPEST_ON_TIME
    #: Promised delivery = the order's ship-by date + this many days (when the caller gives no date).
    promised_delivery_days: int = 5
    sender_name: str = "Zakaz"
    sender_phone: str = "+74950000000"
    return_instructions_ru: str = RETURN_RU
    return_instructions_en: str = RETURN_EN
    default_max_orders: int = 200

    def box_sizes(self) -> tuple[Box, ...]:
        return tuple(b.to_box() for b in self.boxes)


@cache
def get_fulfilment_settings() -> FulfilmentSettings:
    return FulfilmentSettings()
