"""The packing station (issue #4): scan the shipment barcode, then every item (a USB scanner types the code
and Enter), choose a box and weight, close; then create the label and print the packing slip.

Scans go through ``fulfilment.packing`` exactly as the API does; a refusal (wrong item, over-scan, unknown
barcode) changes nothing and is shown with its machine code, which ``static/fulfilment.js`` turns into a
colour flash and a short sound.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError, NotFound
from zakaz.fulfilment import packing, shipping
from zakaz.fulfilment.documents.pdfs import packing_slip_pdf
from zakaz.fulfilment.errors import LabelNotReady, NotReadyToPack
from zakaz.fulfilment.shipments import load_shipment
from zakaz.fulfilment.views import list_shipments, packing_slip_data, shipment_detail
from zakaz.users.service import SessionUser
from zakaz.web import flash
from zakaz.web.deps import Reader, engine_of
from zakaz.web.fulfilment_common import (
    Worker,
    labels_context,
    pdf,
    refusal_code,
    refusal_text,
    registry,
    settings_of,
)
from zakaz.web.i18n import N_, use_locale
from zakaz.web.templating import render

router = APIRouter()
BASE = "/fulfilment/packing"
LABEL_PENDING = N_(  # issue #7
    "Ozon has not printed this label yet (about a minute after the posting is shipped). It is downloaded "
    "automatically: reload this page shortly."
)


def station_url(number: str) -> str:
    return f"{BASE}/{quote(number, safe='')}"


def _station(session: Session, request: Request, ref: str) -> dict[str, Any]:
    """The shipment and, while it can be packed, what goes in the box (or why it cannot be packed)."""
    shipment = load_shipment(session, ref)
    detail = shipment_detail(session, shipment)
    boxes = settings_of(request).box_sizes()
    state: dict[str, Any] | None = None
    blocked: str | None = None
    try:
        state = packing.start(session, barcode=shipment.number, boxes=boxes).as_json()
    except NotReadyToPack as exc:
        blocked = exc.detail
    return {
        "shipment": detail,
        "state": state,
        "blocked": blocked,
        "boxes": boxes,
        "has_label": bool(detail["tracking_number"]) and detail["label_status"] != "pending",  # issue #7
        "label_pending": detail["label_status"] == "pending",  # issue #7: Ozon has not printed it yet
        "marketplace": detail["delivered_by_marketplace"],  # issue #7: booked by Ozon, not by us
    }


def _render_station(
    request: Request,
    user: SessionUser,
    ref: str,
    *,
    result: dict[str, str] | None = None,
    partial: bool = False,
    status: int = 200,
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        context = _station(session, request, ref)
    context.update(nav="packing", result=result, url=station_url(context["shipment"]["number"]))
    context.update(labels_context())
    name = "fulfilment/_pack_state.html" if partial else "fulfilment/packing_station.html"
    return render(request, name, context, user=user, status=status)


@router.get(BASE, name="packing")
def packing_page(request: Request, user: Reader, shipment: str | None = None) -> Response:
    """Scan (or type) the shipment barcode: opens its station. Also lists shipments waiting to be packed."""
    ref = (shipment or "").strip()
    if ref:
        with unit_of_work(engine_of(request), read_only=True) as session:
            try:
                number = load_shipment(session, ref).number
            except NotFound:
                number = None
        if number:
            return RedirectResponse(station_url(number), status_code=303)
        flash.now(
            request,
            "error",
            N_("No shipment %(number)s: scan the barcode on the pick list again."),
            number=ref,
        )
    with unit_of_work(engine_of(request), read_only=True) as session:
        waiting = list_shipments(session, status="picking", limit=100)
        packed = list_shipments(session, status="packed", limit=100)
    context = {"nav": "packing", "waiting": waiting, "packed": packed, "ref": ref, **labels_context()}
    return render(request, "fulfilment/packing.html", context, user=user, status=404 if ref else 200)


@router.get(BASE + "/{ref}", name="packing_station")
def station_page(request: Request, user: Reader, ref: str) -> Response:
    return _render_station(request, user, ref)


@router.post(BASE + "/{ref}/scan")
def scan(
    request: Request,
    user: Worker,
    ref: str,
    barcode: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    code = barcode.strip()
    hx = request.headers.get("hx-request") == "true"
    boxes = settings_of(request).box_sizes()
    result: dict[str, str]
    status = 200
    if not code:
        return _render_station(request, user, ref, partial=hx)
    try:
        state = run_in_transaction(
            engine_of(request),
            lambda s: packing.scan(s, shipment_ref=ref, barcode=code, boxes=boxes).as_json(),
        )
        kind = "done" if state["complete"] else "ok"
        result = {"kind": kind, "barcode": code, "text": ""}
    except DomainError as exc:
        with use_locale(user.locale):
            text = refusal_text(exc)
        result = {"kind": "error", "code": refusal_code(exc), "barcode": code, "text": text}
        result["detail"] = exc.detail
        status = 200 if hx else 409
    return _render_station(request, user, ref, result=result, partial=hx, status=status)


def _optional_int(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    number = int(value) if value.isdigit() else 0
    return number if 1 <= number <= 1_000_000 else -1


@router.post(BASE + "/{ref}/close")
def close_box(
    request: Request,
    user: Worker,
    ref: str,
    box: Annotated[str, Form(max_length=32)] = "",
    weight_g: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    weight = _optional_int(weight_g)
    if weight == -1:
        flash.flash(
            request, user, "error", N_("Enter the weight in grams (a whole number), or leave it empty.")
        )
        return RedirectResponse(station_url(ref), status_code=303)
    boxes = settings_of(request).box_sizes()
    try:
        number = run_in_transaction(
            engine_of(request),
            lambda s: (
                packing.close(
                    s, shipment_ref=ref, boxes=boxes, actor=user.actor, box_code=box or None, weight_g=weight
                ).shipment.number
            ),
        )
    except DomainError as exc:
        with use_locale(user.locale):
            text = refusal_text(exc)
        flash.flash_text(request, user, "error", text)
        return RedirectResponse(station_url(ref), status_code=303)
    flash.flash(
        request, user, "success", N_("Shipment %(number)s is packed. Create the label next."), number=number
    )
    return RedirectResponse(station_url(number), status_code=303)


@router.post("/fulfilment/shipments/{ref}/label")
def create_label(request: Request, user: Worker, ref: str) -> Response:
    """Rate-shop if needed and book the carrier: never inside a transaction (as the API does)."""
    engine, carriers, settings = engine_of(request), registry(request), settings_of(request)
    try:
        prepared = run_in_transaction(
            engine,
            lambda s: shipping.prepare_booking(s, shipment_ref=ref, registry=carriers, settings=settings),
        )
        if prepared is not None:
            booking = shipping.book(carriers, prepared)
            run_in_transaction(
                engine,
                lambda s: shipping.store_booking(
                    s, shipment_id=prepared.shipment_id, booking=booking, actor=user.actor
                ),
            )
    except DomainError as exc:
        with use_locale(user.locale):
            text = refusal_text(exc)
        flash.flash_text(request, user, "error", f"{text} ({exc.detail})")
        return RedirectResponse(station_url(ref), status_code=303)
    flash.flash(request, user, "success", N_("Label created. Print it and stick it on the box."))
    return RedirectResponse(station_url(ref), status_code=303)


@router.get("/fulfilment/shipments/{ref}/label.pdf")
def label_pdf(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        shipment = load_shipment(session, ref)
        if not shipment.label_pdf:
            if isinstance(shipping.missing_label(shipment), LabelNotReady):  # issue #7: say so, no error page
                flash.flash(request, user, "info", LABEL_PENDING)
                return RedirectResponse(station_url(shipment.number), status_code=303)
            raise NotFound(f"shipment {shipment.number} has no label yet")
        return pdf(shipment.label_pdf, f"label-{shipment.number}.pdf")


@router.get("/fulfilment/shipments/{ref}/packing-slip.pdf")
def packing_slip(request: Request, user: Reader, ref: str) -> Response:
    settings = settings_of(request)
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = packing_slip_data(session, load_shipment(session, ref))
    body = packing_slip_pdf(
        data, return_ru=settings.return_instructions_ru, return_en=settings.return_instructions_en
    )
    return pdf(body, f"packing-slip-{data['shipment']}.pdf")
