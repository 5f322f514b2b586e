"""Password hashing with Argon2id (argon2-cffi defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored_hash or _DUMMY_HASH, password)) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return bool(_hasher.check_needs_rehash(stored_hash))
