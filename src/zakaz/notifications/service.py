"""Delivery log queries, preferences, webhook endpoints, push subscriptions, resend. Never commits."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.errors import FieldError, NotFound, ValidationFailed
from zakaz.notifications.models import Channel, Delivery, DeliveryStatus, Preference, PushSubscription
from zakaz.notifications.models import WebhookEndpoint as Endpoint
from zakaz.notifications.netguard import destination_problem
from zakaz.notifications.planner import DELIVER_TOPIC
from zakaz.outbox import add_messages, outbox_row
from zakaz.worker.sql import insert_ignore

MAX_PAGE = 200


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_view(d: Delivery, *, full: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": d.id,
        "message_id": d.message_id,
        "order_id": d.order_id,
        "topic": d.topic,
        "event": d.event,
        "channel": d.channel,
        "recipient": d.recipient,
        "locale": d.locale,
        "subject": d.subject,
        "status": d.status,
        "attempts": d.attempts,
        "provider_id": d.provider_id,
        "error": d.error,
        "scheduled_for": _iso(d.scheduled_for),
        "created_at": _iso(d.created_at),
        "sent_at": _iso(d.sent_at),
    }
    if full:
        data = {k: v for k, v in (d.data or {}).items() if k != "secret"}
        view.update(body_text=d.body_text, body_html=d.body_html, data=data)
    return view


def list_deliveries(
    session: Session,
    *,
    order_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """Newest first, keyset-paginated by id (pass the last id seen as ``before_id``)."""
    stmt = select(Delivery).order_by(Delivery.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if order_id is not None:
        stmt = stmt.where(Delivery.order_id == order_id)
    if channel:
        stmt = stmt.where(Delivery.channel == channel)
    if status:
        stmt = stmt.where(Delivery.status == status)
    if before_id is not None:
        stmt = stmt.where(Delivery.id < before_id)
    return list(session.scalars(stmt))


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(f"message {delivery_id} not found")
    return d


def resend(session: Session, delivery_id: int) -> Delivery:
    """Send a delivery again on purpose (a webhook replay): back to pending and queued now."""
    d = get_delivery(session, delivery_id)
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.pending.value, error=None, scheduled_for=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    add_messages(session, [outbox_row(DELIVER_TOPIC, "delivery", d.id, {"delivery_id": d.id})])
    session.refresh(d)
    return d


def _check_channel(channel: str) -> None:
    if channel not in {c.value for c in Channel if c is not Channel.webhook}:
        raise ValidationFailed([FieldError("channel", "invalid", "email, sms or push")])


def set_preference(session: Session, *, customer_id: int, channel: str, enabled: bool) -> None:
    _check_channel(channel)
    now = utcnow()
    row = {"customer_id": customer_id, "channel": channel, "enabled": enabled, "updated_at": now}
    if insert_ignore(session, Preference.__table__, row, returning=Preference.id) is None:  # type: ignore[arg-type]
        session.execute(
            update(Preference)
            .where(Preference.customer_id == customer_id, Preference.channel == channel)
            .values(enabled=enabled, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def preferences_of(session: Session, customer_id: int) -> dict[str, bool]:
    rows = session.execute(
        select(Preference.channel, Preference.enabled).where(Preference.customer_id == customer_id)
    )
    found: dict[str, bool] = {channel: enabled for channel, enabled in rows}
    return {c.value: found.get(c.value, True) for c in (Channel.email, Channel.sms, Channel.push)}


def endpoint_view(e: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": e.id,
        "url": e.url,
        "events": e.events,
        "description": e.description,
        "active": e.active,
        "created_at": _iso(e.created_at),
    }
    if with_secret:
        view["secret"] = e.secret
    return view


def create_endpoint(
    session: Session,
    *,
    url: str,
    events: list[str],
    description: str = "",
    allow_private: bool = False,
) -> Endpoint:
    from zakaz.notifications.handlers import WEBHOOK_TOPICS

    errors = []
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        errors.append(FieldError("url", "invalid", "an http(s) URL of at most 500 characters"))
    elif not allow_private and (problem := destination_problem(url)) is not None:
        errors.append(FieldError("url", "not_public", problem))
    unknown = sorted(set(events) - set(WEBHOOK_TOPICS))
    if unknown:
        errors.append(FieldError("events", "unknown_topic", f"unknown: {', '.join(unknown)}"))
    if errors:
        raise ValidationFailed(errors)
    endpoint = Endpoint(
        url=url, secret="whsec_" + secrets.token_hex(24), events=sorted(set(events)), description=description
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session) -> list[Endpoint]:
    return list(session.scalars(select(Endpoint).order_by(Endpoint.id)))


def disable_endpoint(session: Session, endpoint_id: int) -> None:
    endpoint = session.get(Endpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    endpoint.active = False


#: Browsers subscribed to one order at most (the tracking page needs no login: without a cap, every status
#: change could be made to fan out to any number of endpoints). The oldest make room for a new one.
MAX_PUSH_SUBSCRIPTIONS_PER_ORDER = 10


def subscribe_push(
    session: Session, *, order_id: int, customer_id: int | None, endpoint: str, p256dh: str, auth: str
) -> None:
    kept = select(PushSubscription.id).where(PushSubscription.order_id == order_id)
    ids = list(session.scalars(kept.order_by(PushSubscription.id.desc())))
    known = session.scalar(kept.where(PushSubscription.endpoint == endpoint).limit(1))
    if known is None and len(ids) >= MAX_PUSH_SUBSCRIPTIONS_PER_ORDER:
        stale = ids[MAX_PUSH_SUBSCRIPTIONS_PER_ORDER - 1 :]
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(stale)))
    row = {
        "order_id": order_id,
        "customer_id": customer_id,
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "created_at": utcnow(),
    }
    insert_ignore(session, PushSubscription.__table__, row)  # type: ignore[arg-type]
