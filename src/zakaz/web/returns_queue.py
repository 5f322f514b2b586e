"""Issue #6 back office: the returns queue (age, SLA colour), one return: inspection, refund preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from zakaz.api.fulfilment import fulfilment_settings, get_registry
from zakaz.api.returns import payment_provider, returns_settings, settle
from zakaz.auth.roles import Permission
from zakaz.carriers.base import CarrierError
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError, ValidationFailed
from zakaz.orders.views import load_order
from zakaz.returns import labels, money, service
from zakaz.returns.marketplace import needs_attention
from zakaz.returns.reasons import RESELLABLE_CONDITIONS, Condition
from zakaz.returns.states import ReturnStatus
from zakaz.returns.views import queue, return_detail
from zakaz.web import flash
from zakaz.web.deps import Poster, Reader, engine_of, require
from zakaz.web.i18n import N_
from zakaz.web.templating import render

router = APIRouter()

STATUS = {
    "requested": N_("Requested"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "in_transit": N_("In transit"),
    "received": N_("Received"),
    "inspected": N_("Inspected"),
    "refunded": N_("Refunded"),
    "exchanged": N_("Exchanged"),
    "closed": N_("Closed"),
}
CONDITION = {
    "unopened": N_("Unopened"),
    "opened": N_("Opened"),
    "damaged_by_shopper": N_("Damaged by the shopper"),
    "missing": N_("Missing"),
}
SLA_CLASS = {"late": "overdue", "warn": "warn-text", "ok": "", "done": ""}
# issue #6: return labels and marketplace returns that are not an RMA yet
LABEL_STATUS = {
    "pending": N_("Being booked"),
    "ready": N_("Ready"),
    "failed": N_("Carrier refused"),
}
PROBLEM = {
    "unknown_posting": N_("Unknown posting"),
    "order_not_imported": N_("Posting not imported as an order"),
    "unknown_sku": N_("Article not in the order"),
    "quantity": N_("More units than the order has"),
}


@router.get("/returns", name="returns")
def returns_page(request: Request, user: Reader, status: str | None = None) -> Response:
    settings = returns_settings(request)
    if status not in {s.value for s in ReturnStatus}:  # an unknown filter shows the open returns
        status = None
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = queue(session, settings, status=status or None)
        unlinked = needs_attention(session)
    context = {
        "nav": "returns",
        "items": items,
        "unlinked": unlinked,
        "problems": PROBLEM,
        "status": status or "",
        "statuses": STATUS,
        "sla": SLA_CLASS,
    }
    return render(request, "returns/queue.html", context, user=user)


@router.get("/returns/{rma}", name="return_detail")
def return_page(rma: str, request: Request, user: Reader) -> Response:
    settings = returns_settings(request)
    with unit_of_work(engine_of(request), read_only=True) as session:
        ret = service.load_return(session, rma)
        detail = return_detail(session, ret, settings)
        preview = None
        if ret.status == "inspected":
            preview = money.preview(session, ret, load_order(session, ret.order_id), settings).as_dict()
    context = {
        "nav": "returns",
        "r": detail,
        "preview": preview,
        "statuses": STATUS,
        "conditions": CONDITION,
        "resellable": {c.value for c in RESELLABLE_CONDITIONS},
        "sla": SLA_CLASS,
        "label_statuses": LABEL_STATUS,
    }
    return render(request, "returns/detail.html", context, user=user)


@router.get("/returns/{rma}/label.pdf", name="return_label")
def return_label(rma: str, request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        ret = service.load_return(session, rma)
        pdf = ret.label_pdf if ret.label_status == labels.READY else None
        number = ret.number
    if not pdf:
        return _back(number)
    headers = {"Content-Disposition": f'inline; filename="return-label-{number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/returns/{rma}/label")
def issue_label(
    rma: str, request: Request, user: Poster, reissue: Annotated[str, Form(max_length=1)] = ""
) -> Response:
    """Book the return label now (or re-issue it): the carrier call runs between two transactions."""
    require(Permission.orders_write)(user)
    engine, settings = engine_of(request), returns_settings(request)
    try:
        requested = run_in_transaction(
            engine,
            lambda s: labels.request_label(
                s, rma, reissue=reissue == "1", actor=user.actor, settings=settings
            ),
        )
        if requested is not None:
            labels.run_booking(
                engine,
                *requested,
                registry=get_registry(request),
                fulfilment=fulfilment_settings(request),
                actor=user.actor,
            )
    except CarrierError as exc:
        flash.flash(
            request, user, "error", N_("The carrier refused the label: %(detail)s"), detail=exc.detail
        )
        return _back(rma)
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not changed: %(detail)s"), detail=exc.detail)
        return _back(rma)
    flash.flash(request, user, "success", N_("Return label booked for %(rma)s."), rma=rma)
    return _back(rma)


@router.post("/returns/{rma}/close")
def close(
    rma: str, request: Request, user: Poster, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    require(Permission.orders_write)(user)
    return _run(request, user, rma, lambda s: service.close(s, rma, note=note, actor=user.actor))


def _back(rma: str) -> RedirectResponse:
    return RedirectResponse(f"/returns/{rma}", status_code=303)


def _run(request: Request, user: Any, rma: str, work: Any) -> Response:
    try:
        run_in_transaction(engine_of(request), work)
    except ValidationFailed as exc:
        flash.flash(request, user, "error", N_("Not changed: %(detail)s"), detail=exc.detail)
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not changed: %(detail)s"), detail=exc.detail)
    return _back(rma)


@router.post("/returns/{rma}/review")
def review(
    rma: str,
    request: Request,
    user: Poster,
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    require(Permission.orders_write)(user)
    settings, intake = returns_settings(request), request.app.state.ctx.intake
    return _run(
        request,
        user,
        rma,
        lambda s: service.review(
            s, rma, decision=decision, note=note, actor=user.actor, settings=settings, intake=intake
        ),
    )


@router.post("/returns/{rma}/receive")
def receive(rma: str, request: Request, user: Poster) -> Response:
    require(Permission.stock_write)(user)
    settings, intake = returns_settings(request), request.app.state.ctx.intake
    return _run(
        request,
        user,
        rma,
        lambda s: service.receive(s, rma, actor=user.actor, settings=settings, intake=intake),
    )


@router.post("/returns/{rma}/inspect")
async def inspect(rma: str, request: Request, user: Poster) -> Response:
    require(Permission.stock_write)(user)
    form = await request.form()
    results = []
    for key, value in form.items():
        if key.startswith("condition_") and key[10:].isdigit() and str(value) in CONDITION:
            no = int(key[10:])
            restock = form.get(f"restock_{no}")
            results.append(
                service.InspectIn(no, Condition(str(value)), None if restock is None else restock == "1")
            )
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(
        _run, request, user, rma, lambda s: service.inspect(s, rma, results=results, actor=user.actor)
    )


@router.post("/returns/{rma}/write-off")
def write_off(
    rma: str,
    request: Request,
    user: Poster,
    quarantine_id: Annotated[int, Form(ge=1)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Issue #6: quarantined units written off (a ``write_off`` movement and a return event)."""
    require(Permission.stock_write)(user)
    return _run(
        request,
        user,
        rma,
        lambda s: service.write_off(s, rma, quarantine_id=quarantine_id, note=note, actor=user.actor),
    )


@router.post("/returns/{rma}/refund")
def refund(
    rma: str,
    request: Request,
    user: Poster,
    amount: Annotated[str, Form(max_length=32)] = "",
    override_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require(Permission.orders_write)(user)
    try:
        # issue #6: roubles as typed ("100,50", "1 000,00"); unreadable or negative: an error, no change
        amount_minor = money.parse_amount(amount, field="amount")
        settle(
            request.app.state.ctx,
            rma,
            actor=user.actor,
            settings=returns_settings(request),
            provider=payment_provider(request),
            amount_minor=amount_minor,
            override_reason=override_reason,
        )
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not changed: %(detail)s"), detail=exc.detail)
        return _back(rma)
    flash.flash(request, user, "success", N_("Refund recorded for %(rma)s."), rma=rma)
    return _back(rma)
