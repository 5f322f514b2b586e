"""Marketplace integration settings from ``ZAKAZ_MARKETPLACE_*`` environment variables."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict

#: The networks Ozon sends push notifications from (seller-api-notes 4.1). Not enforced by default:
#: set ``ZAKAZ_MARKETPLACE_PUSH_ALLOWED_NETWORKS='["195.34.21.0/24","185.73.192.0/22","91.223.93.0/24"]'``
#: when Zakaz is reached directly (behind a proxy the source address is the proxy's).
OZON_PUSH_NETWORKS = ("195.34.21.0/24", "185.73.192.0/22", "91.223.93.0/24")


class MarketplaceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_MARKETPLACE_", env_file=".env", extra="ignore")

    #: Fernet key(s) for API keys at rest, comma-separated; the first encrypts, all decrypt (rotation).
    #: Empty: a key is generated once into ``secret_key_file`` (mode 0600).
    secret_key: str = ""
    secret_key_file: str = "var/marketplace-secret.key"
    #: Source networks allowed to call the push endpoint; empty = anyone (see OZON_PUSH_NETWORKS).
    push_allowed_networks: list[str] = []
    #: Name and version answered to TYPE_PING.
    app_name: str = "Zakaz"

    #: FBS postings carry no buyer: the order gets this contact, a muted customer per Ozon order
    #: (``{order}`` = Ozon order number). Deliberately not one shared customer: its running totals
    #: would mix every buyer (and overflow ``customers.total_spent_minor``, a 32-bit integer, on
    #: PostgreSQL after ~21 million roubles). ``.example`` is reserved: nothing is ever delivered there.
    placeholder_name: str = "Покупатель Ozon"
    placeholder_email: str = "ozon-{order}@marketplace.example"
    #: Reason sent when we cancel an Ozon posting (352: out of stock at the seller); must be available.
    cancel_reason_id: int = 352

    sync_interval_seconds: float = 300.0
    #: Unfulfilled postings are listed by ship-by deadline in [now - lookback, now + lookahead].
    sync_lookback_days: int = 30
    sync_lookahead_days: int = 30
    #: Incremental listing starts this much before the stored cursor (clock skew, late commits).
    sync_overlap_seconds: int = 300
    stock_push_interval_seconds: float = 15.0
    returns_interval_seconds: float = 3600.0
    returns_first_days: int = 30
    #: Labels are printable 45-60 s after assembly: ask again after this long while "not ready".
    label_retry_seconds: float = 45.0
    #: Sync errors kept per connection (older ones are pruned).
    keep_errors: int = 500


@cache
def get_marketplace_settings() -> MarketplaceSettings:
    return MarketplaceSettings()
