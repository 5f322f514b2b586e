"""CSRF protection for every form and HTMX request.

Logged-in browsers: one random token per session (stored on the session row), sent back in a hidden
``csrf_token`` field or, by HTMX, in the ``X-CSRF-Token`` header (static/app.js adds it). The log-in
form, which has no session yet, uses a double-submit cookie. Cross-site requests are refused early
from ``Sec-Fetch-Site`` / ``Origin`` as well; the session cookie is SameSite=Lax on top of that.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "zakaz_login_csrf"


class CsrfFailed(Exception):
    """The request did not carry this browser's token (or came from another site)."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def submitted_token(request: Request) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(FIELD)
    return value if isinstance(value, str) else ""


async def verify(request: Request, expected: str) -> None:
    """Raise :class:`CsrfFailed` unless the request carries ``expected`` and comes from our own pages."""
    if not _same_origin(request):
        raise CsrfFailed("cross-site request")
    token = await submitted_token(request)
    if not expected or not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise CsrfFailed("missing or wrong CSRF token")
