"""One Jinja environment for every page and language; ``render`` adds what every page needs."""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from zakaz.auth.roles import Permission, allows
from zakaz.users.service import LOCALES, SessionUser
from zakaz.web import flash, i18n, labels
from zakaz.web.settings import get_web_settings

STATIC_DIR = Path(str(files("zakaz.web") / "static"))

# Whether the person the page is rendered for may see money: money filters return "" otherwise, so a
# template cannot leak an amount to warehouse staff even by mistake.
_money_visible: ContextVar[bool] = ContextVar("zakaz_web_money", default=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def static_version(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    return f"/static/{path}?v={static_version(path)}"


def _money(minor: int | None, currency: str = "RUB") -> str:
    return i18n.fmt_money(minor, currency) if _money_visible.get() else ""


def _datetime(value: datetime | None, width: str = "short") -> str:
    return i18n.fmt_datetime(value, get_web_settings().timezone, width)


def _date(value: datetime | None, width: str = "medium") -> str:
    return i18n.fmt_date(value, get_web_settings().timezone, width)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _delta(value: timedelta) -> str:
    return i18n.fmt_delta(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("zakaz.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=_money, number=i18n.fmt_number, datetime=_datetime, date=_date, iso=_iso, delta=_delta
    )
    env.globals.update(
        static=static_url,
        status_label=lambda c: labels.label(labels.STATUS, c),
        hold_label=lambda c: labels.label(labels.HOLD_REASON, c),
        event_label=lambda c: labels.label(labels.EVENT, c),
        action_label=lambda c: labels.label(labels.ACTION, c),
        role_label=lambda c: labels.label(labels.ROLE, c),
        movement_label=lambda c: labels.label(labels.MOVEMENT_REASON, c),
        channel_label=lambda c: labels.label(labels.CHANNEL, c),
        payment_label=lambda c: labels.label(labels.PAYMENT, c),
        language_name=i18n.language_name,
        locales=LOCALES,
    )
    return env


def _flash_text(message: dict[str, Any]) -> str:
    if "raw" in message:
        return str(message["raw"])
    msgid = str(message["text"])
    args: dict[str, Any] = message.get("args") or {}
    return i18n.gettext(msgid) % args


def can(user: SessionUser | None, permission: Permission | str) -> bool:
    return user is not None and allows(user.role, Permission(permission))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: SessionUser | None,
    status: int = 200,
    locale: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = locale or (user.locale if user else i18n.negotiate(request.headers.get("accept-language")))
    hx = request.headers.get("hx-request") == "true"
    flashes = list(getattr(request.state, "flash", None) or [])
    if user is not None and user.flash and not hx:
        flashes = [*user.flash, *flashes]
        flash.clear(request, user)
    base: dict[str, Any] = {
        "request": request,
        "user": user,
        "locale": locale,
        "html_lang": i18n.html_lang(locale),
        "csrf_token": user.csrf_token if user else "",
        "flashes": flashes,
        "can": lambda p: can(user, p),
        "show_money": can(user, Permission.money_read),
        "path": request.url.path,
        "nav": "",
        "hx": hx,
    }
    money_token = _money_visible.set(can(user, Permission.money_read))
    try:
        with i18n.use_locale(locale):
            flash_texts = [{"level": f.get("level", "info"), "text": _flash_text(f)} for f in flashes]
            html = (
                environment().get_template(name).render({**base, "flashes": flash_texts, **(context or {})})
            )
    finally:
        _money_visible.reset(money_token)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Vary"] = "Cookie, HX-Request"
    return response
