"""API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with key rotation.

The key comes from ``ZAKAZ_MARKETPLACE_SECRET_KEY`` (comma-separated: the first encrypts, every key
decrypts, so a new key can be put in front and old rows re-encrypted at leisure). Without it a key is
generated once into ``ZAKAZ_MARKETPLACE_SECRET_KEY_FILE`` with mode 0600; back that file up with the
database, or the stored API keys cannot be read (re-enter them with ``zakaz ozon connect``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from zakaz.marketplaces.settings import MarketplaceSettings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key we no longer have (or was tampered with)."""


def _keys(settings: MarketplaceSettings) -> list[str]:
    keys = [k.strip() for k in settings.secret_key.split(",") if k.strip()]
    if keys:
        return keys
    path = Path(settings.secret_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return [path.read_text().strip()]


def _fernet(settings: MarketplaceSettings) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in _keys(settings)])


def encrypt(plain: str, settings: MarketplaceSettings) -> str:
    return _fernet(settings).encrypt(plain.encode()).decode()


def decrypt(token: str, settings: MarketplaceSettings) -> str:
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("the stored API key cannot be decrypted with the configured key(s)") from exc


def last4(secret: str) -> str:
    """What the API and UI may show of a secret."""
    return secret[-4:] if len(secret) >= 8 else ""
