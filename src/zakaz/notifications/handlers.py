"""The topic -> handlers dict the worker runs (plain functions, no bus)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.db import run_in_transaction
from zakaz.notifications.channels.base import ChannelAdapter
from zakaz.notifications.channels.registry import build_channels
from zakaz.notifications.delivery import deliver
from zakaz.notifications.planner import DELIVER_TOPIC, plan_shopper, plan_webhooks
from zakaz.notifications.rules import SHOPPER_EVENTS
from zakaz.notifications.settings import NotifySettings
from zakaz.orders.states import TOPICS
from zakaz.worker.types import Handler, Message

#: Topics sent to sellers' webhook endpoints (each endpoint may narrow this down).
WEBHOOK_TOPICS = sorted({*TOPICS.values(), "order.received", *SHOPPER_EVENTS})


def build_handlers(
    settings: NotifySettings, channels: Mapping[str, ChannelAdapter] | None = None
) -> dict[str, list[Handler]]:
    adapters = channels if channels is not None else build_channels(settings)

    def plan(engine: Engine, message: Message) -> None:
        def work(session: Session) -> int:
            shopper = (
                plan_shopper(session, message, settings=settings) if message.topic in SHOPPER_EVENTS else 0
            )
            return shopper + plan_webhooks(session, message)

        run_in_transaction(engine, work)

    def send(engine: Engine, message: Message) -> None:
        deliver(engine, message, channels=adapters, settings=settings)

    handlers: dict[str, list[Handler]] = {topic: [plan] for topic in WEBHOOK_TOPICS}
    handlers[DELIVER_TOPIC] = [send]
    return handlers
