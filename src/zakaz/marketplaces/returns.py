"""Pull returns (``/v1/returns/list``; Ozon has no push for them) into ``marketplace_returns`` and on into
after-sales.

Each batch is upserted by return id and linked to our order through the posting number, then handed, in
the same transaction, to ``returns.marketplace.link_returns`` (issue #6), which creates or moves forward
the RMA of each. After the batches, returns that could not be linked yet (unknown posting or article) are
tried again in one more transaction. Cursor = the visual-status change time of the last run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.marketplaces.base import MarketplaceError
from zakaz.marketplaces.base import MarketplaceReturn as Return
from zakaz.marketplaces.connections import AdapterFactory, load_connection, open_adapter, ozon_adapter
from zakaz.marketplaces.models import MarketplacePosting, MarketplaceReturn
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error, state_for
from zakaz.returns.config import ReturnsSettings, get_returns_settings
from zakaz.returns.marketplace import LinkReport, link_pending, link_returns

BATCH = 200


@dataclass
class ReturnsReport:
    connection_id: int
    seen: int = 0
    created: int = 0
    updated: int = 0
    failed: str | None = None
    linked: LinkReport = field(default_factory=LinkReport)

    def line(self) -> str:
        tail = f"; failed: {self.failed}" if self.failed else ""
        rmas = (
            f"; RMAs: {self.linked.created} new, {self.linked.moved} moved, {self.linked.problems} unlinked"
        )
        return f"{self.seen} returns seen, {self.created} new, {self.updated} updated{rmas}{tail}"


def _store(
    session: Session,
    connection_id: int,
    batch: list[Return],
    report: ReturnsReport,
    returns_settings: ReturnsSettings,
) -> None:
    numbers = {r.external_order_id for r in batch if r.external_order_id}
    rows = session.execute(
        select(MarketplacePosting.external_id, MarketplacePosting.order_id).where(
            MarketplacePosting.connection_id == connection_id, MarketplacePosting.external_id.in_(numbers)
        )
    )
    orders: dict[str, int | None] = {number: order_id for number, order_id in rows}
    existing = {
        r.external_id: r
        for r in session.scalars(
            select(MarketplaceReturn).where(
                MarketplaceReturn.connection_id == connection_id,
                MarketplaceReturn.external_id.in_([r.external_id for r in batch]),
            )
        )
    }
    now = utcnow()
    for item in batch:
        row = existing.get(item.external_id)
        if row is None:
            row = MarketplaceReturn(connection_id=connection_id, external_id=item.external_id, created_at=now)
            session.add(row)
            existing[item.external_id] = row
            report.created += 1
        else:
            report.updated += 1
        row.posting_number = item.external_order_id
        row.order_id = orders.get(item.external_order_id or "")
        row.kind, row.status, row.reason = item.kind[:32], item.status, (item.reason or "")[:500] or None
        row.offer_id, row.marketplace_sku, row.name = item.offer_id, item.marketplace_sku, item.name
        row.quantity, row.unit_price_minor, row.currency = item.quantity, item.unit_price_minor, item.currency
        row.status_changed_at, row.barcode, row.updated_at = item.status_changed_at, item.barcode, now
    stored = [existing[item.external_id] for item in batch]
    report.linked.add(link_returns(session, stored, settings=returns_settings))


def pull_returns(
    engine: Engine,
    connection_id: int,
    *,
    settings: MarketplaceSettings,
    factory: AdapterFactory = ozon_adapter,
    now: datetime | None = None,
    returns_settings: ReturnsSettings | None = None,
) -> ReturnsReport:
    now = now or utcnow()
    report = ReturnsReport(connection_id)
    after_sales = returns_settings or get_returns_settings()
    with unit_of_work(engine) as session:
        state = state_for(session, connection_id, "returns")
        cursor, state.last_started_at, state.status = state.cursor_at, now, "running"
        connection = load_connection(session, connection_id, settings)
    since = (cursor or now - timedelta(days=settings.returns_first_days)) - timedelta(
        seconds=settings.sync_overlap_seconds
    )
    batch: list[Return] = []

    def flush() -> None:
        if batch:
            before = (report.created, report.updated, dataclasses.replace(report.linked))

            def store(s: Session) -> None:
                # a retried transaction starts again from the counts it found
                report.created, report.updated, report.linked = (
                    before[0],
                    before[1],
                    dataclasses.replace(before[2]),
                )
                _store(s, connection_id, batch, report, after_sales)

            run_in_transaction(engine, store)
            batch.clear()

    try:
        with open_adapter(factory, connection) as adapter:
            for item in adapter.list_returns(since=since, until=now):
                report.seen += 1
                batch.append(item)
                if len(batch) >= BATCH:
                    flush()
        flush()
    except MarketplaceError as exc:
        report.failed = f"{type(exc).__name__}: {exc}"
    # returns not linked yet (posting imported or mapping added since) are tried again; what is still
    # unlinked after that is the number to report
    pending = run_in_transaction(engine, lambda s: link_pending(s, connection_id, settings=after_sales))
    report.linked.created += pending.created
    report.linked.moved += pending.moved
    report.linked.problems = pending.problems

    def finish(session: Session) -> None:
        state = state_for(session, connection_id, "returns", lock=True)
        state.last_finished_at = utcnow()
        state.summary = {
            "seen": report.seen,
            "created": report.created,
            "updated": report.updated,
            "rmas_created": report.linked.created,
            "rmas_moved": report.linked.moved,
            "unlinked": report.linked.problems,
        }
        if report.failed:
            state.status, state.last_error = "failed", report.failed[:4000]
            record_error(session, connection_id, "returns", report.failed, keep=settings.keep_errors)
        else:
            state.status, state.last_error, state.cursor_at = "ok", None, now
            state.last_success_at = state.last_finished_at

    run_in_transaction(engine, finish)
    return report
