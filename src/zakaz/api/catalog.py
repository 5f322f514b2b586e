"""/api/v1/products and /api/v1/warehouses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.catalog import service as catalog
from zakaz.catalog.schemas import ProductIn, ProductOut
from zakaz.db import unit_of_work
from zakaz.inventory import warehouses
from zakaz.inventory.schemas import WarehouseIn, WarehouseOut

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.read))]


@router.get("/products")
def list_products(
    ctx: Ctx,
    who: Reader,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        rows = catalog.list_products(session, q=q, limit=limit, offset=offset)
        items = [ProductOut.model_validate(p).model_dump(mode="json") for p in rows]
    return json_response({"items": items})


@router.get("/products/{sku}")
def get_product(sku: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(
            ProductOut.model_validate(catalog.get_product(session, sku)).model_dump(mode="json")
        )


@router.put("/products/{sku}", summary="Create or update a product by SKU")
def put_product(
    sku: str,
    data: ProductIn,
    ctx: Ctx,
    who: Annotated[Principal, Depends(require(Permission.catalog_write))],
    idempotency_key: IdemKey = None,
) -> Response:
    from zakaz.errors import FieldError, ValidationFailed

    if data.sku != sku:
        raise ValidationFailed([FieldError("sku", "mismatch", "the SKU in the body must match the URL")])

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        product, created = catalog.upsert_product(session, data)
        return (201 if created else 200), ProductOut.model_validate(product).model_dump(mode="json")

    return mutate(ctx, who, idempotency_key, ("PUT", f"/products/{sku}", data.model_dump(mode="json")), work)


@router.get("/warehouses")
def list_warehouses(ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = [
            WarehouseOut.model_validate(w).model_dump(mode="json")
            for w in warehouses.list_warehouses(session)
        ]
    return json_response({"items": items})


@router.put("/warehouses/{code}", summary="Create or update a warehouse by code")
def put_warehouse(
    code: str,
    data: WarehouseIn,
    ctx: Ctx,
    who: Annotated[Principal, Depends(require(Permission.warehouses_write))],
    idempotency_key: IdemKey = None,
) -> Response:
    from zakaz.errors import FieldError, ValidationFailed

    if data.code != code:
        raise ValidationFailed([FieldError("code", "mismatch", "the code in the body must match the URL")])

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        warehouse, created = warehouses.upsert_warehouse(session, data)
        return (201 if created else 200), WarehouseOut.model_validate(warehouse).model_dump(mode="json")

    return mutate(
        ctx, who, idempotency_key, ("PUT", f"/warehouses/{code}", data.model_dump(mode="json")), work
    )
