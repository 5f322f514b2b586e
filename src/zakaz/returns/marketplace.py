"""Marketplace returns into after-sales (issue #6 with #7): each pulled Ozon return becomes an RMA.

Called by the returns pull (``marketplaces.returns``) inside each batch's transaction; never commits.

- One RMA per marketplace return, idempotent by it: ``return_sources`` has one row per
  ``marketplace_returns`` row, holding the RMA or the reason there is none yet (``problem``: the posting is
  unknown, was not imported as an order, or its article is not a line of the order). Those stay visible
  in the returns queue and are tried again on every pull, so fixing a mapping links them.
- The RMA (source ``ozon``) is on the order the posting became, one line (Ozon returns one article per
  return), its reason mapped from Ozon's text (``other`` when nothing matches; the text is kept in the
  comment). Type ``Cancellation`` (a posting cancelled after it left) is kind ``cancellation``: the goods
  come back to stock and nobody is refunded; the others are kind ``return``, refunded by the marketplace
  (the ledger records the ``marketplace`` provider; we never pay).
- Ozon's status moves the RMA forward only (``marketplace_rules.path_to``) through the one
  ``transition_return``; the status last applied is remembered, so pulling the same data again writes
  nothing. Marketplace orders get no label from us and no message from us (the marketplace tells its buyer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.customers.models import Customer
from zakaz.marketplaces.base import MarketplaceLine
from zakaz.marketplaces.mappings import Lookups, load_lookups
from zakaz.marketplaces.models import MarketplacePosting, MarketplaceReturn
from zakaz.orders.models import Order, OrderLine
from zakaz.orders.views import load_order
from zakaz.returns import marketplace_rules as mp
from zakaz.returns import rules
from zakaz.returns.config import MARKETPLACE_INSTRUCTIONS, ReturnsSettings
from zakaz.returns.models import ReturnLine, ReturnRequest, ReturnSource
from zakaz.returns.service import note_return, record_requested, return_warehouse, transition_return
from zakaz.returns.states import ReturnStatus

S = ReturnStatus
NAMES = {"ozon": "Ozon"}


@dataclass
class LinkReport:
    created: int = 0
    moved: int = 0
    unchanged: int = 0
    problems: int = 0

    def add(self, other: LinkReport) -> None:
        self.created += other.created
        self.moved += other.moved
        self.unchanged += other.unchanged
        self.problems += other.problems


@dataclass(frozen=True)
class _Problem:
    code: str
    detail: str


def _order_line(
    session: Session, row: MarketplaceReturn, order: Order, lookups: Lookups
) -> OrderLine | _Problem:
    line = MarketplaceLine(row.offer_id or "", row.marketplace_sku or "", "", 0, 0)
    wanted = {lookups.our_sku(line), row.offer_id or ""} - {""}
    found = next((ln for ln in order.lines if ln.sku in wanted), None)
    if found is None:
        article = row.offer_id or f"SKU {row.marketplace_sku}"
        return _Problem("unknown_sku", f"{article} is not a line of order {order.number}")
    if row.quantity <= 0:
        return _Problem("quantity", f"Ozon sent quantity {row.quantity}")
    taken = session.scalar(
        select(func.coalesce(func.sum(ReturnLine.quantity), 0))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(
            ReturnLine.order_line_id == found.id,
            ReturnRequest.status.not_in([S.rejected.value, S.closed.value]),
        )
    )
    if row.quantity > found.quantity - int(taken or 0):
        return _Problem(
            "quantity",
            f"{row.quantity} x {found.sku} back, but order {order.number} has {found.quantity} "
            f"and {int(taken or 0)} are in other returns",
        )
    return found


def _posting_order(session: Session, row: MarketplaceReturn) -> int | None:
    """The posting may have become an order after the row was stored (linking is tried again)."""
    if not row.posting_number:
        return None
    return session.scalar(
        select(MarketplacePosting.order_id).where(
            MarketplacePosting.connection_id == row.connection_id,
            MarketplacePosting.external_id == row.posting_number,
        )
    )


def _problem_of_posting(session: Session, row: MarketplaceReturn) -> _Problem:
    posting = session.scalar(
        select(MarketplacePosting.id).where(
            MarketplacePosting.connection_id == row.connection_id,
            MarketplacePosting.external_id == (row.posting_number or ""),
        )
    )
    if posting is not None:
        return _Problem("order_not_imported", f"posting {row.posting_number} was not imported as an order")
    return _Problem("unknown_posting", f"no posting {row.posting_number or '(none)'} in our orders")


def _set_problem(src: ReturnSource, problem: _Problem, report: LinkReport) -> None:
    report.problems += 1
    if (src.problem, src.detail) != (problem.code, problem.detail[:500]):
        src.problem, src.detail, src.updated_at = problem.code, problem.detail[:500], utcnow()


def _create(
    session: Session,
    row: MarketplaceReturn,
    src: ReturnSource,
    lookups: Lookups,
    actor: str,
    report: LinkReport,
) -> ReturnRequest | None:
    order_id = row.order_id if row.order_id is not None else _posting_order(session, row)
    if order_id is None:
        _set_problem(src, _problem_of_posting(session, row), report)
        return None
    order = load_order(session, order_id, for_update=True)
    line = _order_line(session, row, order, lookups)
    if isinstance(line, _Problem):
        _set_problem(src, line, report)
        return None
    now = utcnow()
    name = NAMES.get(order.channel, order.channel)
    ret = ReturnRequest(
        number=rules.new_rma_number(now),
        kind=mp.kind_for(row.kind),
        order_id=order.id,
        status=S.requested.value,
        reason=mp.reason_from_text(row.reason).value,
        comment=f"{name}: {row.reason}" if row.reason else "",
        source=order.channel[:16],
        value_minor=line.unit_price_minor * row.quantity,
        actor=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(ret)
    session.flush()
    session.add(
        ReturnLine(
            return_id=ret.id,
            order_line_id=line.id,
            line_no=line.line_no,
            sku=line.sku,
            name=line.name,
            quantity=row.quantity,
        )
    )
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    locale = customer.locale if customer and customer.locale in MARKETPLACE_INSTRUCTIONS else "ru"
    ret.instructions = MARKETPLACE_INSTRUCTIONS[locale].format(rma=ret.number, marketplace=name)
    record_requested(
        session,
        ret,
        order,
        actor=actor,
        note=ret.comment or None,
        data=_source_data(row),
    )
    src.return_id, src.problem, src.detail, src.updated_at = ret.id, None, "", now
    report.created += 1
    return ret


def _source_data(row: MarketplaceReturn) -> dict[str, Any]:
    return {
        "marketplace_return": row.external_id,
        "posting": row.posting_number,
        "marketplace_kind": row.kind,
        "marketplace_status": row.status,
    }


def _advance(
    session: Session, ret: ReturnRequest, row: MarketplaceReturn, settings: ReturnsSettings, actor: str
) -> bool:
    """Move ``ret`` forward to where the marketplace status says; True when it moved."""
    order = load_order(session, ret.order_id)
    name = NAMES.get(order.channel, order.channel)
    target = mp.STATUS_TARGETS.get(row.status or "")
    steps = mp.path_to(ret.status, target) if target is not None else []
    if not steps:
        if target is not None and target.value == ret.status:
            return False  # where it stands already (e.g. a new request still under review)
        why = "not a status we follow" if target is None else f"{ret.status} stays (never backwards)"
        note_return(
            session,
            ret,
            order,
            type_="marketplace_status",
            actor=actor,
            note=f"{name}: {row.status} ({why})",
            data=_source_data(row),
        )
        return False
    for step in steps:
        if step in (S.approved, S.received) and ret.warehouse_id is None:
            line_ids = set(
                session.scalars(select(ReturnLine.order_line_id).where(ReturnLine.return_id == ret.id))
            )
            warehouse = return_warehouse(session, settings, order_id=order.id, order_line_ids=line_ids)
            ret.warehouse_id = warehouse.id if warehouse else None
        if step is S.received:
            ret.received_at = utcnow()
        transition_return(
            session, ret, step, order=order, actor=actor, note=f"{name}: {row.status}", data=_source_data(row)
        )
    return True


def link_returns(
    session: Session, rows: Sequence[MarketplaceReturn], *, settings: ReturnsSettings, actor: str = "ozon"
) -> LinkReport:
    """Create or move forward the RMA of each marketplace return (rows already stored by the pull)."""
    report = LinkReport()
    if not rows:
        return report
    session.flush()
    sources = {
        src.marketplace_return_id: src
        for src in session.scalars(
            select(ReturnSource).where(ReturnSource.marketplace_return_id.in_([r.id for r in rows]))
        )
    }
    lookups: dict[int, Lookups] = {}
    for row in sorted(rows, key=lambda r: r.id):
        src = sources.get(row.id)
        if src is None:
            src = ReturnSource(marketplace_return_id=row.id, detail="")
            session.add(src)
            sources[row.id] = src
        if src.return_id is None:
            if row.connection_id not in lookups:
                lookups[row.connection_id] = load_lookups(session, row.connection_id)
            created = _create(session, row, src, lookups[row.connection_id], actor, report)
            if created is None:
                continue
            ret = created
        elif src.applied_status == row.status:
            report.unchanged += 1  # the same data again: nothing is written
            continue
        else:
            ret = session.get_one(ReturnRequest, src.return_id, with_for_update=True)
        if _advance(session, ret, row, settings, actor):
            report.moved += 1
        src.applied_status, src.updated_at = row.status, utcnow()
    return report


def link_pending(
    session: Session, connection_id: int, *, settings: ReturnsSettings, limit: int = 200, actor: str = "ozon"
) -> LinkReport:
    """Try again the marketplace returns without an RMA (a posting imported or a mapping added since)."""
    rows = session.scalars(
        select(MarketplaceReturn)
        .join(ReturnSource, ReturnSource.marketplace_return_id == MarketplaceReturn.id)
        .where(MarketplaceReturn.connection_id == connection_id, ReturnSource.return_id.is_(None))
        .order_by(MarketplaceReturn.id)
        .limit(limit)
    ).all()
    return link_returns(session, rows, settings=settings, actor=actor)


def needs_attention(session: Session, *, limit: int = 200) -> list[dict[str, Any]]:
    """Marketplace returns without an RMA, with the reason (the returns queue shows them)."""
    rows = session.execute(
        select(MarketplaceReturn, ReturnSource)
        .join(ReturnSource, ReturnSource.marketplace_return_id == MarketplaceReturn.id)
        .where(ReturnSource.return_id.is_(None))
        .order_by(MarketplaceReturn.id)
        .limit(limit)
    ).all()
    return [
        {
            "marketplace_return": row.external_id,
            "posting": row.posting_number,
            "offer_id": row.offer_id,
            "marketplace_sku": row.marketplace_sku,
            "name": row.name,
            "quantity": row.quantity,
            "kind": row.kind,
            "status": row.status,
            "reason": row.reason,
            "problem": src.problem,
            "detail": src.detail,
            "created_at": row.created_at,
        }
        for row, src in rows
    ]
