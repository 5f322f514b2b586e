"""Who is looking: the session cookie -> the user, and the permission checks every page and POST uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from zakaz.auth.roles import Permission, allows
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.users import service as users
from zakaz.users.service import SessionUser
from zakaz.web import csrf
from zakaz.web.settings import WebSettings, get_web_settings

COOKIE = "zakaz_session"
_TOUCH_EVERY = timedelta(minutes=5)


class LoginRequired(Exception):
    """No valid session: full pages redirect to the log-in page, HTMX requests get HX-Redirect."""


class Forbidden(Exception):
    """The user's role may not do this (checked on the server for every request)."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.ctx.engine
    return engine


def web_settings(request: Request) -> WebSettings:
    found = getattr(request.app.state, "web_settings", None)
    return found if isinstance(found, WebSettings) else get_web_settings()


def optional_user(request: Request) -> SessionUser | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    settings = web_settings(request)
    idle = timedelta(minutes=settings.session_idle_minutes)
    engine = engine_of(request)
    with unit_of_work(engine, read_only=True) as session:
        user = users.find_session(session, token, idle=idle)
    if user is not None and utcnow() - user.last_seen_at > _TOUCH_EVERY:
        with unit_of_work(engine) as session:
            users.touch_session(session, user.session_id)
    request.state.user = user
    return user


def current_user(user: Annotated[SessionUser | None, Depends(optional_user)]) -> SessionUser:
    if user is None:
        raise LoginRequired()
    return user


User = Annotated[SessionUser, Depends(current_user)]


def require(permission: Permission) -> Callable[[SessionUser], SessionUser]:
    """A page dependency: the logged-in user, who must hold ``permission``."""

    def check(user: User) -> SessionUser:
        if not allows(user.role, permission):
            raise Forbidden(permission.value)
        return user

    return check


def post_by(permission: Permission) -> Callable[[Request, SessionUser], Awaitable[SessionUser]]:
    """A POST dependency: logged in, a valid CSRF token, and ``permission`` (in that order)."""

    async def check(request: Request, user: User) -> SessionUser:
        await csrf.verify(request, user.csrf_token)
        if not allows(user.role, permission):
            raise Forbidden(permission.value)
        return user

    return check


Reader = Annotated[SessionUser, Depends(require(Permission.read))]
Poster = Annotated[SessionUser, Depends(post_by(Permission.read))]
