"""Pull postings from the marketplace into our orders: ``zakaz ozon sync`` and the periodic worker job.

Each run lists (1) every unfulfilled posting by ship-by window and (2) every posting whose status changed
since the stored cursor (minus an overlap). Postings whose (status, substatus, ship-by, tracking) are what
we stored are skipped without a transaction; every other posting is applied in **its own transaction**
(``run_in_transaction``), so one bad posting is recorded in the sync errors and the rest continue. The
cursor moves to the run's start time only when both listings completed; the unfulfilled pass of the next
run picks up any active posting that failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.config import Settings, get_settings
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError
from zakaz.marketplaces.base import MarketplaceError, MarketplaceOrder
from zakaz.marketplaces.connections import AdapterFactory, load_connection, open_adapter, ozon_adapter
from zakaz.marketplaces.mappings import Lookups, load_lookups
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.ozon import mapping
from zakaz.marketplaces.ozon.adapter import MAX_WINDOW, OzonAdapter, rfc3339
from zakaz.marketplaces.service import Applied, apply_posting, fingerprint, intake_config
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error, state_for

log = logging.getLogger(__name__)

#: Called after every posting with the running report (the CLI draws its progress bar from it).
Progress = Callable[["SyncReport"], None]


@dataclass
class SyncReport:
    connection_id: int
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    listing_failed: str | None = None
    seconds: float = 0.0
    error_ids: list[str] = field(default_factory=list)

    def count(self, applied: Applied) -> None:
        setattr(self, applied.outcome, getattr(self, applied.outcome) + 1)

    def summary(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        s = self.summary()
        return ", ".join(f"{k} {v}" for k, v in s.items()) + (
            f"; listing failed: {self.listing_failed}" if self.listing_failed else ""
        )


def _known(session: Session, connection_id: int) -> dict[str, tuple[Any, ...]]:
    rows = session.execute(
        select(
            MarketplacePosting.external_id,
            MarketplacePosting.external_status,
            MarketplacePosting.external_substatus,
            MarketplacePosting.ship_by,
            MarketplacePosting.tracking_number,
        ).where(MarketplacePosting.connection_id == connection_id)
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _raw_postings(
    adapter: OzonAdapter, now: datetime, since: datetime, settings: MarketplaceSettings
) -> Iterator[Mapping[str, Any]]:
    """Raw posting objects of both listings (the adapter's ``list_unfulfilled`` + ``list_changed``).

    Raw, not mapped, so that one posting the mapping refuses is recorded and skipped instead of ending
    the adapter's generator (and with it the whole run). Same request bodies as the adapter's methods.
    """
    window = {
        "cutoff_from": rfc3339(now - timedelta(days=settings.sync_lookback_days)),
        "cutoff_to": rfc3339(now + timedelta(days=settings.sync_lookahead_days)),
    }
    yield from adapter._list({"filter": window}, {"filter": window}, unfulfilled=True)
    created = {"since": rfc3339(now - MAX_WINDOW), "to": rfc3339(now)}
    body = {"filter": {**created, "last_changed_status_date": {"from": rfc3339(since), "to": rfc3339(now)}}}
    yield from adapter._list(body, body, unfulfilled=False)


def _dedupe_raw(postings: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    seen: set[str] = set()
    for posting in postings:
        number = str(posting.get("posting_number") or "")
        if number not in seen:
            seen.add(number)
            yield posting


def _start(engine: Engine, connection_id: int, now: datetime) -> datetime | None:
    def work(session: Session) -> datetime | None:
        state = state_for(session, connection_id, "orders", lock=True)
        state.status, state.last_started_at = "running", now
        return state.cursor_at

    return run_in_transaction(engine, work)


def _finish(engine: Engine, report: SyncReport, now: datetime, *, advance: bool) -> None:
    def work(session: Session) -> None:
        state = state_for(session, report.connection_id, "orders", lock=True)
        state.last_finished_at = utcnow()
        state.summary = report.summary()
        if report.listing_failed:
            state.status, state.last_error = "failed", report.listing_failed[:4000]
        else:
            state.status = "partial" if report.errors else "ok"
            state.last_success_at = state.last_finished_at
            state.last_error = None if not report.errors else f"{report.errors} posting(s) failed"
        if advance:
            state.cursor_at = now

    run_in_transaction(engine, work)


def apply_one(
    engine: Engine,
    *,
    connection_id: int,
    posting: MarketplaceOrder,
    lookups: Lookups,
    settings: MarketplaceSettings,
    app_settings: Settings,
) -> Applied:
    config = intake_config(app_settings)

    def work(session: Session) -> Applied:
        return apply_posting(
            session,
            connection_id=connection_id,
            posting=posting,
            lookups=lookups,
            config=config,
            settings=settings,
            phone_region=app_settings.default_phone_region,
        )

    return run_in_transaction(engine, work)


def note_error(
    engine: Engine, connection_id: int, kind: str, message: str, *, external_id: str | None, keep: int
) -> None:
    run_in_transaction(
        engine,
        lambda s: record_error(s, connection_id, kind, message, external_id=external_id, keep=keep),
    )


def sync_orders(
    engine: Engine,
    connection_id: int,
    *,
    settings: MarketplaceSettings,
    factory: AdapterFactory = ozon_adapter,
    now: datetime | None = None,
    progress: Progress | None = None,
    app_settings: Settings | None = None,
) -> SyncReport:
    started = time.perf_counter()
    now = now or utcnow()
    app_settings = app_settings or get_settings()
    report = SyncReport(connection_id)
    cursor = _start(engine, connection_id, now)
    with unit_of_work(engine, read_only=True) as session:
        connection = load_connection(session, connection_id, settings)
        lookups = load_lookups(session, connection_id)
        known = _known(session, connection_id)
    since = (cursor or now - timedelta(days=1)) - timedelta(seconds=settings.sync_overlap_seconds)
    with open_adapter(factory, connection) as adapter:
        try:
            for raw in _dedupe_raw(_raw_postings(adapter, now, since, settings)):
                report.seen += 1
                _one(engine, report, raw, known, lookups, settings, app_settings)
                if progress is not None:
                    progress(report)
        except MarketplaceError as exc:
            report.listing_failed = f"{type(exc).__name__}: {exc}"
            log.warning("Ozon sync of connection %s stopped: %s", connection_id, exc)
            note_error(
                engine,
                connection_id,
                "orders",
                report.listing_failed,
                external_id=None,
                keep=settings.keep_errors,
            )
    report.seconds = time.perf_counter() - started
    _finish(engine, report, now, advance=report.listing_failed is None)
    return report


def _one(
    engine: Engine,
    report: SyncReport,
    raw: Mapping[str, Any],
    known: dict[str, tuple[Any, ...]],
    lookups: Lookups,
    settings: MarketplaceSettings,
    app_settings: Settings,
) -> None:
    number = str(raw.get("posting_number") or "") or None
    try:
        posting = mapping.posting_to_order(raw)
        if known.get(posting.external_id) == fingerprint(posting):
            report.unchanged += 1
            return
        applied = apply_one(
            engine,
            connection_id=report.connection_id,
            posting=posting,
            lookups=lookups,
            settings=settings,
            app_settings=app_settings,
        )
    except Exception as exc:  # one bad posting must not stop the run; it is recorded for a human
        report.errors += 1
        report.error_ids.append(number or "?")
        detail = exc.detail if isinstance(exc, DomainError) else str(exc)
        log.info("Ozon posting %s not applied: %r", number, exc)
        note_error(
            engine,
            report.connection_id,
            "orders",
            f"posting {number}: {type(exc).__name__}: {detail}",
            external_id=number,
            keep=settings.keep_errors,
        )
        return
    report.count(applied)
