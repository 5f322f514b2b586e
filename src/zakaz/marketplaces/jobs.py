"""Outbox handlers and periodic jobs of the marketplace integration, in the worker's shapes.

Wiring (``zakaz.cli.worker_cmd.build_worker``)::

    from zakaz.marketplaces import jobs as marketplace_jobs

    handlers = marketplace_jobs.merge(
        build_handlers(get_notify_settings()), marketplace_jobs.build_handlers()
    )
    jobs = [*periodic_jobs(settings), *marketplace_jobs.periodic_jobs()]

Topics handled: ``order.packed`` / ``shipment.packed`` (ship on Ozon once every shipment of the order is
packed), ``order.cancelled`` (cancel on Ozon unless Ozon cancelled
it), ``shipment.label_created`` / ``shipment.handed_over`` (tracking number for rFBS postings),
``marketplace.push_received`` (apply a push), ``marketplace.label_requested`` (download the label),
``marketplace.sync_requested`` (sync now); ``shipment.in_transit`` / ``out_for_delivery`` /
``delivery_failed`` / ``delivered`` queue ``marketplace.delivery_status_requested`` for rFBS postings, whose
job sends Ozon's ``delivering`` / ``last-mile`` / ``delivered`` (issue #7). Orders of other channels are
skipped after one indexed read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine

from zakaz.db import unit_of_work
from zakaz.marketplaces import outbound
from zakaz.marketplaces.connections import AdapterFactory, active_connection_ids, ozon_adapter
from zakaz.marketplaces.push import PUSH_TOPIC, process_push
from zakaz.marketplaces.returns import pull_returns
from zakaz.marketplaces.settings import MarketplaceSettings, get_marketplace_settings
from zakaz.marketplaces.stock import push_stocks
from zakaz.marketplaces.sync import sync_orders
from zakaz.worker.scheduler import PeriodicJob
from zakaz.worker.types import Handler, Message, Permanent

SYNC_TOPIC = "marketplace.sync_requested"


def _int(message: Message, key: str) -> int:
    value = message.payload.get(key)
    if value is None:
        raise Permanent(f"payload without {key}")
    return int(value)


def build_handlers(
    settings: MarketplaceSettings | None = None, factory: AdapterFactory = ozon_adapter
) -> dict[str, list[Handler]]:
    s = settings or get_marketplace_settings()

    def ship(engine: Engine, message: Message) -> None:
        outbound.ship_posting(engine, _int(message, "order_id"), factory=factory, settings=s)

    def cancel(engine: Engine, message: Message) -> None:
        outbound.cancel_posting(engine, _int(message, "order_id"), factory=factory, settings=s)

    def tracking(engine: Engine, message: Message) -> None:
        number = str(message.payload.get("tracking_number") or "")
        order_id = message.payload.get("order_id")
        if number and order_id is not None:
            outbound.send_tracking(engine, int(order_id), number, factory=factory, settings=s)

    def label(engine: Engine, message: Message) -> None:
        outbound.fetch_label(engine, _int(message, "posting_id"), factory=factory, settings=s)

    def push(engine: Engine, message: Message) -> None:
        process_push(engine, _int(message, "push_id"), factory=factory, settings=s)

    def sync(engine: Engine, message: Message) -> None:
        sync_orders(engine, _int(message, "connection_id"), settings=s, factory=factory)

    def rfbs_moved(engine: Engine, message: Message) -> None:
        order_id = message.payload.get("order_id")
        if order_id is not None:
            outbound.queue_rfbs_status(engine, int(order_id))

    def rfbs_status(engine: Engine, message: Message) -> None:
        status = str(message.payload.get("status") or "")
        posting_id = _int(message, "posting_id")
        outbound.send_rfbs_status(engine, posting_id, status, factory=factory, settings=s)

    return {
        "order.packed": [ship],
        # issue #7: an order whose legs are picked one after the other is "packed" before its last
        # shipment is; the ship call waits for every shipment and goes out when the last one is packed.
        "shipment.packed": [ship],
        "order.cancelled": [cancel],
        "shipment.label_created": [tracking],
        "shipment.handed_over": [tracking],
        PUSH_TOPIC: [push],
        outbound.LABEL_TOPIC: [label],
        SYNC_TOPIC: [sync],
        # issue #7: our carrier moved an rFBS parcel -> Ozon's delivery status, one job per posting + status.
        **{topic: [rfbs_moved] for topic in outbound.RFBS_SHIPMENT_TOPICS},
        outbound.RFBS_STATUS_TOPIC: [rfbs_status],
    }


def merge(*maps: Mapping[str, Sequence[Handler]]) -> dict[str, list[Handler]]:
    """Several domains' handler dicts as one; handlers of a shared topic all run, in the given order."""
    merged: dict[str, list[Handler]] = {}
    for handlers in maps:
        for topic, funcs in handlers.items():
            merged.setdefault(topic, []).extend(funcs)
    return merged


def _each_connection(engine: Engine, work: Callable[[Engine, int], str]) -> str:
    """Run ``work`` for every active Ozon connection; one summary line for ``worker_jobs.last_result``."""
    with unit_of_work(engine, read_only=True) as session:
        ids = active_connection_ids(session)
    if not ids:
        return "no active Ozon connection"
    return "; ".join(f"#{cid}: {work(engine, cid)}" for cid in ids)


def periodic_jobs(
    settings: MarketplaceSettings | None = None, factory: AdapterFactory = ozon_adapter
) -> list[PeriodicJob]:
    s = settings or get_marketplace_settings()

    def sync(engine: Engine) -> str:
        return _each_connection(
            engine, lambda e, cid: sync_orders(e, cid, settings=s, factory=factory).line()
        )

    def stocks(engine: Engine) -> str:
        return _each_connection(
            engine, lambda e, cid: push_stocks(e, cid, settings=s, factory=factory).line()
        )

    def returns(engine: Engine) -> str:
        return _each_connection(
            engine, lambda e, cid: pull_returns(e, cid, settings=s, factory=factory).line()
        )

    return [
        PeriodicJob("ozon.sync_orders", timedelta(seconds=s.sync_interval_seconds), sync),
        PeriodicJob("ozon.push_stocks", timedelta(seconds=s.stock_push_interval_seconds), stocks),
        PeriodicJob("ozon.pull_returns", timedelta(seconds=s.returns_interval_seconds), returns),
    ]
