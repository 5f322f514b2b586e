"""Push free stock to Ozon per mapped warehouse, debounced.

Every stock change is a ``stock_movements`` row (ARCHITECTURE.md), so the job needs no hooks elsewhere:

1. *collect* (one transaction): the (warehouse, product) pairs moved since the stored movement id (all
   mapped pairs on the first run) get their wanted quantity = ``on_hand - reserved`` of the mapped
   warehouse, written to ``marketplace_stocks``; the movement id is stored as the new position;
2. *push* (no transaction open): every pair whose wanted quantity differs from the last accepted one and
   which was not sent in the last 30 s (Ozon: one update per pair per 30 s), at most 100 pairs per call
   and 80 calls a minute (the client's bucket);
3. *settle*: accepted -> remembered; "too frequently" -> tried again next run; other refusals (offer not
   on Ozon...) -> recorded once, not resent until the quantity changes.

Many changes between two runs coalesce into one value per pair and one call per 100 pairs. The value is
our free stock at that warehouse; if two Ozon warehouses map to one of ours, both are offered all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.inventory.models import StockLevel, StockMovement
from zakaz.marketplaces.base import StockUpdate
from zakaz.marketplaces.connections import AdapterFactory, load_connection, open_adapter, ozon_adapter
from zakaz.marketplaces.models import MarketplaceProduct, MarketplaceStock, MarketplaceWarehouse
from zakaz.marketplaces.ozon.endpoints import STOCK_PAIR_MIN_INTERVAL_S
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error, state_for
from zakaz.worker.sql import insert_ignore

#: Ozon refuses stock >= 1,000,000.
MAX_STOCK = 999_999
#: Movements re-read below the stored position: on PostgreSQL an id can commit after a higher one was
#: seen (sequences hand out ids before commit). Re-reading is harmless: the wanted value is recomputed.
RESCAN_IDS = 1000
#: Pairs sent per run at most (80 calls/min x 100 pairs; the rest waits for the next run).
MAX_PAIRS_PER_RUN = 2000


@dataclass
class StockReport:
    connection_id: int
    changed_pairs: int = 0
    sent: int = 0
    accepted: int = 0
    deferred: int = 0
    refused: int = 0
    calls: int = 0

    def line(self) -> str:
        return (
            f"{self.changed_pairs} pairs changed, {self.sent} sent in {self.calls} call(s): "
            f"{self.accepted} accepted, {self.deferred} deferred, {self.refused} refused"
        )


def _collect(session: Session, connection_id: int) -> int:
    state = state_for(session, connection_id, "stocks", lock=True)
    last_id = session.scalar(select(func.max(StockMovement.id))) or 0
    mapped = session.execute(
        select(MarketplaceWarehouse.external_id, MarketplaceWarehouse.warehouse_id).where(
            MarketplaceWarehouse.connection_id == connection_id, MarketplaceWarehouse.push_stock.is_(True)
        )
    ).all()
    by_warehouse: dict[int, list[str]] = {}
    for external_id, warehouse_id in mapped:
        by_warehouse.setdefault(warehouse_id, []).append(external_id)
    if not by_warehouse:
        state.position = last_id
        return 0
    levels = select(
        StockLevel.warehouse_id, StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved
    ).where(StockLevel.warehouse_id.in_(list(by_warehouse)))
    if state.position:
        moved = select(StockMovement.stock_level_id).where(
            StockMovement.id > state.position - RESCAN_IDS, StockMovement.id <= last_id
        )
        levels = levels.where(StockLevel.id.in_(moved))
    rows = session.execute(levels).all()
    offers = _offers(session, connection_id, {r.product_id for r in rows})
    changed = 0
    for r in rows:
        offer = offers.get(r.product_id)
        if offer is None:
            continue
        quantity = max(0, min(MAX_STOCK, r.on_hand - r.reserved))
        for external_id in by_warehouse[r.warehouse_id]:
            _want(session, connection_id, external_id, offer, quantity)
            changed += 1
    state.position = last_id
    return changed


def _offers(session: Session, connection_id: int, product_ids: set[int]) -> dict[int, str]:
    """Product -> Ozon offer_id: the mapping when there is one, else our SKU (the default convention)."""
    if not product_ids:
        return {}
    ids = sorted(product_ids)
    offers = {
        pid: sku for pid, sku in session.execute(select(Product.id, Product.sku).where(Product.id.in_(ids)))
    }
    for pid, offer in session.execute(
        select(MarketplaceProduct.product_id, MarketplaceProduct.offer_id).where(
            MarketplaceProduct.connection_id == connection_id, MarketplaceProduct.product_id.in_(ids)
        )
    ):
        offers[pid] = offer
    return offers


def _want(session: Session, connection_id: int, external_id: str, offer: str, quantity: int) -> None:
    key = {"connection_id": connection_id, "warehouse_external_id": external_id, "offer_id": offer}
    insert_ignore(session, MarketplaceStock.__table__, {**key, "quantity": quantity})  # type: ignore[arg-type]
    row = session.scalar(
        select(MarketplaceStock).where(
            MarketplaceStock.connection_id == connection_id,
            MarketplaceStock.warehouse_external_id == external_id,
            MarketplaceStock.offer_id == offer,
        )
    )
    assert row is not None
    row.quantity = quantity


def _due(session: Session, connection_id: int, now: datetime) -> list[tuple[int, StockUpdate]]:
    cutoff = now - timedelta(seconds=STOCK_PAIR_MIN_INTERVAL_S)
    rows = session.scalars(
        select(MarketplaceStock)
        .where(
            MarketplaceStock.connection_id == connection_id,
            or_(
                MarketplaceStock.pushed_quantity.is_(None),
                MarketplaceStock.pushed_quantity != MarketplaceStock.quantity,
            ),
            or_(MarketplaceStock.pushed_at.is_(None), MarketplaceStock.pushed_at <= cutoff),
        )
        .order_by(MarketplaceStock.id)
        .limit(MAX_PAIRS_PER_RUN)
    ).all()
    return [(r.id, StockUpdate(r.offer_id, r.warehouse_external_id, r.quantity)) for r in rows]


def push_stocks(
    engine: Engine,
    connection_id: int,
    *,
    settings: MarketplaceSettings,
    factory: AdapterFactory = ozon_adapter,
    now: datetime | None = None,
) -> StockReport:
    now = now or utcnow()
    report = StockReport(connection_id)
    report.changed_pairs = run_in_transaction(engine, lambda s: _collect(s, connection_id))
    with unit_of_work(engine, read_only=True) as session:
        due = _due(session, connection_id, now)
        connection = load_connection(session, connection_id, settings) if due else None
    if not due or connection is None:
        return report
    report.sent = len(due)
    with open_adapter(factory, connection) as adapter:
        results = adapter.push_stocks([update for _, update in due])
        report.calls = -(-len(due) // 100)
    by_pair = {(r.offer_id, r.warehouse_id): r for r in results}

    def settle(session: Session) -> None:
        for row_id, update in due:
            row = session.get(MarketplaceStock, row_id)
            result = by_pair.get((update.offer_id, update.warehouse_id))
            if row is None or result is None:
                continue
            row.pushed_at = now
            if result.updated:
                row.pushed_quantity, row.last_error = update.quantity, None
                report.accepted += 1
            elif result.retryable:
                report.deferred += 1
            else:
                errors = "; ".join(f"{e.code}: {e.message}" for e in result.errors) or "refused"
                row.pushed_quantity, row.last_error = update.quantity, errors[:500]
                report.refused += 1
                record_error(
                    session,
                    connection_id,
                    "stocks",
                    f"{update.offer_id}@{update.warehouse_id} = {update.quantity}: {errors}",
                    external_id=update.offer_id,
                    keep=settings.keep_errors,
                )
        state = state_for(session, connection_id, "stocks", lock=True)
        state.status = "partial" if report.refused else "ok"
        state.last_finished_at = state.last_success_at = utcnow()
        state.summary = _summary(report)

    run_in_transaction(engine, settle)
    return report


def _summary(report: StockReport) -> dict[str, Any]:
    return {k: v for k, v in vars(report).items() if k != "connection_id"}
