"""Signed links in messages: the tracking page of one order, and unsubscribe from one channel.

Tokens are itsdangerous signatures over ids (no database row per link). Tracking links expire
(``TRACKING_MAX_AGE``); unsubscribe links never do, so an old e-mail can always stop the next one.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import cache
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from zakaz.notifications.settings import NotifySettings

TRACKING_MAX_AGE = 180 * 24 * 3600


@cache
def _file_secret(path: Path) -> str:
    """A random key created once (O_EXCL, so two processes starting together agree) and reused."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)  # the creator has not written it yet
    raise RuntimeError(f"empty secret key file {path}")


def secret_of(settings: NotifySettings) -> str:
    return settings.secret_key or _file_secret(settings.secret_key_file)


def tracking_token(order_id: int, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt="zakaz.track").dumps({"o": order_id})


def read_tracking_token(token: str, secret: str, *, max_age: int = TRACKING_MAX_AGE) -> int | None:
    try:
        data = URLSafeTimedSerializer(secret, salt="zakaz.track").loads(token, max_age=max_age)
    except (BadSignature, ValueError):
        return None
    value = data.get("o") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def unsubscribe_token(customer_id: int, channel: str, secret: str) -> str:
    return URLSafeSerializer(secret, salt="zakaz.unsubscribe").dumps({"c": customer_id, "ch": channel})


def read_unsubscribe_token(token: str, secret: str) -> tuple[int, str] | None:
    try:
        data = URLSafeSerializer(secret, salt="zakaz.unsubscribe").loads(token)
    except (BadSignature, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("c"), int)
        or not isinstance(data.get("ch"), str)
    ):
        return None
    return data["c"], data["ch"]


def tracking_url(settings: NotifySettings, order_id: int, *, lang: str | None = None) -> str:
    url = f"{settings.public_base_url.rstrip('/')}/track/{tracking_token(order_id, secret_of(settings))}"
    return f"{url}?lang={lang}" if lang else url


def unsubscribe_url(settings: NotifySettings, customer_id: int, channel: str) -> str:
    token = unsubscribe_token(customer_id, channel, secret_of(settings))
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{token}"
