"""Error pages in the back office's style (403/404/500 ...) without changing the API's problem JSON.

The API registers RFC 9457 handlers for the whole app; here each is wrapped so that requests for
back-office pages get an HTML page and every other path keeps the API's answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from zakaz.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from zakaz.web.csrf import CsrfFailed
from zakaz.web.deps import Forbidden, LoginRequired, optional_user
from zakaz.web.i18n import N_
from zakaz.web.templating import render

log = logging.getLogger("zakaz.web")
API_PREFIXES = ("/api/", "/api", "/docs", "/redoc", "/openapi.json", "/healthz", "/problems", "/static/")
UI_PREFIXES: tuple[str, ...] = ("/login", "/logout", "/account/", "/orders", "/stock", "/settings/")
UI_PREFIXES += ("/fulfilment/", "/messages")  # issue #4 / issue #5 pages
Handler = Callable[[Request, Any], Awaitable[Response]]

PAGES: dict[int, tuple[str, str]] = {
    400: (N_("That request could not be understood"), N_("Go back, check the form and send it again.")),
    403: (
        N_("Your role may not do this"),
        N_("Ask an administrator for a role with this permission, or go back to the dashboard."),
    ),
    404: (
        N_("Page not found"),
        N_("The page or order does not exist. Search the orders board for the number."),
    ),
    405: (N_("That request could not be understood"), N_("Use the buttons on the page instead.")),
    409: (N_("That could not be done"), N_("Reload the page to see the current state, then try again.")),
    500: (
        N_("Something went wrong on our side"),
        N_("The error was logged. Try again in a moment; if it persists, tell your administrator."),
    ),
}
CSRF_HINT = (
    N_("The form has expired"),
    N_("Reload the page and submit the form again. This protects you from forged requests."),
)


def is_ui(request: Request) -> bool:
    """Back-office pages, and any other non-API path a browser asked for as HTML (unknown URLs)."""
    path = request.url.path
    if path == "/" or path.startswith(UI_PREFIXES):
        return True
    return not path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", "")


async def error_page(
    request: Request, status: int, *, texts: tuple[str, str] | None = None, detail: str = ""
) -> Response:
    user = getattr(request.state, "user", None)
    if user is None and request.cookies:
        try:
            user = await run_in_threadpool(optional_user, request)
        except Exception:  # the error page must render even when the database is the problem
            user = None
    title, hint = texts or PAGES.get(status, PAGES[400 if status < 500 else 500])
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "hint": hint, "detail": detail},
        user=user,
        status=status,
    )


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/"
    url = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    def wrap(exc_type: type[Exception] | int, ui: Handler) -> None:
        api = app.exception_handlers.get(exc_type)

        async def handler(request: Request, exc: Exception) -> Response:
            if is_ui(request) or api is None:
                return await ui(request, exc)
            answer = api(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(exc_type, handler)

    async def login_required(request: Request, exc: Exception) -> Response:
        return _login_redirect(request)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403)

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403, texts=CSRF_HINT)

    async def http_error(request: Request, exc: Exception) -> Response:
        return await error_page(request, getattr(exc, "status_code", 500))

    async def domain_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, DomainError):
            return await error_page(request, 500)
        if isinstance(exc, NotFound):
            return await error_page(request, 404)
        if isinstance(exc, PermissionDenied):
            return await error_page(request, 403)
        return await error_page(request, 400 if isinstance(exc, ValidationFailed) else 409, detail=exc.detail)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        return await error_page(request, 400)

    async def server_error(request: Request, exc: Exception) -> Response:
        if not is_ui(request):
            return PlainTextResponse("Internal Server Error", status_code=500)
        log.exception("back-office page failed: %s %s", request.method, request.url.path, exc_info=exc)
        return await error_page(request, 500)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    wrap(StarletteHTTPException, http_error)
    wrap(DomainError, domain_error)
    wrap(ValidationFailed, domain_error)
    wrap(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, server_error)
