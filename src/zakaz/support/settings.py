"""Support inbox settings from ``ZAKAZ_SUPPORT_*`` environment variables."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class SupportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_SUPPORT_", env_file=".env", extra="ignore")

    #: How often the periodic job lists unread Ozon chats (pushes bring most messages sooner).
    pull_interval_seconds: float = 120.0
    #: Ozon chat types kept in the inbox; notification and Ozon-support chats are left out.
    chat_types: list[str] = ["Buyer_Seller"]
    #: Messages read per history call, and at most this many pages per chat per run.
    history_page: int = 100
    history_max_pages: int = 20
    #: A chat seen for the first time: this many pages of its newest messages are read.
    first_history_pages: int = 1
    #: A reply whose sending failed this many times (outcome checked against history each time) fails.
    reply_max_attempts: int = 4
    #: After Ozon refused chat access (no Premium Plus, missing role) ask again only this often.
    no_access_retry_seconds: float = 3600.0


@cache
def get_support_settings() -> SupportSettings:
    return SupportSettings()
