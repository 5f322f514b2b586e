"""Users and browser sessions. Services take a Session and never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from zakaz.auth.roles import Role
from zakaz.clock import utcnow
from zakaz.errors import Conflict, FieldError, NotFound, ValidationFailed
from zakaz.users.models import User, WebSession
from zakaz.users.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password

#: Back-office languages (gettext catalogue names under zakaz/locale).
LOCALES = ("zh_Hans", "en")
DEFAULT_LOCALE = "en"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check(email: str, password: str, locale: str) -> None:
    errors = []
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        errors.append(FieldError("email", "invalid", "not an e-mail address"))
    if len(password) < MIN_LENGTH:
        errors.append(FieldError("password", "too_short", f"at least {MIN_LENGTH} characters"))
    if locale not in LOCALES:
        errors.append(FieldError("locale", "unsupported", f"one of {', '.join(LOCALES)}"))
    if errors:
        raise ValidationFailed(errors)


def create_user(
    session: Session, *, email: str, password: str, role: Role, locale: str = DEFAULT_LOCALE
) -> User:
    email = normalise_email(email)
    _check(email, password, locale)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    user = User(email=email, password_hash=hash_password(password), role=role.value, locale=locale)
    session.add(user)
    session.flush()
    return user


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def set_password(session: Session, *, email: str, password: str) -> None:
    user = get_user(session, email)
    _check(user.email, password, user.locale)
    user.password_hash = hash_password(password)
    # A new password logs every browser out.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_active(session: Session, *, email: str, active: bool) -> None:
    user = get_user(session, email)
    user.active = active
    if not active:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_role(session: Session, *, email: str, role: Role) -> None:
    get_user(session, email).role = role.value


def set_locale(session: Session, *, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationFailed([FieldError("locale", "unsupported", f"one of {', '.join(LOCALES)}")])
    session.execute(update(User).where(User.id == user_id).values(locale=locale))


def authenticate(session: Session, *, email: str, password: str) -> int | None:
    """The id of the active user with this e-mail and password, else None (same cost either way).

    Read-only: run it in a read-only unit, then :func:`record_login` in a short write unit, so the slow
    hash check never holds a write lock.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user.id


def record_login(session: Session, *, user_id: int, password: str | None = None) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if password is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()


# --- browser sessions -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionUser:
    """What a page needs about the person looking at it."""

    session_id: int
    user_id: int
    email: str
    role: Role
    locale: str
    csrf_token: str
    last_seen_at: datetime
    flash: list[dict[str, Any]] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return f"user:{self.email}"


def open_session(session: Session, *, user_id: int, lifetime: timedelta) -> str:
    """Create a session row and return the raw token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_token_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            flash=[],
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def find_session(session: Session, token: str, *, idle: timedelta) -> SessionUser | None:
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    ws, user = row
    now = utcnow()
    if not user.active or ws.expires_at <= now or ws.last_seen_at + idle <= now:
        return None
    return SessionUser(
        ws.id,
        user.id,
        user.email,
        Role(user.role),
        user.locale,
        ws.csrf_token,
        ws.last_seen_at,
        list(ws.flash),
    )


def touch_session(session: Session, session_id: int) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow()))


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def purge_expired(session: Session, *, idle: timedelta) -> int:
    now = utcnow()
    result = session.execute(
        delete(WebSession).where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - idle))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def push_flash(session: Session, session_id: int, message: dict[str, Any]) -> None:
    """Queue a message for the next page this browser shows."""
    current = session.scalar(select(WebSession.flash).where(WebSession.id == session_id)) or []
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(flash=[*current, message][-5:])
    )


def take_flash(session: Session, session_id: int) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(flash=[]))
