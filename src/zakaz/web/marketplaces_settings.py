"""Back office: the Ozon settings page (connection, warehouse and SKU mappings, sync status). Admins only
change the connection; warehouse / SKU mappings follow the API's permissions. Every POST checks CSRF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from zakaz.auth.roles import Permission
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError
from zakaz.inventory.models import Warehouse
from zakaz.marketplaces import mappings
from zakaz.marketplaces.connections import connection_view, find_connection, save_connection
from zakaz.marketplaces.settings import get_marketplace_settings
from zakaz.marketplaces.syncstate import status_view
from zakaz.web import flash
from zakaz.web.deps import Poster, Reader, engine_of, require
from zakaz.web.i18n import N_
from zakaz.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/settings/ozon"


def _back() -> RedirectResponse:
    return RedirectResponse(PAGE, status_code=303)


@router.get(PAGE, name="ozon_settings")
def ozon_page(request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        row = find_connection(session)
        context: dict[str, Any] = {
            "nav": "ozon",
            "connection": connection_view(row) if row else None,
            "status": status_view(session, row.id, errors=20) if row else None,
            "warehouse_maps": mappings.list_warehouse_mappings(session, row.id) if row else [],
            "product_maps": mappings.list_product_mappings(session, row.id) if row else [],
            "warehouses": session.execute(
                select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)
            ).all(),
        }
    return render(request, "marketplaces/ozon.html", context, user=user)


@router.post(f"{PAGE}/connection")
def save(
    request: Request,
    user: Poster,
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    name: Annotated[str, Form(max_length=255)] = "",
    api_key: Annotated[str, Form(max_length=255)] = "",
    base_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require(Permission.admin)(user)
    try:
        run_in_transaction(
            engine_of(request),
            lambda s: save_connection(
                s,
                settings=get_marketplace_settings(),
                name=name.strip(),
                client_id=client_id,
                api_key=api_key.strip() or None,
                base_url=base_url.strip() or None,
            ),
        )
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not saved: %(detail)s"), detail=exc.detail)
        return _back()
    flash.flash(request, user, "success", N_("Ozon connection saved."))
    return _back()


@router.post(f"{PAGE}/warehouses")
def map_warehouse(
    request: Request,
    user: Poster,
    external_id: Annotated[str, Form(min_length=1, max_length=32, pattern=r"^[0-9]+$")],
    warehouse: Annotated[str, Form(min_length=1, max_length=32)],
) -> Response:
    require(Permission.warehouses_write)(user)
    return _mapping(
        request,
        user,
        lambda s, cid: mappings.put_warehouse_mapping(
            s, cid, external_id=external_id, warehouse_code=warehouse
        ),
    )


@router.post(f"{PAGE}/products")
def map_product(
    request: Request,
    user: Poster,
    offer_id: Annotated[str, Form(min_length=1, max_length=64)],
    sku: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    require(Permission.catalog_write)(user)
    return _mapping(
        request,
        user,
        lambda s, cid: mappings.put_product_mapping(s, cid, offer_id=offer_id.strip(), sku=sku.strip()),
    )


def _mapping(request: Request, user: Any, work: Any) -> Response:
    def unit(session: Any) -> None:
        row = find_connection(session)
        if row is None:
            raise DomainError("connect Ozon first")
        work(session, row.id)

    try:
        run_in_transaction(engine_of(request), unit)
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not saved: %(detail)s"), detail=exc.detail)
        return _back()
    flash.flash(request, user, "success", N_("Mapping saved."))
    return _back()
