"""/track: the shopper's tracking page (server-rendered), its SSE stream and Web Push subscription.

No enumeration: every miss (unknown number, wrong contact, bad or expired link) gives the same answer,
and lookups are rate limited per client address. A signed link from a notification opens the page
directly. ``lang`` (query, then cookie) picks Russian (default), English or Chinese.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from zakaz.api.context import Ctx
from zakaz.db import unit_of_work
from zakaz.errors import FieldError, ValidationFailed
from zakaz.notifications import links
from zakaz.notifications.netguard import destination_problem
from zakaz.notifications.service import subscribe_push
from zakaz.notifications.settings import get_notify_settings
from zakaz.orders.models import Order
from zakaz.returns.strings import WORDS as RETURN_WORDS  # issue #6
from zakaz.tracking import service
from zakaz.tracking.ratelimit import TokenBucket
from zakaz.tracking.strings import EVENTS, STEPS, STRINGS, pick

router = APIRouter(include_in_schema=False)
LANG_COOKIE = "zakaz_lang"
LANG_NAMES = [("ru", "Русский"), ("en", "English"), ("zh", "中文")]
POLL_SECONDS = 1.0
STREAM_SECONDS = 600  # then the browser's EventSource reconnects on its own
lookups = TokenBucket(capacity=10, refill_per_second=10 / 60)

SERVICE_WORKER = """self.addEventListener("push", function (event) {
  var d = event.data ? event.data.json() : {};
  var options = {body: d.body || "", data: d.url || "/"};
  event.waitUntil(self.registration.showNotification(d.title || "", options));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data));
});
"""


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
    )


def _lang(request: Request) -> str:
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


#: Shopper pages: never framed (the return form could be clickjacked), no MIME sniffing, and the signed
#: tracking link in the address never leaves the site as a Referer.
SHOPPER_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    html = _env().get_template(name).render(lang=lang, t=STRINGS[lang], langs=LANG_NAMES, **context)
    response = HTMLResponse(html, status_code=status, headers=SHOPPER_HEADERS)
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


def _not_found(request: Request, number: str = "") -> HTMLResponse:
    return _page(request, "form.html", 404, error=STRINGS[_lang(request)]["not_found"], number=number)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/track")
def track_form(request: Request) -> HTMLResponse:
    return _page(request, "form.html", error=None, number="")


@router.post("/track")
def track_lookup(
    request: Request,
    ctx: Ctx,
    number: Annotated[str, Form(max_length=32)],
    contact: Annotated[str, Form(max_length=320)],
) -> Response:
    if not lookups.allow(_client(request)):
        lang = _lang(request)
        return _page(request, "form.html", 429, error=STRINGS[lang]["rate_limited"], number=number)
    with unit_of_work(ctx.engine, read_only=True) as session:
        order_id = service.lookup(session, number=number, contact=contact)
    if order_id is None:
        return _not_found(request, number)
    token = links.tracking_token(order_id, links.secret_of(get_notify_settings()))
    return RedirectResponse(f"/track/{token}?lang={_lang(request)}", status_code=303)


@router.get("/track/sw.js")
def service_worker() -> Response:
    return Response(
        SERVICE_WORKER, media_type="text/javascript", headers={"Service-Worker-Allowed": "/track/"}
    )


def _order_id(token: str) -> int | None:
    return links.read_tracking_token(token, links.secret_of(get_notify_settings()))


@router.get("/track/{token}")
def track_page(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    order_id = _order_id(token)
    settings = get_notify_settings()
    with unit_of_work(ctx.engine, read_only=True) as session:
        s = service.state(session, order_id, tz=settings.default_timezone) if order_id else None
    if s is None:
        return _not_found(request)
    lang = _lang(request)
    return _page(
        request,
        "order.html",
        s=s,
        steps=STEPS[lang],
        event_labels=EVENTS[lang],
        status_label=_status_label(s, lang),
        events_url=f"/track/{token}/events",
        push_url=f"/track/{token}/push",
        vapid_public_key=settings.vapid_public_key,
        # issue #6: the return form's link once the order is delivered
        returns_url=f"/track/{token}/return?lang={lang}" if s.status == "delivered" else None,
        returns_label=RETURN_WORDS[lang]["link"],
    )


def _status_label(s: service.TrackState, lang: str) -> str:
    if s.cancelled:
        return EVENTS[lang]["cancelled"]
    return STEPS[lang][s.step]


def _poll(engine: Engine, order_id: int, after: int, tz: str) -> service.TrackState | None:
    with unit_of_work(engine, read_only=True) as session:
        return service.state(session, order_id, after_event_id=after, tz=tz)


@router.get("/track/{token}/events")
async def track_events(token: str, request: Request, ctx: Ctx) -> Response:
    """Server-Sent Events: an ``update`` whenever the order's status or visible timeline changes."""
    order_id = _order_id(token)
    if order_id is None:
        return Response(status_code=404)
    lang = _lang(request)
    tz = get_notify_settings().default_timezone
    start = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    after = int(start) if start.isdigit() else 0

    async def stream() -> AsyncIterator[str]:
        nonlocal after
        status: str | None = None
        yield "retry: 2000\n\n"
        loop = asyncio.get_running_loop()
        deadline, quiet_since = loop.time() + STREAM_SECONDS, loop.time()
        while loop.time() < deadline and not await request.is_disconnected():
            s = await run_in_threadpool(_poll, ctx.engine, order_id, after, tz)
            if s is None:
                return
            if s.events or (status is not None and s.status != status):
                data = {
                    "status": s.status,
                    "status_label": _status_label(s, lang),
                    "step": s.step,
                    "cancelled": s.cancelled,
                    "events": [
                        {"id": e["id"], "at": e["at"], "label": EVENTS[lang][e["key"]]} for e in s.events
                    ],
                }
                yield f"id: {s.last_event_id}\nevent: update\ndata: {orjson.dumps(data).decode()}\n\n"
                quiet_since = loop.time()
            elif loop.time() - quiet_since > 15:
                yield ": keep-alive\n\n"
                quiet_since = loop.time()
            status, after = s.status, s.last_event_id
            await asyncio.sleep(POLL_SECONDS)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


class PushKeys(BaseModel):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=64)


class PushSubscriptionIn(BaseModel):
    endpoint: str = Field(max_length=1000, pattern=r"^https://")
    keys: PushKeys


@router.post("/track/{token}/push")
def track_push(token: str, data: PushSubscriptionIn, ctx: Ctx) -> Response:
    """Store this browser's push subscription for the order's customer (from the page's button)."""
    order_id = _order_id(token)
    if order_id is None:
        return Response(status_code=404)
    if not get_notify_settings().allow_private_destinations and (
        problem := destination_problem(data.endpoint)
    ):
        raise ValidationFailed([FieldError("endpoint", "not_public", problem)])
    with unit_of_work(ctx.engine) as session:
        order = session.get(Order, order_id)
        if order is None:
            return Response(status_code=404)
        subscribe_push(
            session,
            order_id=order.id,
            customer_id=order.customer_id,
            endpoint=data.endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
        )
    return Response(status_code=201)
