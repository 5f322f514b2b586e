"""Sent messages (issue #5): the notification delivery log with filters, and one message as the shopper
saw it. An e-mail's HTML is shown in a sandboxed iframe served from its own URL with its own strict policy
(no scripts, no remote content, no forms); the back office's CSP would block the e-mail's inline styles in a
``srcdoc`` frame, so the shopper's view would not be faithful there."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, or_, select

from zakaz.db import unit_of_work
from zakaz.errors import NotFound
from zakaz.notifications.models import Channel, Delivery, DeliveryStatus
from zakaz.notifications.service import get_delivery
from zakaz.orders.models import Order
from zakaz.web.deps import Reader, engine_of
from zakaz.web.i18n import N_
from zakaz.web.labels import label
from zakaz.web.templating import render

router = APIRouter()
PAGE = 50

#: The e-mail preview: inline styles only; nothing is fetched, nothing runs, it may only be framed by us.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

CHANNEL = {"email": N_("E-mail"), "sms": N_("SMS"), "push": N_("Push"), "webhook": N_("Webhook")}
STATUS = {
    "pending": N_("Waiting"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "recorded": N_("Recorded (not sent)"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
}
EVENT = {
    "received": N_("Order received"),
    "confirmed": N_("Order confirmed"),
    "shipped": N_("Order shipped"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered"),
    "delayed": N_("Order delayed"),
    "cancelled": N_("Order cancelled"),
}


def _labels() -> dict[str, Any]:
    return {
        "message_channel": lambda c: label(CHANNEL, c),
        "message_status": lambda c: label(STATUS, c),
        "message_event": lambda c: label(EVENT, c),
    }


@router.get("/messages", name="messages")
def messages_page(
    request: Request,
    user: Reader,
    channel: str | None = None,
    status: str | None = None,
    event: str | None = None,
    q: str | None = None,
    before: int | None = None,
) -> Response:
    channel = channel if channel in {c.value for c in Channel} else None
    status = status if status in {s.value for s in DeliveryStatus} else None
    event = (event or "").strip()[:32] or None
    q = (q or "").strip()[:100] or None
    stmt = (
        select(Delivery, Order.number)
        .outerjoin(Order, Order.id == Delivery.order_id)
        .order_by(Delivery.id.desc())
        .limit(PAGE + 1)
    )
    if channel:
        stmt = stmt.where(Delivery.channel == channel)
    if status:
        stmt = stmt.where(Delivery.status == status)
    if event:
        stmt = stmt.where(Delivery.event == event)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Delivery.recipient).like(like), Order.number == q.upper()))
    if before is not None:
        stmt = stmt.where(Delivery.id < before)
    with unit_of_work(engine_of(request), read_only=True) as session:
        rows = session.execute(stmt).all()
        events = sorted(e for e in session.scalars(select(Delivery.event).distinct()) if e)
        session.expunge_all()  # keep the loaded rows usable after the read-only rollback
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    params = {"channel": channel or "", "status": status or "", "event": event or "", "q": q or ""}
    context: dict[str, Any] = {
        "nav": "messages",
        "rows": rows,
        "channels": [c.value for c in Channel],
        "statuses": [s.value for s in DeliveryStatus],
        "events": events,
        "channel": channel or "",
        "status": status or "",
        "event": event or "",
        "q": q or "",
        "next_url": ("/messages?" + urlencode({**params, "before": rows[-1][0].id})) if more else None,
        "first_url": ("/messages?" + urlencode(params)) if before is not None else None,
        **_labels(),
    }
    return render(request, "messages/index.html", context, user=user)


@router.get("/messages/{message_id}", name="message")
def message_page(request: Request, user: Reader, message_id: int) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        d = get_delivery(session, message_id)
        number = session.scalar(select(Order.number).where(Order.id == d.order_id)) if d.order_id else None
        session.expunge_all()  # keep the loaded row usable after the read-only rollback
    context: dict[str, Any] = {
        "nav": "messages",
        "d": d,
        "order_number": number,
        "has_html": bool(d.body_html),
        **_labels(),
    }
    return render(request, "messages/detail.html", context, user=user)


@router.get("/messages/{message_id}/preview.html")
def message_preview(request: Request, user: Reader, message_id: int) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        d = get_delivery(session, message_id)
        if not d.body_html:
            raise NotFound(f"message {message_id} has no HTML body")
        body = d.body_html
    headers = {
        "Content-Security-Policy": PREVIEW_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(body, headers=headers)
