"""The ASGI application: API under /api/v1, health, problem types; the web UI mounts at / when present."""

from __future__ import annotations

import importlib  # issue #4: fulfilment router

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text
from sqlalchemy.engine import Engine

from zakaz import __version__
from zakaz.api import catalog, orders, problems, stock
from zakaz.api.context import AppContext, json_response
from zakaz.auth.service import KeyCache
from zakaz.config import Settings, get_settings
from zakaz.db import create_db_engine
from zakaz.web import install as install_web  # back office (issue #3)


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
    app.include_router(orders.router)
    app.include_router(catalog.router)
    app.include_router(stock.router)
    app.include_router(importlib.import_module("zakaz.api.fulfilment").router)  # issue #4: fulfilment API
    _include_notifications(app)  # issue #5: messages, webhooks, unsubscribe, /track
    app.include_router(importlib.import_module("zakaz.api.marketplaces").router)  # issue #7: Ozon API
    app.include_router(importlib.import_module("zakaz.api.returns").router)  # issue #6: after-sales API
    app.include_router(importlib.import_module("zakaz.api.support").router)  # issue #7: support inbox API

    @app.get("/healthz", tags=["ops"])
    def healthz() -> Response:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__})

    @app.get("/problems/{kind}", include_in_schema=False)
    def problem_type(kind: str) -> HTMLResponse:
        status, title, hint = problems.PROBLEM_TYPES.get(kind, (400, kind, ""))
        return HTMLResponse(f"<h1>{title}</h1><p>HTTP {status}. {hint}</p>")

    install_web(app)  # back office (issue #3): pages at /, static files, HTML error pages for UI paths
    app.include_router(importlib.import_module("zakaz.web.marketplaces_settings").router)  # issue #7 page
    app.include_router(importlib.import_module("zakaz.web.returns_shopper").router)  # issue #6 shopper form
    app.include_router(importlib.import_module("zakaz.web.returns_queue").router)  # issue #6 back office
    app.include_router(importlib.import_module("zakaz.web.return_photos").router)  # issue #6 return photos
    app.include_router(importlib.import_module("zakaz.web.support").router)  # issue #7 support inbox
    return app


def _include_notifications(app: FastAPI) -> None:
    """Issue #5: /api/v1/messages, /api/v1/webhooks, /unsubscribe/{token} and the /track pages."""
    from zakaz.notifications import api as notifications_api
    from zakaz.tracking import routes as tracking

    app.include_router(notifications_api.router)
    app.include_router(notifications_api.public)
    app.include_router(tracking.router)
