"""Send one planned delivery: the ``notification.deliver`` handler.

1. In a short transaction: skip a delivery already final (the channel-side dedupe: a re-run after a
   crash never sends what was sent), defer SMS in quiet hours, skip opted-out recipients and gone push
   subscriptions, then mark it ``sending`` and count the attempt.
2. Call the channel with no transaction open.
3. In another short transaction: record ``sent``/``recorded`` with the provider's id, or the error.

A crash between 2 and 3 leaves ``sending``: the outbox lease expires, the message is claimed again and
the delivery is resent (at least once). Receivers drop the copy by its id: webhooks carry a stable event
id, e-mails a stable Message-ID.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.notifications.channels.base import (
    ChannelAdapter,
    ChannelError,
    Outgoing,
    RecipientGone,
    RecordingChannel,
    SendResult,
)
from zakaz.notifications.models import FINAL, Delivery, DeliveryStatus, Preference, PushSubscription
from zakaz.notifications.models import WebhookEndpoint as Endpoint
from zakaz.notifications.rules import quiet_until
from zakaz.notifications.settings import NotifySettings
from zakaz.orders.models import Order
from zakaz.worker.types import Defer, Message, Permanent


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str


def _set(session: Session, delivery_id: int, **values: object) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


def _opted_out(session: Session, d: Delivery) -> bool:
    if d.channel == "webhook" or d.order_id is None:
        return False
    customer_id = session.scalar(select(Order.customer_id).where(Order.id == d.order_id))
    if customer_id is None:
        return False
    enabled = session.scalar(
        select(Preference.enabled).where(
            Preference.customer_id == customer_id, Preference.channel == d.channel
        )
    )
    return enabled is False


def _outgoing(session: Session, d: Delivery) -> Outgoing | _Skip:
    data = dict(d.data or {})
    if d.channel == "push":
        sub = session.get(PushSubscription, int(data.get("subscription_id", 0)))
        if sub is None:
            return _Skip("push subscription removed")
        data.update(endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth)
    elif d.channel == "webhook":
        endpoint = session.get(Endpoint, int(data.get("endpoint_id", 0)))
        if endpoint is None or not endpoint.active:
            return _Skip("webhook endpoint removed or disabled")
        data["secret"] = endpoint.secret
    return Outgoing(d.id, d.channel, d.recipient, d.subject, d.body_text, d.body_html, data)


def _prepare(
    session: Session, delivery_id: int, settings: NotifySettings, *, record_only: frozenset[str]
) -> Outgoing | _Skip | None:
    d = session.get(Delivery, delivery_id)
    if d is None or d.status in FINAL:
        return None
    if d.channel == "sms":
        later = quiet_until(
            utcnow(),
            tz=settings.default_timezone,
            start_hour=settings.sms_quiet_start_hour,
            end_hour=settings.sms_quiet_end_hour,
        )
        if later is not None:
            _set(session, d.id, scheduled_for=later)
            raise Defer(later, "SMS quiet hours")
    if _opted_out(session, d):
        return _Skip("recipient opted out")
    prepared = _outgoing(session, d)
    if isinstance(prepared, Outgoing) and d.channel in record_only:
        # No provider: nothing leaves the building, so the outcome is known now (one transaction).
        values = {"status": DeliveryStatus.recorded.value, "error": None, "sent_at": utcnow()}
        _set(session, d.id, attempts=Delivery.attempts + 1, **values)
        return None
    if isinstance(prepared, Outgoing):
        _set(session, d.id, status=DeliveryStatus.sending.value, attempts=Delivery.attempts + 1)
    return prepared


def deliver(
    engine: Engine, message: Message, *, channels: Mapping[str, ChannelAdapter], settings: NotifySettings
) -> None:
    try:
        delivery_id = int(message.payload["delivery_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Permanent(f"bad payload {message.payload!r}") from exc
    deferred: Defer | None = None
    record_only = frozenset(
        name for name, adapter in channels.items() if isinstance(adapter, RecordingChannel)
    )
    with unit_of_work(engine) as session:
        try:
            prepared = _prepare(session, delivery_id, settings, record_only=record_only)
        except Defer as exc:  # keep the scheduled_for update: commit, then tell the worker
            deferred = exc
            prepared = None
    if deferred is not None:
        raise deferred
    if prepared is None:
        return
    if isinstance(prepared, _Skip):
        with unit_of_work(engine) as session:
            _set(session, delivery_id, status=DeliveryStatus.skipped.value, error=prepared.reason)
        return
    _send(engine, prepared, channels[prepared.channel])


def _send(engine: Engine, out: Outgoing, channel: ChannelAdapter) -> None:
    try:
        result: SendResult = channel.send(out)
    except RecipientGone as exc:
        with unit_of_work(engine) as session:
            _set(session, out.delivery_id, status=DeliveryStatus.skipped.value, error=str(exc))
            if out.channel == "push":
                session.execute(
                    delete(PushSubscription).where(PushSubscription.endpoint == out.data["endpoint"])
                )
        return
    except ChannelError as exc:
        with unit_of_work(engine) as session:
            _set(session, out.delivery_id, status=DeliveryStatus.failed.value, error=str(exc)[:2000])
        if exc.retryable:
            raise
        return
    except Exception as exc:
        with unit_of_work(engine) as session:
            _set(session, out.delivery_id, status=DeliveryStatus.failed.value, error=repr(exc)[:2000])
        raise
    now = utcnow()
    with unit_of_work(engine) as session:
        d = session.get(Delivery, out.delivery_id)
        data = {**(d.data if d else {}), **result.detail} if result.detail else (d.data if d else {})
        _set(
            session,
            out.delivery_id,
            status=result.status,
            provider_id=result.provider_id,
            error=None,
            sent_at=now,
            data=data,
        )
