"""Read side of after-sales: a return as a plain dict, the queue with age and SLA level, the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.inventory.models import Warehouse
from zakaz.marketplaces.models import MarketplaceReturn
from zakaz.orders.models import Order
from zakaz.returns import rules
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.models import QuarantinedUnit, Refund, ReturnEvent, ReturnRequest, ReturnSource
from zakaz.returns.payments import MARKETPLACE_CHANNELS
from zakaz.returns.service import lines_of
from zakaz.returns.states import OPEN, TRANSITIONS, ReturnStatus


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def refund_view(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "key": r.key,
        "kind": r.kind,
        "amount_minor": r.amount_minor,
        "quoted_minor": r.quoted_minor,
        "currency": r.currency,
        "provider": r.provider,
        "status": r.status,
        "provider_ref": r.provider_ref,
        "explanation": r.explanation,
        "units": r.units,
        "created_at": _iso(r.created_at),
        "settled_at": _iso(r.settled_at),
    }


def _order_number(session: Session, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    return session.scalar(select(Order.number).where(Order.id == order_id))


def _source(session: Session, return_id: int) -> dict[str, Any] | None:
    """The marketplace return behind an RMA (None for our own)."""
    row = session.execute(
        select(
            MarketplaceReturn.external_id,
            MarketplaceReturn.posting_number,
            MarketplaceReturn.kind,
            MarketplaceReturn.status,
            MarketplaceReturn.reason,
        )
        .join(ReturnSource, ReturnSource.marketplace_return_id == MarketplaceReturn.id)
        .where(ReturnSource.return_id == return_id)
    ).first()
    if row is None:
        return None
    return {"return_id": row[0], "posting": row[1], "kind": row[2], "status": row[3], "reason": row[4]}


def return_detail(session: Session, ret: ReturnRequest, settings: ReturnsSettings) -> dict[str, Any]:
    events = session.scalars(
        select(ReturnEvent).where(ReturnEvent.return_id == ret.id).order_by(ReturnEvent.id)
    ).all()
    refunds = session.scalars(select(Refund).where(Refund.return_id == ret.id).order_by(Refund.id)).all()
    quarantined = session.scalars(
        select(QuarantinedUnit).where(QuarantinedUnit.return_id == ret.id).order_by(QuarantinedUnit.id)
    ).all()
    warehouse = session.get(Warehouse, ret.warehouse_id) if ret.warehouse_id else None
    age = utcnow() - ret.created_at
    return {
        "rma": ret.number,
        "kind": ret.kind,
        "status": ret.status,
        "allowed": sorted(s.value for s in TRANSITIONS[ReturnStatus(ret.status)]),
        "order": _order_number(session, ret.order_id),
        "order_id": ret.order_id,
        "reason": ret.reason,
        "comment": ret.comment,
        "source": ret.source,
        "auto_approved": ret.auto_approved,
        "review_note": ret.review_note,
        "instructions": ret.instructions,
        "carrier": ret.carrier_code,
        "tracking_number": ret.tracking_number,
        "label": {
            "status": ret.label_status,
            "carrier": ret.carrier_code if ret.label_status else None,
            "service": ret.service_code if ret.label_status else None,
            "tracking_number": ret.tracking_number if ret.label_status == "ready" else None,
            "error": ret.label_error,
            "url": f"/api/v1/returns/{ret.number}/label" if ret.label_status == "ready" else None,
            # marketplace orders never get our label (the marketplace runs their returns)
            "possible": session.scalar(select(Order.channel).where(Order.id == ret.order_id))
            not in MARKETPLACE_CHANNELS,
        },
        "arrived_at": _iso(ret.arrived_at),
        "marketplace": _source(session, ret.id),
        "warehouse": warehouse.code if warehouse else None,
        "value_minor": ret.value_minor,
        "replacement_order": _order_number(session, ret.replacement_order_id),
        "created_at": _iso(ret.created_at),
        "received_at": _iso(ret.received_at),
        "age_hours": round(age.total_seconds() / 3600, 1),
        "sla": rules.sla_level(age, warn_hours=settings.sla_warn_hours, late_hours=settings.sla_hours)
        if ret.status in OPEN
        else "done",
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "name": ln.name,
                "quantity": ln.quantity,
                "exchange_sku": ln.exchange_sku,
                "condition": ln.condition,
                "restocked": ln.restocked_qty,
                "quarantined": ln.quarantined_qty,
            }
            for ln in lines_of(session, ret.id)
        ],
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "actor": e.actor,
                "note": e.note,
                "data": e.data,
                "at": _iso(e.created_at),
            }
            for e in events
        ],
        "refunds": [refund_view(r) for r in refunds],
        "quarantine": [
            {
                "id": q.id,
                "sku": q.sku,
                "quantity": q.quantity,
                "condition": q.condition,
                "note": q.note,
                "written_off_at": _iso(q.written_off_at),
                "written_off_by": q.written_off_by,
            }
            for q in quarantined
        ],
    }


def queue(
    session: Session, settings: ReturnsSettings, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Open returns oldest first (or every return in ``status``), each with its age and SLA level."""
    stmt = select(ReturnRequest, Order.number).join(Order, Order.id == ReturnRequest.order_id)
    if status:
        stmt = stmt.where(ReturnRequest.status == status).order_by(ReturnRequest.created_at.desc())
    else:
        stmt = stmt.where(ReturnRequest.status.in_([s.value for s in OPEN])).order_by(
            ReturnRequest.created_at, ReturnRequest.id
        )
    now = utcnow()
    out = []
    for ret, order_number in session.execute(stmt.limit(limit)).all():
        age = now - ret.created_at
        out.append(
            {
                "rma": ret.number,
                "kind": ret.kind,
                "status": ret.status,
                "order": order_number,
                "reason": ret.reason,
                "source": ret.source,
                "value_minor": ret.value_minor,
                "label_status": ret.label_status,
                "arrived": ret.arrived_at is not None and ret.status in ("approved", "in_transit"),
                "created_at": ret.created_at,
                "age": age,
                "age_hours": round(age.total_seconds() / 3600, 1),
                "sla": rules.sla_level(age, warn_hours=settings.sla_warn_hours, late_hours=settings.sla_hours)
                if ret.status in OPEN
                else "done",
            }
        )
    return out
