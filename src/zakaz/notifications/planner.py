"""Turn an order event into deliveries: one row per (source message, channel, recipient), rendered now.

Planning is idempotent: the delivery log's unique key makes a re-run insert nothing, and a
``notification.deliver`` outbox message is queued only for a row that was actually inserted, in the
same transaction. Sending happens later, one outbox message per delivery, so a slow or failing channel
never holds up or repeats another, and SMS quiet hours defer only the SMS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.customers.models import Customer
from zakaz.notifications import links
from zakaz.notifications.models import Channel, Delivery, DeliveryStatus, Preference, PushSubscription
from zakaz.notifications.models import WebhookEndpoint as Endpoint
from zakaz.notifications.render import render
from zakaz.notifications.rules import SHOPPER_EVENTS, fit_sms, is_auto_confirmation, pick_locale, quiet_until
from zakaz.notifications.settings import NotifySettings
from zakaz.orders.models import Order, OrderEvent
from zakaz.outbox import add_messages, outbox_row
from zakaz.worker.sql import insert_ignore
from zakaz.worker.types import Message

DELIVER_TOPIC = "notification.deliver"


def queue_delivery(session: Session, row: dict[str, Any], *, at: datetime | None = None) -> int | None:
    """Insert the delivery unless it exists; queue its send. Returns the new id or None (already planned)."""
    now = utcnow()
    row = {"status": DeliveryStatus.pending.value, "attempts": 0, "created_at": now, "updated_at": now, **row}
    delivery_id: int | None = insert_ignore(session, Delivery.__table__, row, returning=Delivery.id)  # type: ignore[arg-type]
    if delivery_id is not None:
        message = outbox_row(DELIVER_TOPIC, "delivery", delivery_id, {"delivery_id": delivery_id})
        if at is not None:
            message["available_at"] = max(at, now)
        add_messages(session, [message])
    return delivery_id


def _shipping_extras(
    session: Session, order_id: int, payload: dict[str, Any], status: str = "shipped"
) -> dict[str, Any]:
    """Carrier, tracking number and link from the payload, else from the timeline event's data."""
    keys = ("carrier", "tracking_number", "tracking_url")
    found = {k: payload.get(k) for k in keys if payload.get(k)}
    if len(found) < len(keys):
        data = session.scalar(
            select(OrderEvent.data)
            .where(OrderEvent.order_id == order_id, OrderEvent.to_status == status)
            .order_by(OrderEvent.id.desc())
            .limit(1)
        )
        for k in keys:
            if not found.get(k) and isinstance(data, dict) and data.get(k):
                found[k] = data[k]
    return {
        "carrier": found.get("carrier"),
        "tracking_number": found.get("tracking_number"),
        "carrier_url": found.get("tracking_url"),
    }


def _opted_out(session: Session, customer_id: int | None) -> set[str]:
    if customer_id is None:
        return set()
    rows = session.execute(
        select(Preference.channel).where(Preference.customer_id == customer_id, Preference.enabled.is_(False))
    )
    return set(rows.scalars())


