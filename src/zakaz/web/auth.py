"""Log in, log out, and the language switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from zakaz.db import unit_of_work
from zakaz.users import service as users
from zakaz.users.service import LOCALES, SessionUser
from zakaz.web import csrf, i18n
from zakaz.web.deps import COOKIE, Poster, engine_of, optional_user, web_settings
from zakaz.web.i18n import N_
from zakaz.web.ratelimit import LoginLimiter
from zakaz.web.templating import render

router = APIRouter()
LANG_COOKIE = "zakaz_lang"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only paths on this site: no scheme, no host, no protocol-relative ``//evil``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def secure_cookies(request: Request) -> bool:
    configured = web_settings(request).cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def limiter(request: Request) -> LoginLimiter:
    found = getattr(request.app.state, "login_limiter", None)
    if not isinstance(found, LoginLimiter):
        s = web_settings(request)
        found = LoginLimiter(
            per_account=s.login_max_failures,
            per_address=s.login_max_failures_per_ip,
            window_seconds=s.login_window_seconds,
        )
        request.app.state.login_limiter = found
    return found


def _login_locale(request: Request, lang: str | None) -> str:
    if lang in LOCALES:
        return lang
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in LOCALES:
        return remembered
    return i18n.negotiate(request.headers.get("accept-language"))


def _login_page(
    request: Request, *, locale: str, next_url: str, email: str = "", error: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_token()
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next_url": next_url,
            "email": email,
            "error": error,
            "bye": request.query_params.get("bye") == "1",
        },
        user=None,
        status=status,
        locale=locale,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(request), path="/login"
    )
    return response


@router.get("/login", name="login")
def login_form(
    request: Request,
    user: Annotated[SessionUser | None, Depends(optional_user)],
    next: str | None = None,
    lang: str | None = None,
) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    locale = _login_locale(request, lang)
    response = _login_page(request, locale=locale, next_url=safe_next(next))
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, samesite="lax", max_age=365 * 86400, httponly=True)
    return response


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    locale = _login_locale(request, None)
    next_url = safe_next(next)
    cookie_token = request.cookies.get(csrf.LOGIN_COOKIE, "")
    if not cookie_token or not csrf_token or cookie_token != csrf_token:
        with i18n.use_locale(locale):
            message = i18n.gettext(N_("Your log-in form expired. Please try again."))
        return _login_page(request, locale=locale, next_url=next_url, email=email, error=message, status=403)
    address = request.client.host if request.client else "unknown"
    email_key = users.normalise_email(email)
    limit = limiter(request)
    wait = limit.retry_after(address, email_key)
    if wait:
        with i18n.use_locale(locale):
            message = i18n.gettext(
                N_("Too many failed attempts. Wait %(minutes)s minutes, then try again.")
            ) % {"minutes": max(1, round(wait / 60))}
        page = _login_page(request, locale=locale, next_url=next_url, email=email, error=message, status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    engine = engine_of(request)
    with unit_of_work(engine, read_only=True) as session:
        user_id = users.authenticate(session, email=email, password=password)
    if user_id is None:
        limit.failed(address, email_key)
        with i18n.use_locale(locale):
            message = i18n.gettext(N_("Wrong e-mail or password, or the account is disabled."))
        return _login_page(request, locale=locale, next_url=next_url, email=email, error=message, status=401)
    limit.succeeded(address, email_key)
    settings = web_settings(request)
    with unit_of_work(engine) as session:
        users.record_login(session, user_id=user_id, password=password)
        users.purge_expired(session, idle=timedelta(minutes=settings.session_idle_minutes))
        token = users.open_session(
            session, user_id=user_id, lifetime=timedelta(hours=settings.session_max_hours)
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, user: Poster) -> Response:
    with unit_of_work(engine_of(request)) as session:
        users.close_session(session, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    response.set_cookie(LANG_COOKIE, user.locale, samesite="lax", max_age=365 * 86400, httponly=True)
    return response


@router.post("/account/language")
def set_language(
    request: Request,
    user: Poster,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if locale in LOCALES:
        with unit_of_work(engine_of(request)) as session:
            users.set_locale(session, user_id=user.user_id, locale=locale)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, locale, samesite="lax", max_age=365 * 86400, httponly=True)
    return response
