"""/api/v1/marketplaces/ozon: the push endpoint (called by Ozon, no API key) and the settings API.

The API key of a connection is write-only: responses show ``api_key_last4`` and nothing more.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.db import unit_of_work
from zakaz.errors import FieldError, NotFound, ValidationFailed
from zakaz.marketplaces import mappings
from zakaz.marketplaces.connections import (
    BASE_URL_PATTERN,
    CLIENT_ID_PATTERN,
    connection_view,
    get_connection_row,
    save_connection,
)
from zakaz.marketplaces.jobs import SYNC_TOPIC
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.push import ERROR_UNKNOWN, error_answer, receive_push
from zakaz.marketplaces.settings import get_marketplace_settings
from zakaz.marketplaces.syncstate import status_view
from zakaz.outbox import add_messages, outbox_row

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/marketplaces/ozon", tags=["marketplaces"])
Reader = Annotated[Principal, Depends(require(Permission.read))]
Admin = Annotated[Principal, Depends(require(Permission.admin))]
CatalogWriter = Annotated[Principal, Depends(require(Permission.catalog_write))]
WarehouseWriter = Annotated[Principal, Depends(require(Permission.warehouses_write))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConnectionIn(_In):
    name: str = Field(default="", max_length=255)
    client_id: str = Field(min_length=1, max_length=64, pattern=CLIENT_ID_PATTERN)
    api_key: str | None = Field(default=None, min_length=8, max_length=255, description="write-only")
    base_url: str | None = Field(default=None, max_length=500, pattern=BASE_URL_PATTERN)
    active: bool = True


class WarehouseMapIn(_In):
    warehouse: str = Field(min_length=1, max_length=32, description="our warehouse code")
    name: str = Field(default="", max_length=255)
    push_stock: bool = True


class ProductMapIn(_In):
    sku: str = Field(min_length=1, max_length=64, description="our SKU")
    marketplace_sku: str | None = Field(default=None, max_length=32, pattern=r"^[0-9]+$")


# ------------------------------------------------------------------------------------------------- push


@router.post("/push", summary="Ozon push notifications (no API key; optional source-IP allow-list)")
async def push(request: Request, ctx: Ctx) -> Response:
    raw = await request.body()
    client_ip = request.client.host if request.client else None
    settings = get_marketplace_settings()
    try:
        answer = await run_in_threadpool(
            receive_push, ctx.engine, raw, client_ip=client_ip, settings=settings
        )
    except Exception:  # Ozon must get the documented error shape, never an HTML/problem 500
        log.exception("Ozon push could not be stored")
        answer = error_answer(500, ERROR_UNKNOWN, "internal error; send again later")
    return json_response(answer.body, answer.status)


# ------------------------------------------------------------------------------------------- connection


@router.get("/connection")
def get_connection(ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(connection_view(get_connection_row(session)))


@router.put("/connection", summary="Create or update the Ozon connection (the API key is never returned)")
def put_connection(data: ConnectionIn, ctx: Ctx, who: Admin, idempotency_key: IdemKey = None) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        row, created = save_connection(
            session,
            settings=get_marketplace_settings(),
            name=data.name,
            client_id=data.client_id,
            api_key=data.api_key,
            base_url=data.base_url,
            active=data.active,
        )
        return (201 if created else 200), connection_view(row)

    # The fingerprint must not carry the key itself (idempotency records are stored in clear).
    fingerprint = data.model_dump(mode="json") | {"api_key": bool(data.api_key)}
    return mutate(ctx, who, idempotency_key, ("PUT", "/marketplaces/ozon/connection", fingerprint), work)


@router.get("/sync", summary="Sync status (orders, stocks, returns) and the latest errors")
def get_sync(ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(status_view(session, get_connection_row(session).id))


@router.post("/sync", status_code=202, summary="Queue a sync now (the worker runs it)")
def request_sync(ctx: Ctx, who: Admin, idempotency_key: IdemKey = None) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        connection_id = get_connection_row(session).id
        add_messages(
            session,
            [
                outbox_row(
                    SYNC_TOPIC, "marketplace_connection", connection_id, {"connection_id": connection_id}
                )
            ],
        )
        return 202, {"queued": True}

    return mutate(ctx, who, idempotency_key, ("POST", "/marketplaces/ozon/sync", {}), work)


# -------------------------------------------------------------------------------------------- mappings


@router.get("/warehouses")
def list_warehouse_maps(ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = mappings.list_warehouse_mappings(session, get_connection_row(session).id)
    return json_response({"items": items})


@router.put("/warehouses/{external_id}", summary="Map an Ozon warehouse id to one of our warehouses")
def put_warehouse_map(
    external_id: str, data: WarehouseMapIn, ctx: Ctx, who: WarehouseWriter, idempotency_key: IdemKey = None
) -> Response:
    _check_id(external_id)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        view, created = mappings.put_warehouse_mapping(
            session,
            get_connection_row(session).id,
            external_id=external_id,
            warehouse_code=data.warehouse,
            name=data.name,
            push_stock=data.push_stock,
        )
        return (201 if created else 200), view

    path = f"/marketplaces/ozon/warehouses/{external_id}"
    return mutate(ctx, who, idempotency_key, ("PUT", path, data.model_dump(mode="json")), work)


@router.delete("/warehouses/{external_id}")
def delete_warehouse_map(external_id: str, ctx: Ctx, who: WarehouseWriter) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        mappings.delete_warehouse_mapping(session, get_connection_row(session).id, external_id)
        return 200, {"deleted": external_id}

    return mutate(ctx, who, None, ("DELETE", f"/marketplaces/ozon/warehouses/{external_id}", {}), work)


@router.get("/products")
def list_product_maps(ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = mappings.list_product_mappings(session, get_connection_row(session).id)
    return json_response({"items": items, "default": "an offer_id without a mapping is our SKU"})


@router.put("/products/{offer_id}", summary="Map an Ozon article (offer_id) to one of our SKUs")
def put_product_map(
    offer_id: str, data: ProductMapIn, ctx: Ctx, who: CatalogWriter, idempotency_key: IdemKey = None
) -> Response:
    if not 1 <= len(offer_id) <= 64:
        raise ValidationFailed([FieldError("offer_id", "invalid_length", "1..64 characters")])

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        view, created = mappings.put_product_mapping(
            session,
            get_connection_row(session).id,
            offer_id=offer_id,
            sku=data.sku,
            marketplace_sku=data.marketplace_sku,
        )
        return (201 if created else 200), view

    path = f"/marketplaces/ozon/products/{offer_id}"
    return mutate(ctx, who, idempotency_key, ("PUT", path, data.model_dump(mode="json")), work)


@router.delete("/products/{offer_id}")
def delete_product_map(offer_id: str, ctx: Ctx, who: CatalogWriter) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        mappings.delete_product_mapping(session, get_connection_row(session).id, offer_id)
        return 200, {"deleted": offer_id}

    return mutate(ctx, who, None, ("DELETE", f"/marketplaces/ozon/products/{offer_id}", {}), work)


@router.get("/postings/{posting_number}/label", summary="The package label PDF once downloaded")
def get_label(posting_number: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        pdf = session.scalar(
            select(MarketplacePosting.label_pdf).where(MarketplacePosting.external_id == posting_number)
        )
    if not pdf:
        raise NotFound(f"no label for posting {posting_number} (yet)")
    return Response(pdf, media_type="application/pdf")


def _check_id(external_id: str) -> None:
    if not external_id.isdigit() or len(external_id) > 32:
        raise ValidationFailed([FieldError("external_id", "invalid", "an Ozon warehouse id is a number")])
