"""Back office: the Ozon settings page (connection, warehouse and SKU mappings, sync status). Admins only
change the connection, check it and ask for a sync; warehouse / SKU mappings follow the API's permissions.
Every POST checks CSRF.

Issue #7 additions: "Check connection" (``/v1/roles``), a warehouse picker filled from Ozon's warehouse list
(one call a minute at Ozon, so the answer is kept in this process for ten minutes), the Client-Id checked
like the API does (422 with the message in the form), "Sync now" (queues the sync job like the API) and
deleting mappings.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.auth.roles import Permission
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError
from zakaz.inventory.models import Warehouse
from zakaz.marketplaces import mappings
from zakaz.marketplaces.base import MarketplaceError
from zakaz.marketplaces.connections import (
    BASE_URL_PATTERN,
    CLIENT_ID_PATTERN,
    OzonWarehouse,
    check_key,
    connection_view,
    find_connection,
    interactive_client,
    list_ozon_warehouses,
    load_connection,
    save_connection,
)
from zakaz.marketplaces.jobs import SYNC_TOPIC
from zakaz.marketplaces.models import MarketplaceConnection
from zakaz.marketplaces.ozon.errors import OzonApiError, RateLimited
from zakaz.marketplaces.settings import get_marketplace_settings
from zakaz.marketplaces.syncstate import status_view
from zakaz.outbox import add_messages, outbox_row
from zakaz.web import flash
from zakaz.web.deps import Poster, Reader, engine_of, require
from zakaz.web.i18n import N_
from zakaz.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/settings/ozon"

CLIENT_ID_INVALID = N_("A Client ID is 1 to 64 Latin letters, digits, “-” or “_”.")
BASE_URL_INVALID = N_("The API address starts with http:// or https://.")

#: Ozon answers one warehouse list a minute: the last answer per connection, kept for this long.
WAREHOUSES_KEEP_S = 600.0
_warehouses: dict[tuple[int, str, str], tuple[float, list[OzonWarehouse]]] = {}
_warehouses_lock = threading.Lock()


def _back(anchor: str = "") -> RedirectResponse:
    return RedirectResponse(PAGE + anchor, status_code=303)


def _cache_key(row: MarketplaceConnection) -> tuple[int, str, str]:
    return row.id, row.base_url, row.client_id


def _cached_warehouses(
    row: MarketplaceConnection, max_age: float = WAREHOUSES_KEEP_S
) -> list[OzonWarehouse] | None:
    with _warehouses_lock:
        hit = _warehouses.get(_cache_key(row))
    if hit is None or time.monotonic() - hit[0] > max_age:
        return None
    return hit[1]


def _context(session: Session, **extra: Any) -> dict[str, Any]:
    row = find_connection(session)
    warehouse_maps = mappings.list_warehouse_mappings(session, row.id) if row else []
    context: dict[str, Any] = {
        "nav": "ozon",
        "connection": connection_view(row) if row else None,
        "status": status_view(session, row.id, errors=20) if row else None,
        "warehouse_maps": warehouse_maps,
        "mapped": {m["external_id"]: m["warehouse"] for m in warehouse_maps},
        "product_maps": mappings.list_product_mappings(session, row.id) if row else [],
        "warehouses": session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all(),
        "ozon_warehouses": _cached_warehouses(row) if row else None,
        "form": {},
        "form_errors": {},
    }
    return context | extra


@router.get(PAGE, name="ozon_settings")
def ozon_page(request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        context = _context(session)
    return render(request, "marketplaces/ozon.html", context, user=user)


@router.post(f"{PAGE}/connection")
def save(
    request: Request,
    user: Poster,
    client_id: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=255)] = "",
    api_key: Annotated[str, Form(max_length=255)] = "",
    base_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require(Permission.admin)(user)
    client_id, base_url = client_id.strip(), base_url.strip()
    errors: dict[str, str] = {}
    if not (len(client_id) <= 64 and re.fullmatch(CLIENT_ID_PATTERN, client_id)):
        errors["client_id"] = CLIENT_ID_INVALID
    if base_url and not re.match(BASE_URL_PATTERN, base_url):
        errors["base_url"] = BASE_URL_INVALID
    if errors:  # the same rules as the API's ConnectionIn: 422, the message beside the field
        form = {"name": name, "client_id": client_id, "base_url": base_url}
        with unit_of_work(engine_of(request), read_only=True) as session:
            context = _context(session, form=form, form_errors=errors)
        return render(request, "marketplaces/ozon.html", context, user=user, status=422)
    try:
        run_in_transaction(
            engine_of(request),
            lambda s: save_connection(
                s,
                settings=get_marketplace_settings(),
                name=name.strip(),
                client_id=client_id,
                api_key=api_key.strip() or None,
                base_url=base_url or None,
            ),
        )
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not saved: %(detail)s"), detail=exc.detail)
        return _back()
    with _warehouses_lock:
        _warehouses.clear()  # another key or address may see other warehouses
    flash.flash(request, user, "success", N_("Ozon connection saved."))
    return _back()


def _ozon_error(exc: Exception) -> str:
    if isinstance(exc, OzonApiError):
        code = "" if exc.code is None else f", code {exc.code}"
        return f"HTTP {exc.http_status}{code}: {exc.message}"
    if isinstance(exc, DomainError):
        return exc.detail
    return str(exc)


def _client_for(request: Request) -> Any:
    """The stored connection with its key, or None when Ozon is not connected yet."""
    with unit_of_work(engine_of(request), read_only=True) as session:
        row = find_connection(session)
        if row is None:
            return None
        return load_connection(session, row.id, get_marketplace_settings())


@router.post(f"{PAGE}/check")
def check_connection(request: Request, user: Poster) -> Response:
    """Ask Ozon which roles the stored key has: proves the Client-Id, the key and the address."""
    require(Permission.admin)(user)
    try:
        connection = _client_for(request)
        if connection is None:
            flash.flash(request, user, "error", N_("Connect Ozon first."))
            return _back()
        with interactive_client(connection) as client:
            roles = check_key(client)
    except (MarketplaceError, DomainError, ValueError) as exc:
        flash.flash(request, user, "error", N_("Ozon refused the check: %(detail)s"), detail=_ozon_error(exc))
        return _back()
    names = ", ".join(roles.roles) or "—"
    flash.flash(
        request, user, "success", N_("Connection works. Roles of the API key: %(roles)s"), roles=names
    )
    if roles.expires_at:
        flash.flash(request, user, "info", N_("The API key expires at %(date)s."), date=roles.expires_at)
    return _back()


@router.post(f"{PAGE}/warehouses/load")
def load_warehouses(request: Request, user: Poster) -> Response:
    """Fetch Ozon's warehouse list (or reuse the answer of the last minute) and show the picker."""
    require(Permission.warehouses_write)(user)
    try:
        connection = _client_for(request)
        if connection is None:
            flash.flash(request, user, "error", N_("Connect Ozon first."))
            return _back()
        key = (connection.id, connection.base_url, connection.client_id)
        with _warehouses_lock:
            hit = _warehouses.get(key)
        if hit is None or time.monotonic() - hit[0] > 60.0:
            with interactive_client(connection) as client:
                found = list_ozon_warehouses(client)
            with _warehouses_lock:
                _warehouses[key] = (time.monotonic(), found)
    except RateLimited:
        flash.flash(
            request, user, "error", N_("Ozon gives the warehouse list once a minute; try again shortly.")
        )
        return _back("#ozon-warehouses")
    except (MarketplaceError, DomainError, ValueError) as exc:
        flash.flash(
            request,
            user,
            "error",
            N_("Could not load Ozon's warehouses: %(detail)s"),
            detail=_ozon_error(exc),
        )
        return _back("#ozon-warehouses")
    with unit_of_work(engine_of(request), read_only=True) as session:
        context = _context(session)
    return render(request, "marketplaces/ozon.html", context, user=user)


