"""Outbox handlers and the periodic job of the support inbox, in the worker's shapes.

Wiring (``zakaz.cli.worker_cmd.add_support_work``)::

    for topic, funcs in support_jobs.build_handlers().items():
        handlers.setdefault(topic, []).extend(funcs)
    jobs.extend(support_jobs.periodic_jobs())

Topics: ``marketplace.chat_push_received`` (a chat push: fetch that chat's history), ``support.reply_queued``
(send a reply once), ``support.read_requested`` (tell Ozon the chat was read). Periodic:
``support.pull_ozon_chats`` (unread chats + their history, for what pushes missed).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from zakaz.db import unit_of_work
from zakaz.marketplaces.connections import AdapterFactory, active_connection_ids, ozon_adapter
from zakaz.marketplaces.push import CHAT_PUSH_TOPIC
from zakaz.marketplaces.settings import MarketplaceSettings, get_marketplace_settings
from zakaz.support import sync
from zakaz.support.service import READ_TOPIC, REPLY_TOPIC
from zakaz.support.settings import SupportSettings, get_support_settings
from zakaz.worker.scheduler import PeriodicJob
from zakaz.worker.types import Handler, Message, Permanent

PULL_JOB = "support.pull_ozon_chats"


def _int(message: Message, key: str) -> int:
    value = message.payload.get(key)
    if value is None:
        raise Permanent(f"payload without {key}")
    return int(value)


def build_handlers(
    settings: MarketplaceSettings | None = None,
    support: SupportSettings | None = None,
    factory: AdapterFactory = ozon_adapter,
) -> dict[str, list[Handler]]:
    s = settings or get_marketplace_settings()
    sup = support or get_support_settings()

    def chat_push(engine: Engine, message: Message) -> None:
        sync.process_chat_push(engine, _int(message, "push_id"), factory=factory, settings=s, support=sup)

    def reply(engine: Engine, message: Message) -> None:
        sync.send_reply(engine, _int(message, "message_id"), factory=factory, settings=s, support=sup)

    def read(engine: Engine, message: Message) -> None:
        sync.send_read(engine, _int(message, "conversation_id"), factory=factory, settings=s)

    return {CHAT_PUSH_TOPIC: [chat_push], REPLY_TOPIC: [reply], READ_TOPIC: [read]}


def periodic_jobs(
    settings: MarketplaceSettings | None = None,
    support: SupportSettings | None = None,
    factory: AdapterFactory = ozon_adapter,
) -> list[PeriodicJob]:
    s = settings or get_marketplace_settings()
    sup = support or get_support_settings()

    def pull(engine: Engine) -> str:
        with unit_of_work(engine, read_only=True) as session:
            ids = active_connection_ids(session)
        if not ids:
            return "no active Ozon connection"
        return "; ".join(
            f"#{cid}: {sync.pull_chats(engine, cid, factory=factory, settings=s, support=sup).line()}"
            for cid in ids
        )

    return [PeriodicJob(PULL_JOB, timedelta(seconds=sup.pull_interval_seconds), pull)]
