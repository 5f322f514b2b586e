"""The landing page: today's intake, orders waiting per status, held orders, orders past ship-by."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.orders.models import Order
from zakaz.orders.states import OrderStatus
from zakaz.web.deps import Reader, engine_of, web_settings
from zakaz.web.templating import render

router = APIRouter()
S = OrderStatus

#: Statuses in which an order still needs someone to act, in the order work flows.
WAITING = (S.new, S.on_hold, S.confirmed, S.backordered, S.allocated, S.picking, S.packed)
#: Not shipped yet: these can be late.
OPEN = frozenset(s.value for s in WAITING)


def start_of_today(tz: str) -> datetime:
    zone = ZoneInfo(tz)
    local_now = utcnow().astimezone(zone)
    return datetime.combine(local_now.date(), time.min, tzinfo=zone)


def _today(session: Session, since: datetime) -> dict[str, Any]:
    rows = session.execute(
        select(Order.currency, func.count(), func.coalesce(func.sum(Order.total_minor), 0))
        .where(Order.created_at >= since)
        .group_by(Order.currency)
    ).all()
    by_channel = session.execute(
        select(Order.channel, func.count())
        .where(Order.created_at >= since)
        .group_by(Order.channel)
        .order_by(func.count().desc())
    ).all()
    return {
        "count": sum(n for _, n, _ in rows),
        "totals": [(currency, int(total)) for currency, _, total in rows],
        "channels": [(channel, n) for channel, n in by_channel],
    }


def _late(session: Session, now: datetime) -> tuple[int, list[Order]]:
    condition = (Order.status.in_(OPEN)) & (Order.ship_by < now)
    count = session.scalar(select(func.count()).select_from(Order).where(condition)) or 0
    rows = list(session.scalars(select(Order).where(condition).order_by(Order.ship_by, Order.id).limit(8)))
    return int(count), rows


def dashboard_data(session: Session, tz: str) -> dict[str, Any]:
    now = utcnow()
    counts = dict(
        session.execute(
            select(Order.status, func.count()).where(Order.status.in_(OPEN)).group_by(Order.status)
        ).all()
    )
    held = list(
        session.scalars(
            select(Order)
            .where(Order.status == S.on_hold.value)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(8)
        )
    )
    late_count, late = _late(session, now)
    return {
        "now": now,
        "today": _today(session, start_of_today(tz)),
        "waiting": [(s.value, int(counts.get(s.value, 0))) for s in WAITING],
        "held": held,
        "held_count": int(counts.get(S.on_hold.value, 0)),
        "late": late,
        "late_count": late_count,
    }


@router.get("/", name="dashboard")
def dashboard(request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = dashboard_data(session, web_settings(request).timezone)
        return render(request, "dashboard.html", {"nav": "dashboard", **data}, user=user)
