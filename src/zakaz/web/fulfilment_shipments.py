"""Shipments board and end-of-day manifests (issue #4)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from zakaz.auth.roles import Permission
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError
from zakaz.fulfilment import manifests
from zakaz.fulfilment.documents.csvfile import manifest_csv
from zakaz.fulfilment.documents.pdfs import manifest_pdf
from zakaz.fulfilment.models import Shipment
from zakaz.fulfilment.states import ShipmentState
from zakaz.fulfilment.views import list_manifests, list_shipments, manifest_detail
from zakaz.inventory.models import Warehouse
from zakaz.web import flash
from zakaz.web.deps import Reader, engine_of
from zakaz.web.fulfilment_common import CARRIER, Worker, labels_context, pdf, registry
from zakaz.web.i18n import N_
from zakaz.web.templating import can, render

router = APIRouter()
SHIPMENTS = "/fulfilment/shipments"
MANIFESTS = "/fulfilment/manifests"
STATUSES = [s.value for s in ShipmentState]


@router.get(SHIPMENTS, name="shipments")
def shipments_page(
    request: Request,
    user: Reader,
    status: str | None = None,
    carrier: str | None = None,
    warehouse: str | None = None,
    order: str | None = None,
) -> Response:
    status = status if status in STATUSES else None
    order = (order or "").strip()[:64] or None
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = list_shipments(
            session,
            status=status,
            carrier=carrier or None,
            warehouse=warehouse or None,
            order=order,
            limit=200,
        )
        counts: dict[str, int] = {
            status_: n
            for status_, n in session.execute(select(Shipment.status, func.count()).group_by(Shipment.status))
        }
        warehouses = session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all()
        carriers = sorted(
            c for c in session.scalars(select(Shipment.carrier_code).distinct()) if c is not None
        )
    params = {"carrier": carrier or "", "warehouse": warehouse or "", "order": order or ""}
    context: dict[str, Any] = {
        "nav": "shipments",
        "items": items,
        "counts": counts,
        "total": sum(counts.values()),
        "statuses": STATUSES,
        "status": status or "",
        "carrier": carrier or "",
        "carriers": carriers,
        "warehouse": warehouse or "",
        "warehouses": warehouses,
        "order": order or "",
        "tab_url": lambda s: SHIPMENTS + "?" + urlencode({**params, "status": s} if s else params),
        **labels_context(),
    }
    return render(request, "fulfilment/shipments.html", context, user=user)


@router.get(MANIFESTS, name="manifests")
def manifests_page(request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = list_manifests(session, limit=100)
        warehouses = session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all()
        waiting = session.execute(
            select(Shipment.carrier_code, Warehouse.code, func.count())
            .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
            .where(Shipment.status == ShipmentState.label_created.value, Shipment.manifest_id.is_(None))
            .group_by(Shipment.carrier_code, Warehouse.code)
            .order_by(Shipment.carrier_code, Warehouse.code)
        ).all()
    configured = sorted({*(c.code for c in registry(request)), *CARRIER})
    context: dict[str, Any] = {
        "nav": "manifests",
        "items": items,
        "warehouses": warehouses,
        "carriers": configured,
        "waiting": waiting,
        **labels_context(),
    }
    return render(request, "fulfilment/manifests.html", context, user=user)


@router.post(MANIFESTS)
def close_manifest(
    request: Request,
    user: Worker,
    carrier: Annotated[str, Form(max_length=32)],
    warehouse: Annotated[str, Form(max_length=32)],
) -> Response:
    try:
        manifest = run_in_transaction(
            engine_of(request),
            lambda s: manifests.close_manifest(
                s, carrier_code=carrier, warehouse_code=warehouse, actor=user.actor
            ),
        )
    except DomainError as exc:
        if exc.extra.get("code") == "nothing_to_manifest":
            text = N_("No labelled %(carrier)s shipments are waiting at %(warehouse)s.")
            flash.flash(request, user, "error", text, carrier=carrier, warehouse=warehouse)
        else:
            flash.flash(request, user, "error", N_("Manifest not closed: %(detail)s"), detail=exc.detail)
        return RedirectResponse(MANIFESTS, status_code=303)
    flash.flash(
        request,
        user,
        "success",
        N_("Manifest %(number)s closed: %(count)s shipments handed over. Print it for the driver to sign."),
        number=manifest.number,
        count=manifest.shipment_count,
    )
    return RedirectResponse(MANIFESTS + f"/{quote(manifest.number, safe='')}", status_code=303)


@router.get(MANIFESTS + "/{ref}", name="manifest")
def manifest_page(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = manifest_detail(session, manifests.load_manifest(session, ref))
    context = {"nav": "manifests", "m": data, **labels_context()}
    return render(request, "fulfilment/manifest.html", context, user=user)


@router.get(MANIFESTS + "/{ref}/manifest.pdf")
def manifest_pdf_download(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        manifest = manifests.load_manifest(session, ref)
        data = manifest_detail(session, manifest, money=can(user, Permission.money_read))
    return pdf(manifest_pdf(data), f"{data['number']}.pdf")


@router.get(MANIFESTS + "/{ref}/manifest.csv")
def manifest_csv_download(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        manifest = manifests.load_manifest(session, ref)
        data = manifest_detail(session, manifest, money=can(user, Permission.money_read))
    headers = {
        "Content-Disposition": f'attachment; filename="{data["number"]}.csv"',
        "Cache-Control": "no-store",
    }
    return Response(manifest_csv(data), media_type="text/csv; charset=utf-8", headers=headers)
