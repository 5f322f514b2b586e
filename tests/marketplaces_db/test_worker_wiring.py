"""Issue #7 wiring: the worker runs the Ozon outbound handlers and the sync / stock / returns jobs."""

from __future__ import annotations

from typing import Any

from zakaz.cli.worker_cmd import add_marketplace_work


def test_ozon_handlers_join_existing_ones_and_jobs_are_scheduled() -> None:
    existing = object()
    handlers: dict[str, list[Any]] = {"order.cancelled": [existing]}
    jobs: list[Any] = []
    add_marketplace_work(handlers, jobs)
    assert handlers["order.cancelled"][0] is existing and len(handlers["order.cancelled"]) == 2
    for topic in ("order.packed", "marketplace.push_received", "shipment.handed_over"):
        assert handlers[topic], f"no handler for {topic}"
    assert {job.name for job in jobs} >= {"ozon.sync_orders", "ozon.push_stocks", "ozon.pull_returns"}