def plan_shopper(session: Session, message: Message, *, settings: NotifySettings) -> int:
    """Plan the shopper's messages for one order event; returns how many deliveries were new."""
    event = SHOPPER_EVENTS.get(message.topic)
    order = session.get(Order, int(message.payload.get("order_id", message.aggregate_id)))
    if event is None or order is None or order.channel in settings.silent_channels:
        return 0
    at = datetime.fromisoformat(message.payload["at"]) if message.payload.get("at") else order.updated_at
    if is_auto_confirmation(event, at=at, order_created_at=order.created_at):
        return 0
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    locale = pick_locale(customer.locale if customer else None, settings.default_locale)
    off = _opted_out(session, order.customer_id)
    tz = ZoneInfo(settings.default_timezone)
    context: dict[str, Any] = {
        "shop": settings.shop_name,
        "name": order.contact_name,
        "number": order.number,
        "tracking_url": links.tracking_url(settings, order.id),
        "ship_by": order.ship_by.astimezone(tz).strftime("%d.%m.%Y %H:%M") if order.ship_by else None,
    }
    if event in ("shipped", "partially_shipped"):  # partially_shipped: the parcels that left so far
        context.update(_shipping_extras(session, order.id, message.payload, event))
    if message.topic.startswith("return."):  # issue #6: the RMA and the reviewer's note
        if message.payload.get("marketplace"):  # the marketplace talks to its own buyers about returns
            return 0
        context.update(rma=message.payload.get("rma"), note=message.payload.get("note"))
        context.update({k: message.payload.get(k) for k in ("replacement", "return_tracking")})  # issue #6
        if message.payload.get("label"):  # a return label is booked: link to it (the tracking page's route)
            context["label_url"] = f"{context['tracking_url']}/returns/{message.payload.get('rma')}/label.pdf"

    def wants(channel: Channel) -> bool:
        events = {"email": settings.email_events, "sms": settings.sms_events, "push": settings.push_events}
        return channel.value not in off and event in events[channel.value]

    base = {
        "message_id": message.id,
        "order_id": order.id,
        "topic": message.topic,
        "event": event,
        "locale": locale,
    }
    created = 0
    if order.contact_email and wants(Channel.email):
        unsubscribe = (
            links.unsubscribe_url(settings, order.customer_id, "email") if order.customer_id else None
        )
        r = render(event, locale, {**context, "unsubscribe_url": unsubscribe})
        row = {**base, "channel": "email", "recipient": order.contact_email, "subject": r.subject}
        row.update(
            body_text=r.text, body_html=r.html, data={"unsubscribe_url": unsubscribe} if unsubscribe else {}
        )
        created += queue_delivery(session, row) is not None
    if order.contact_phone and wants(Channel.sms):
        text = fit_sms(render(event, locale, context).sms, settings.sms_max_segments)
        later = quiet_until(
            utcnow(),
            tz=settings.default_timezone,
            start_hour=settings.sms_quiet_start_hour,
            end_hour=settings.sms_quiet_end_hour,
        )
        row = {
            **base,
            "channel": "sms",
            "recipient": order.contact_phone,
            "body_text": text,
            "scheduled_for": later,
        }
        created += queue_delivery(session, row, at=later) is not None
    if wants(Channel.push):
        created += _plan_push(session, base, order, render(event, locale, context), context["tracking_url"])
    return created


def _plan_push(session: Session, base: dict[str, Any], order: Order, r: Any, url: str) -> int:
    # Only the browsers subscribed on this order's own tracking page: customers are matched by e-mail *or*
    # phone, so "every order of the customer" would let someone who shares (or types) a phone number
    # receive another shopper's orders and their signed tracking links.
    created = 0
    for sub_id in session.scalars(
        select(PushSubscription.id).where(PushSubscription.order_id == order.id).order_by(PushSubscription.id)
    ):
        row = {
            **base,
            "channel": "push",
            "recipient": f"push:{sub_id}",
            "subject": r.subject,
            "body_text": r.body,
        }
        row["data"] = {"subscription_id": sub_id, "url": url}
        created += queue_delivery(session, row) is not None
    return created


def webhook_event(message: Message) -> dict[str, Any]:
    """The event as receivers see it; its id is stable across retries and replays of the same message."""
    created = message.payload.get("at") or utcnow().isoformat()
    return {"id": f"evt_{message.id}", "type": message.topic, "created": created, "data": message.payload}


def plan_webhooks(session: Session, message: Message) -> int:
    endpoints = session.execute(
        select(Endpoint.id, Endpoint.url, Endpoint.events)
        .where(Endpoint.active.is_(True))
        .order_by(Endpoint.id)
    ).all()
    created = 0
    event = webhook_event(message)
    raw_order_id = message.payload.get("order_id")
    order_id = int(raw_order_id) if isinstance(raw_order_id, int) else None
    for endpoint_id, url, events in endpoints:
        if events and message.topic not in events:
            continue
        row = {
            "message_id": message.id,
            "order_id": order_id,
            "topic": message.topic,
            "event": message.topic.partition(".")[2] or message.topic,
            "channel": "webhook",
            "recipient": url,
            "subject": message.topic,
            "data": {"endpoint_id": endpoint_id, "event": event},
        }
        created += queue_delivery(session, row) is not None
    return created