@router.post(f"{PAGE}/sync")
def sync_now(request: Request, user: Poster) -> Response:
    """Queue a sync for the worker, as ``POST /api/v1/marketplaces/ozon/sync`` does."""
    require(Permission.admin)(user)

    def unit(session: Session) -> None:
        row = find_connection(session)
        if row is None:
            raise DomainError("connect Ozon first")
        payload = {"connection_id": row.id}
        add_messages(session, [outbox_row(SYNC_TOPIC, "marketplace_connection", row.id, payload)])

    try:
        run_in_transaction(engine_of(request), unit)
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not saved: %(detail)s"), detail=exc.detail)
        return _back()
    flash.flash(request, user, "success", N_("Sync queued: the worker runs it in a moment."))
    return _back("#ozon-sync")


@router.post(f"{PAGE}/warehouses")
def map_warehouse(
    request: Request,
    user: Poster,
    external_id: Annotated[str, Form(min_length=1, max_length=32, pattern=r"^[0-9]+$")],
    warehouse: Annotated[str, Form(min_length=1, max_length=32)],
    name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    require(Permission.warehouses_write)(user)
    return _mapping(
        request,
        user,
        lambda s, cid: mappings.put_warehouse_mapping(
            s, cid, external_id=external_id, warehouse_code=warehouse, name=name.strip()
        ),
    )


@router.post(f"{PAGE}/warehouses/delete")
def unmap_warehouse(
    request: Request, user: Poster, external_id: Annotated[str, Form(min_length=1, max_length=32)]
) -> Response:
    require(Permission.warehouses_write)(user)
    return _mapping(
        request,
        user,
        lambda s, cid: mappings.delete_warehouse_mapping(s, cid, external_id),
        done=N_("Mapping deleted."),
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


@router.post(f"{PAGE}/products/delete")
def unmap_product(
    request: Request, user: Poster, offer_id: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    require(Permission.catalog_write)(user)
    return _mapping(
        request,
        user,
        lambda s, cid: mappings.delete_product_mapping(s, cid, offer_id),
        done=N_("Mapping deleted."),
    )


def _mapping(request: Request, user: Any, work: Any, done: str = N_("Mapping saved.")) -> Response:
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
    flash.flash(request, user, "success", done)
    return _back()
