"""The ASGI application: API under /api/v1, health, problem types; the web UI mounts at / when present."""

from __future__ import annotations

import html
import importlib  # issue #4: fulfilment router
from typing import Any  # hostile-input guard

from fastapi import Depends, FastAPI  # Depends: hostile-input guard
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text
from sqlalchemy.engine import Engine

from zakaz import __version__
from zakaz.api import catalog, orders, problems, stock
from zakaz.api.context import AppContext, json_response
from zakaz.api.guards import checked_input  # hostile input: 422, not a database error
from zakaz.api.limits import BodySizeLimit
from zakaz.api.money import MoneyRedaction
from zakaz.auth.service import KeyCache
from zakaz.config import Settings, get_settings
from zakaz.db import create_db_engine
from zakaz.web import install as install_web  # back office (issue #3)
from zakaz.web.templating import SECURITY_HEADERS


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or create_db_engine(settings.database_url)
    app = FastAPI(
        title="Zakaz OMS API",
        version=__version__,
        description="Order management for marketplace and web-shop sellers. "
        "Authenticate with `Authorization: Bearer <api key>`; errors are RFC 9457 problem JSON; "
        "every mutating call accepts an `Idempotency-Key` header.",
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.ctx = AppContext(
        settings=settings, engine=engine, keys=KeyCache(settings.api_key_cache_seconds)
    )
    problems.install(app)
    app.add_middleware(BodySizeLimit)  # 413 for bodies over the limit, before anything reads them
    app.add_middleware(MoneyRedaction)  # warehouse keys get answers without amounts
    guard = [Depends(checked_input)]  # hostile input: NUL / out-of-range ids refused as 422
    app.include_router(orders.router, dependencies=guard)
    app.include_router(catalog.router, dependencies=guard)
    app.include_router(stock.router, dependencies=guard)
    # issue #4: fulfilment API; guard: hostile input
    app.include_router(importlib.import_module("zakaz.api.fulfilment").router, dependencies=guard)
    _include_notifications(app, guard)  # issue #5: messages, webhooks, unsubscribe, /track
    # issue #7: Ozon API; guard: hostile input
    app.include_router(importlib.import_module("zakaz.api.marketplaces").router, dependencies=guard)
    # issue #6: after-sales API; guard: hostile input
    app.include_router(importlib.import_module("zakaz.api.returns").router, dependencies=guard)
    # issue #7: support inbox API; guard: hostile input
    app.include_router(importlib.import_module("zakaz.api.support").router, dependencies=guard)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> Response:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__})

    @app.get("/problems/{kind}", include_in_schema=False)
    def problem_type(kind: str) -> HTMLResponse:
        """The page a problem's ``type`` points at: known kinds only (no text from the URL is echoed)."""
        known = problems.PROBLEM_TYPES.get(kind)
        if known is None:
            return HTMLResponse("<h1>Unknown problem type</h1>", status_code=404, headers=SECURITY_HEADERS)
        status, title, hint = known
        body = f"<h1>{html.escape(title)}</h1><p>HTTP {status}. {html.escape(hint)}</p>"
        return HTMLResponse(body, headers=SECURITY_HEADERS)

    install_web(app)  # back office (issue #3): pages at /, static files, HTML error pages for UI paths
    app.include_router(importlib.import_module("zakaz.web.marketplaces_settings").router)  # issue #7 page
    app.include_router(importlib.import_module("zakaz.web.returns_shopper").router)  # issue #6 shopper form
    app.include_router(importlib.import_module("zakaz.web.returns_queue").router)  # issue #6 back office
    app.include_router(importlib.import_module("zakaz.web.return_photos").router)  # issue #6 return photos
    app.include_router(importlib.import_module("zakaz.web.support").router)  # issue #7 support inbox
    return app


def _include_notifications(app: FastAPI, guard: list[Any]) -> None:
    """Issue #5: /api/v1/messages, /api/v1/webhooks, /unsubscribe/{token} and the /track pages."""
    from zakaz.notifications import api as notifications_api
    from zakaz.tracking import routes as tracking

    app.include_router(notifications_api.router, dependencies=guard)  # guard: hostile input
    app.include_router(notifications_api.public)
    app.include_router(tracking.router)
