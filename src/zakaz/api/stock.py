"""/api/v1/stock: levels, movements, adjustments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.db import unit_of_work
from zakaz.inventory import service as stock
from zakaz.inventory.models import MovementReason
from zakaz.inventory.schemas import StockAdjustIn
from zakaz.orders.service import fill_backorders

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
Reader = Annotated[Principal, Depends(require(Permission.read))]


@router.get("")
def levels(
    ctx: Ctx,
    who: Reader,
    warehouse: str | None = None,
    sku: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = stock.stock_levels(session, warehouse_code=warehouse, sku=sku, limit=limit, offset=offset)
    return json_response({"items": items})


@router.get("/movements")
def movements(
    ctx: Ctx,
    who: Reader,
    warehouse: str | None = None,
    sku: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = stock.movements(session, warehouse_code=warehouse, sku=sku, limit=limit)
    return json_response({"items": items})


@router.post("/adjust", summary="Change on hand with a reason; waiting backorders are allocated")
def adjust(
    data: StockAdjustIn,
    ctx: Ctx,
    who: Annotated[Principal, Depends(require(Permission.stock_write))],
    idempotency_key: IdemKey = None,
) -> Response:
    policy = ctx.intake.policy

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        result = stock.adjust(
            session,
            warehouse_code=data.warehouse,
            sku=data.sku,
            delta=data.delta,
            set_on_hand=data.set_on_hand,
            reason=MovementReason(data.reason),
            note=data.note,
            actor=who.actor,
            bin_location=data.bin_location,
        )
        filled = (
            fill_backorders(session, product_id=result.product_id, actor=who.actor, policy=policy)
            if result.delta > 0
            else []
        )
        return 200, {
            "warehouse": result.warehouse_code,
            "sku": result.sku,
            "on_hand": result.on_hand,
            "reserved": result.reserved,
            "available": result.available,
            "delta": result.delta,
            "backorders_allocated": filled,
        }

    return mutate(ctx, who, idempotency_key, ("POST", "/stock/adjust", data.model_dump(mode="json")), work)
