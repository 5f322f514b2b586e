"""One order: customer, address, lines, allocation plan with reasons, holds, timeline, allowed actions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from zakaz.db import unit_of_work
from zakaz.errors import NotFound
from zakaz.inventory.models import Warehouse
from zakaz.orders.models import Order
from zakaz.orders.states import allowed_actions
from zakaz.orders.views import load_order, timeline_of
from zakaz.users.service import SessionUser
from zakaz.web import actions, flash, reasons
from zakaz.web.deps import Forbidden, Poster, Reader, engine_of
from zakaz.web.support import order_conversations  # issue #7
from zakaz.web.templating import render

router = APIRouter()


def _find(request: Request, number: str) -> tuple[int, str]:
    with unit_of_work(engine_of(request), read_only=True) as session:
        found = session.execute(
            select(Order.id, Order.number).where(Order.number.in_({number, number.upper()}))
        ).first()
    if found is None:
        raise NotFound(f"no order {number}")
    return found.id, found.number


def plan_view(allocation: dict[str, Any] | None) -> dict[str, Any]:
    """The stored plan with every key the page reads (older or partial plans lack some)."""
    plan = dict(allocation or {})
    for key in ("legs", "backordered", "unfillable", "considered"):
        plan[key] = list(plan.get(key) or [])
    plan["legs"] = [{"distance_km": None, "reason": "", "lines": [], **leg} for leg in plan["legs"]]
    plan["considered"] = [
        {
            "priority": "",
            "distance_km": None,
            "fills_units": 0,
            "fills_all": False,
            "chosen": False,
            "note": "",
            **c,
        }
        for c in plan["considered"]
    ]
    plan.setdefault("policy", "")
    plan.setdefault("decided_at", None)
    return plan


def offered_actions(user: SessionUser, status: str) -> list[str]:
    return [a for a in allowed_actions(status) if actions.may(user, a)]


@router.get("/orders/{number}", name="order")
def order_page(request: Request, number: str, user: Reader) -> Response:
    order_id, _ = _find(request, number)
    with unit_of_work(engine_of(request), read_only=True) as session:
        order = load_order(session, order_id)
        events = timeline_of(session, order_id)
        names = {code: name for code, name in session.execute(select(Warehouse.code, Warehouse.name))}
        plan = plan_view(order.allocation)
        return render(
            request,
            "orders/detail.html",
            {
                "nav": "orders",
                "order": order,
                "events": list(reversed(events)),
                "plan": plan,
                "warehouse_names": names,
                "actions": offered_actions(user, order.status),
                "conversations": order_conversations(session, order_id, user),  # issue #7: buyer chats
                # reasons worded in the page's language from the stored data (called while rendering)
                "hold_text": reasons.hold_text,
                "leg_reason": reasons.leg_reason,
                "considered_note": reasons.considered_note,
            },
            user=user,
        )


@router.post("/orders/{number}/{action}")
def order_action(
    request: Request,
    number: str,
    action: str,
    user: Poster,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not actions.may(user, action):
        raise Forbidden(action)
    order_id, number = _find(request, number)
    outcome = actions.perform(
        engine_of(request),
        user=user,
        order_id=order_id,
        number=number,
        action=action,
        policy=request.app.state.ctx.intake.policy,
        reason=reason,
    )
    flash.flash_text(request, user, "success" if outcome.ok else "error", outcome.message)
    return RedirectResponse(f"/orders/{quote(number)}", status_code=303)
