"""Notification settings from ``ZAKAZ_*`` environment variables (kept apart from config.py).

With nothing configured (the default of ``make run``) every channel only renders and records its
messages (status ``recorded``); setting a provider's credentials switches that channel to real delivery.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ALL_EVENTS = ["received", "confirmed", "shipped", "out_for_delivery", "delivered", "delayed", "cancelled"]
# A split order whose first parcel left (e-mail and push by default; the "shipped" SMS follows for the rest)
ALL_EVENTS += ["partially_shipped"]
# issue #6: after-sales events (e-mail and push by default, not SMS)
ALL_EVENTS += ["return_requested", "return_approved", "return_rejected", "return_received", "return_refunded"]
# issue #6: the other return steps (e-mail and push by default, not SMS)
ALL_EVENTS += ["return_in_transit", "return_exchanged", "return_closed"]


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_", env_file=".env", extra="ignore")

    #: Links in messages (tracking page, unsubscribe) start with this.
    public_base_url: str = "http://127.0.0.1:8000"
    #: Signs tracking and unsubscribe links. Empty: a random key kept in ``secret_key_file``.
    secret_key: str = ""
    secret_key_file: Path = Path("var/secret.key")
    shop_name: str = "Zakaz"
    default_locale: str = "ru"
    default_timezone: str = "Europe/Moscow"

    # E-mail over SMTP; no host = record only.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "Zakaz <no-reply@zakaz.local>"
    #: "starttls", "ssl" or "none" (loopback relays and tests).
    smtp_security: str = "starttls"
    smtp_timeout_seconds: float = 15.0

    # SMS through SMS.ru (https://sms.ru/api/send); no api_id = record only.
    smsru_api_id: str = ""
    smsru_base_url: str = "https://sms.ru"
    smsru_sender: str = ""
    smsru_test: bool = False
    #: Messages longer than this many segments are shortened (each segment is billed).
    sms_max_segments: int = 3
    #: SMS are deferred (not dropped) between these local hours of the recipient; start == end disables.
    sms_quiet_start_hour: int = 21
    sms_quiet_end_hour: int = 9

    # Web Push (VAPID); no private key = record only.
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:admin@zakaz.local"

    # Outgoing webhooks (endpoints are registered through the API).
    webhook_timeout_seconds: float = 10.0
    # Webhook URLs and push endpoints must resolve to public addresses (notifications/netguard.py); true
    # lets them point into a closed network (and lets tests use receivers on loopback).
    allow_private_destinations: bool = False
    webhook_tolerance_seconds: int = 300

    # Which shopper events each channel sends (JSON lists in the environment).
    email_events: list[str] = list(ALL_EVENTS)
    sms_events: list[str] = ["shipped", "out_for_delivery", "delayed", "cancelled"]
    push_events: list[str] = list(ALL_EVENTS)
    # Order channels whose buyers we never message (e-mail, SMS, push): the marketplace talks to its own
    # buyers and its rules forbid contacting them directly. Webhooks to the seller's systems still go out.
    silent_channels: list[str] = ["ozon"]


@cache
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
