"""Pick lists (issue #4): create a wave for a warehouse, list them, open one in bin walking order, record
picks, complete, and print (HTML print view or PDF). The same service calls as ``api/fulfilment.py``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError
from zakaz.fulfilment import picking
from zakaz.fulfilment.documents.html import pick_list_html
from zakaz.fulfilment.documents.pdfs import pick_list_pdf
from zakaz.fulfilment.views import list_pick_lists, pick_list_detail
from zakaz.inventory.models import Warehouse
from zakaz.web import flash
from zakaz.web.deps import Reader, engine_of
from zakaz.web.fulfilment_common import Worker, labels_context, pdf, settings_of
from zakaz.web.i18n import N_
from zakaz.web.templating import render

router = APIRouter()
BASE = "/fulfilment/pick-lists"

#: The print view is a stand-alone document with its own inline <style>: a policy just for it.
PRINT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _url(number: str) -> str:
    return f"{BASE}/{quote(number, safe='')}"


@router.get(BASE, name="pick_lists")
def pick_lists_page(
    request: Request, user: Reader, warehouse: str | None = None, status: str | None = None
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = list_pick_lists(session, warehouse=warehouse or None, status=status or None, limit=100)
        warehouses = session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all()
    context: dict[str, Any] = {
        "nav": "picking",
        "items": items,
        "warehouses": warehouses,
        "warehouse": warehouse or "",
        "status": status or "",
        "default_max_orders": settings_of(request).default_max_orders,
        **labels_context(),
    }
    return render(request, "fulfilment/pick_lists.html", context, user=user)


@router.post(BASE)
def create_pick_list(
    request: Request,
    user: Worker,
    warehouse: Annotated[str, Form(max_length=32)],
    max_orders: Annotated[int | None, Form(ge=1, le=5000)] = None,
) -> Response:
    limit = max_orders or settings_of(request).default_max_orders
    try:
        pick_list = run_in_transaction(
            engine_of(request),
            lambda s: picking.create_pick_list(
                s, warehouse_code=warehouse, max_orders=limit, actor=user.actor
            ),
        )
    except DomainError as exc:
        if exc.extra.get("code") == "nothing_to_pick":
            text = N_("Nothing to pick at %(warehouse)s: no allocated orders are waiting.")
            flash.flash(request, user, "error", text, warehouse=warehouse)
        else:
            flash.flash(request, user, "error", N_("No pick list created: %(detail)s"), detail=exc.detail)
        return RedirectResponse(BASE + "?" + urlencode({"warehouse": warehouse}), status_code=303)
    flash.flash(
        request,
        user,
        "success",
        N_("Pick list %(number)s: %(units)s units for %(orders)s orders. Walk the bins in this order."),
        number=pick_list.number,
        units=pick_list.unit_count,
        orders=pick_list.order_count,
    )
    return RedirectResponse(_url(pick_list.number), status_code=303)


@router.get(BASE + "/{ref}", name="pick_list")
def pick_list_page(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    context = {"nav": "picking", "pl": data, "url": _url(data["number"]), **labels_context()}
    return render(request, "fulfilment/pick_list.html", context, user=user)


@router.post(BASE + "/{ref}/lines/{seq}/pick")
def pick_line(
    request: Request,
    user: Worker,
    ref: str,
    seq: int,
    quantity: Annotated[int, Form(ge=0, le=100_000)] = 0,
    short: Annotated[str, Form()] = "",
) -> Response:
    try:
        pick_list = run_in_transaction(
            engine_of(request),
            lambda s: picking.pick(
                s, pick_list_ref=ref, seq=seq, quantity=quantity, short=bool(short), actor=user.actor
            ),
        )
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not recorded: %(detail)s"), detail=exc.detail)
        return RedirectResponse(_url(ref), status_code=303)
    if short:
        text = N_("Line %(seq)s: %(quantity)s picked, the rest marked missing; the order is put on hold.")
    else:
        text = N_("Line %(seq)s: %(quantity)s picked.")
    flash.flash(request, user, "success", text, seq=seq, quantity=quantity)
    return RedirectResponse(_url(pick_list.number) + f"#line-{seq}", status_code=303)


@router.post(BASE + "/{ref}/complete")
def complete_pick_list(
    request: Request, user: Worker, ref: str, short_remaining: Annotated[str, Form()] = ""
) -> Response:
    try:
        pick_list = run_in_transaction(
            engine_of(request),
            lambda s: picking.complete(
                s, pick_list_ref=ref, actor=user.actor, short_remaining=bool(short_remaining)
            ),
        )
    except DomainError as exc:
        if exc.extra.get("code") == "lines_open":
            text = N_("Some lines are not fully picked: pick them, or tick “mark the rest missing”.")
            flash.flash(request, user, "error", text)
        else:
            flash.flash(request, user, "error", N_("Not completed: %(detail)s"), detail=exc.detail)
        return RedirectResponse(_url(ref), status_code=303)
    text = N_("Pick list %(number)s completed. Take the items to the packing station.")
    flash.flash(request, user, "success", text, number=pick_list.number)
    return RedirectResponse(_url(pick_list.number), status_code=303)


@router.get(BASE + "/{ref}/print.pdf")
def pick_list_print_pdf(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    return pdf(pick_list_pdf(data), f"{data['number']}.pdf")


@router.get(BASE + "/{ref}/print.html")
def pick_list_print_html(request: Request, user: Reader, ref: str) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    headers = {"Content-Security-Policy": PRINT_CSP, "X-Content-Type-Options": "nosniff"}
    return HTMLResponse(pick_list_html(data), headers={**headers, "Cache-Control": "no-store"})
