"""/api/v1/orders: intake, read, list, operator actions, edit."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from zakaz.api.context import (
    Ctx,
    IdemKey,
    json_response,
    mutate,
    mutation,
    mutation_response,
    require,
)
from zakaz.api.intake_route import IntakeRoute
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.db import unit_of_work
from zakaz.orders import intake, service
from zakaz.orders.schemas import ActionIn, HoldIn, OrderCreate, OrderEdit
from zakaz.orders.views import (
    OrderFilter,
    find_order_id,
    list_orders,
    load_order,
    new_order_detail,
    order_detail,
    order_summary,
    timeline_of,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

Writer = Annotated[Principal, Depends(require(Permission.orders_write))]
Holder = Annotated[Principal, Depends(require(Permission.orders_hold))]
Reader = Annotated[Principal, Depends(require(Permission.read))]


def _detail(session: Session, order_id: int) -> dict[str, Any]:
    return order_detail(load_order(session, order_id), events=timeline_of(session, order_id))


async def create_order(data: OrderCreate, ctx: Ctx, who: Writer, idempotency_key: IdemKey = None) -> Response:
    config = ctx.intake

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        result = intake.receive(session, data, actor=who.actor, config=config)
        if result.order is not None and result.lines is not None:
            return 201, new_order_detail(session, result.order, result.lines, result.events)
        return (201 if result.created else 200), _detail(session, result.order_id)

    # The fingerprint (a model_dump of the body) is only computed when there is an Idempotency-Key.
    unit = mutation(
        ctx, who, idempotency_key, lambda: ("POST", "/api/v1/orders", data.model_dump(mode="json")), work
    )
    # Received by the process's intake thread, together with the orders that arrive at the same time
    # (orders/batching.py: one transaction per batch, each answer after its commit).
    return mutation_response(await asyncio.wrap_future(ctx.batcher.submit(unit, (data, config))))


# As ``@router.post`` would register it, on a route class that skips FastAPI's per-request work for the
# requests it would accept anyway (api/intake_route.py).
router.add_api_route(
    "",
    create_order,
    methods=["POST"],
    status_code=201,
    summary="Receive an order (idempotent)",
    route_class_override=IntakeRoute,
)


@router.get("", summary="List orders, newest first, with filters and cursor pagination")
def get_orders(
    ctx: Ctx,
    who: Reader,
    status: str | None = None,
    channel: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="order number, customer name, phone or e-mail")
    ] = None,
    sku: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = OrderFilter(status, channel, created_from, created_to, q, sku)
    with unit_of_work(ctx.engine, read_only=True) as session:
        rows, next_cursor = list_orders(session, f, limit=limit, cursor=cursor)
        items = [order_summary(o) for o in rows]
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get("/{ref}", summary="One order with lines, allocation plan and timeline (by id or number)")
def get_order(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(_detail(session, find_order_id(session, ref)))


@router.patch("/{ref}", summary="Edit an order until picking starts")
def edit_order(ref: str, data: OrderEdit, ctx: Ctx, who: Writer, idempotency_key: IdemKey = None) -> Response:
    config = ctx.intake

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        order_id = find_order_id(session, ref)
        service.edit(session, order_id, data, actor=who.actor, config=config)
        return 200, _detail(session, order_id)

    return mutate(ctx, who, idempotency_key, ("PATCH", f"/orders/{ref}", data.model_dump(mode="json")), work)


def _action(
    ctx: Ctx, who: Principal, key: str | None, ref: str, name: str, body: dict[str, Any], run: Any
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        order_id = find_order_id(session, ref)
        run(session, order_id)
        return 200, _detail(session, order_id)

    return mutate(ctx, who, key, ("POST", f"/orders/{ref}/{name}", body), work)


@router.post("/{ref}/confirm", summary="Confirm a new order and allocate it")
def confirm(
    ref: str, ctx: Ctx, who: Writer, body: ActionIn | None = None, idempotency_key: IdemKey = None
) -> Response:
    reason = body.reason if body else ""
    policy = ctx.intake.policy
    return _action(
        ctx,
        who,
        idempotency_key,
        ref,
        "confirm",
        {"reason": reason},
        lambda s, oid: service.confirm(s, oid, actor=who.actor, policy=policy, reason=reason),
    )


@router.post("/{ref}/hold", summary="Put an order on hold with a reason")
def hold(ref: str, body: HoldIn, ctx: Ctx, who: Holder, idempotency_key: IdemKey = None) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        ref,
        "hold",
        body.model_dump(),
        lambda s, oid: service.hold(s, oid, actor=who.actor, reason=body.reason),
    )


@router.post("/{ref}/release", summary="Release a held order (it is confirmed and allocated)")
def release(
    ref: str, ctx: Ctx, who: Holder, body: ActionIn | None = None, idempotency_key: IdemKey = None
) -> Response:
    reason = body.reason if body else ""
    policy = ctx.intake.policy
    return _action(
        ctx,
        who,
        idempotency_key,
        ref,
        "release",
        {"reason": reason},
        lambda s, oid: service.release(s, oid, actor=who.actor, policy=policy, reason=reason),
    )


@router.post("/{ref}/cancel", summary="Cancel an order and release its stock")
def cancel(
    ref: str, ctx: Ctx, who: Writer, body: ActionIn | None = None, idempotency_key: IdemKey = None
) -> Response:
    reason = body.reason if body else ""
    return _action(
        ctx,
        who,
        idempotency_key,
        ref,
        "cancel",
        {"reason": reason},
        lambda s, oid: service.cancel(s, oid, actor=who.actor, reason=reason),
    )
