"""The back office: server-rendered pages (Jinja2 + HTMX, Pico CSS) mounted at / by the API's app.

``install(app)`` adds the page routes, the static files and the HTML error pages; the API under
/api/v1 keeps its own behaviour (problem JSON, 405s) untouched.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from zakaz.web.settings import WebSettings, get_web_settings


def install(app: FastAPI, settings: WebSettings | None = None) -> None:
    from zakaz.web import auth, dashboard, errors, order_detail, orders, stock
    from zakaz.web.templating import STATIC_DIR

    app.state.web_settings = settings or get_web_settings()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, dashboard, orders, order_detail, stock):
        app.include_router(module.router, include_in_schema=False)
    # issue #4 (fulfilment screens) and issue #5 (sent messages)
    from zakaz.web import fulfilment_packing, fulfilment_picking, fulfilment_shipments, messages

    for extra in (fulfilment_picking, fulfilment_packing, fulfilment_shipments, messages):
        app.include_router(extra.router, include_in_schema=False)
    errors.install(app)
