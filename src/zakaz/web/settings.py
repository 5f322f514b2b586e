"""Back-office settings from ZAKAZ_WEB_* environment variables (kept apart from the API's settings)."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_WEB_", env_file=".env", extra="ignore")

    #: Secure flag of the session cookie: true, false, or unset = only when the request came over HTTPS
    #: (set it to true behind a TLS-terminating proxy that talks plain HTTP to us).
    cookie_secure: bool | None = None
    session_idle_minutes: int = 12 * 60
    session_max_hours: int = 7 * 24
    #: Failed log-ins allowed per e-mail and address, and per address, within the window.
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 30
    login_window_seconds: int = 15 * 60
    #: Dates and times are shown in this time zone.
    timezone: str = "Europe/Moscow"
    page_size: int = 50


@cache
def get_web_settings() -> WebSettings:
    return WebSettings()
