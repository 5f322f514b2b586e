"""Settings from the environment (prefix ``ZAKAZ_``) via pydantic-settings."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('var/zakaz.db').resolve()}",
        description="SQLAlchemy URL; SQLite (embedded default) or postgresql+psycopg://...",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    default_currency: str = "RUB"
    default_phone_region: str = "RU"

    # Intake limits (structural validation).
    max_line_quantity: int = 10_000
    max_lines_per_order: int = 500

    # Business holds (typed reasons); money in minor units (kopecks).
    first_order_hold_above_minor: int = 5_000_000
    history_hold_multiplier: int = 5
    history_min_orders: int = 3

    allocation_policy: str = "fewest_shipments"
    default_ship_within_hours: int = 48
    api_key_cache_seconds: float = 30.0


@cache
def get_settings() -> Settings:
    return Settings()
