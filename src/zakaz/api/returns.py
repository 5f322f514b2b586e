"""/api/v1 after-sales (issue #6): return requests, review, receipt, inspection, refunds, the ledger.

Mutations go through ``api.context.mutate`` (one transaction, Idempotency-Key replay). Refunds call the
payment provider between two transactions (``returns.money``) and are idempotent by their ledger key, so
a repeated refund request answers with the refund already made.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.orm import Session

from zakaz import idempotency
from zakaz.api import problems
from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.api.fulfilment import FSettings, Registry
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import FieldError, NotFound, ValidationFailed
from zakaz.orders.views import find_order_id, load_order
from zakaz.returns import labels, money, photos, service
from zakaz.returns.config import ReturnsSettings, get_returns_settings
from zakaz.returns.marketplace import needs_attention
from zakaz.returns.payments import PaymentError, PaymentProvider, build_provider
from zakaz.returns.reasons import Condition
from zakaz.returns.states import ReturnStatus
from zakaz.returns.views import queue, refund_view, return_detail

problems.PROBLEM_TYPES.setdefault(
    "payment-error", (502, "The payment provider failed", "Nothing was refunded twice; try again later.")
)
problems.PROBLEM_TYPES.setdefault(
    "carrier-error", (502, "The carrier refused or failed", "Retry later or choose another carrier.")
)

router = APIRouter(prefix="/api/v1", tags=["returns"])
Writer = Annotated[Principal, Depends(require(Permission.orders_write))]
Warehouse = Annotated[Principal, Depends(require(Permission.stock_write))]
Reader = Annotated[Principal, Depends(require(Permission.read))]


def returns_settings(request: Request) -> ReturnsSettings:
    found: ReturnsSettings | None = getattr(request.app.state, "returns_settings", None)
    return found or get_returns_settings()


def payment_provider(request: Request) -> PaymentProvider:
    """``app.state.payments`` if set (tests: the fake provider), else ``ZAKAZ_RETURNS_PAYMENT_PROVIDER``."""
    found: PaymentProvider | None = getattr(request.app.state, "payments", None)
    if found is None:
        found = build_provider(returns_settings(request).payment_provider)
        request.app.state.payments = found
    return found


RSettings = Annotated[ReturnsSettings, Depends(returns_settings)]
Provider = Annotated[PaymentProvider, Depends(payment_provider)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemIn(_In):
    line_no: int = Field(ge=1)
    quantity: int
    exchange_sku: str | None = Field(default=None, min_length=1, max_length=64)


class ReturnCreate(_In):
    order: str = Field(min_length=1, max_length=64, description="order number or id")
    kind: Literal["return", "exchange"] = "return"
    items: list[ItemIn] = Field(max_length=500)
    reason: str = Field(max_length=32)
    comment: str = Field(default="", max_length=2000)


class NoteIn(_In):
    note: str = Field(default="", max_length=2000)


class TransitIn(_In):
    tracking_number: str | None = Field(default=None, max_length=40)


class ReceiveIn(_In):
    warehouse: str | None = Field(default=None, max_length=32)


class InspectLineIn(_In):
    line_no: int = Field(ge=1)
    condition: Condition
    restock: bool | None = None
    note: str = Field(default="", max_length=500)


class InspectIn(_In):
    lines: list[InspectLineIn] = Field(min_length=1, max_length=500)


class LabelIn(_In):
    reissue: bool = Field(default=False, description="void the label already booked and book a new one")


class RefundIn(_In):
    amount_minor: StrictInt | None = Field(
        default=None, description="operator override in kopecks (an integer); needs override_reason"
    )
    amount: str | None = Field(
        default=None,
        max_length=32,
        description='the override in roubles as typed ("100,50", "1 000.00"); instead of amount_minor',
    )
    override_reason: str = Field(default="", max_length=500)

    def override_minor(self) -> int | None:
        if self.amount is not None and self.amount_minor is not None:
            raise ValidationFailed([FieldError("amount", "one_of", "give amount or amount_minor, not both")])
        if self.amount is not None:
            return money.parse_amount(self.amount, field="amount")
        return self.amount_minor


class WriteOffIn(_In):
    quarantine_id: int = Field(ge=1, description="the quarantined units (``quarantine[].id`` of the return)")
    note: str = Field(default="", max_length=500)


def _detail(session: Session, rma: str, settings: ReturnsSettings) -> dict[str, Any]:
    return return_detail(session, service.load_return(session, rma), settings)


@router.post("/returns", status_code=201, summary="Request a return or an exchange (RMA)")
def create_return(
    body: ReturnCreate, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        ret = service.open_return(
            session,
            order_ref=body.order,
            items=[service.ItemIn(i.line_no, i.quantity, i.exchange_sku) for i in body.items],
            reason=body.reason,
            comment=body.comment,
            kind=body.kind,
            source="api",
            actor=who.actor,
            settings=settings,
            intake=ctx.intake,
        )
        return 201, return_detail(session, ret, settings)

    return mutate(ctx, who, idempotency_key, ("POST", "/returns", body.model_dump()), work)


@router.get("/returns", summary="Returns: open ones oldest first, or all in one status")
def list_returns(
    ctx: Ctx,
    who: Reader,
    settings: RSettings,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Response:
    if status is not None and status not in {s.value for s in ReturnStatus}:  # issue #6: no silent []
        allowed = ", ".join(s.value for s in ReturnStatus)
        raise ValidationFailed([FieldError("status", "unknown_status", f"unknown status; one of: {allowed}")])
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = queue(session, settings, status=status, limit=limit)
        unlinked = needs_attention(session, limit=limit)
    for item in [*items, *unlinked]:
        item["created_at"] = item["created_at"].isoformat()
        item.pop("age", None)
    # issue #6: marketplace returns that are not an RMA yet (unknown posting or article), with the reason
    return json_response({"items": items, "needs_attention": unlinked})


@router.get("/returns/{rma}", summary="One return with lines, history and refunds")
def get_return(rma: str, ctx: Ctx, who: Reader, settings: RSettings) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(_detail(session, rma, settings))


def _action(
    ctx: Any,
    who: Principal,
    key: str | None,
    rma: str,
    name: str,
    body: BaseModel,
    settings: ReturnsSettings,
    act: Any,
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        act(session)
        return 200, _detail(session, rma, settings)

    return mutate(ctx, who, key, ("POST", f"/returns/{rma}/{name}", body.model_dump()), work)


@router.post("/returns/{rma}/approve", summary="Approve after review (instructions are written)")
def approve(
    rma: str, body: NoteIn, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "approve",
        body,
        settings,
        lambda s: service.review(
            s, rma, decision="approve", note=body.note, actor=who.actor, settings=settings, intake=ctx.intake
        ),
    )


@router.post("/returns/{rma}/reject", summary="Reject after review (the note is sent to the shopper)")
def reject(
    rma: str, body: NoteIn, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "reject",
        body,
        settings,
        lambda s: service.review(
            s, rma, decision="reject", note=body.note, actor=who.actor, settings=settings
        ),
    )


@router.post("/returns/{rma}/notes", summary="Add a review note")
def add_note(
    rma: str, body: NoteIn, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "notes",
        body,
        settings,
        lambda s: service.add_note(s, rma, note=body.note, actor=who.actor),
    )


@router.post("/returns/{rma}/in-transit", summary="The shopper sent the parcel")
def in_transit(
    rma: str, body: TransitIn, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "in-transit",
        body,
        settings,
        lambda s: service.mark_in_transit(s, rma, tracking_number=body.tracking_number, actor=who.actor),
    )


@router.post("/returns/{rma}/receive", summary="The parcel arrived at the warehouse")
def receive(
    rma: str, body: ReceiveIn, ctx: Ctx, who: Warehouse, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "receive",
        body,
        settings,
        lambda s: service.receive(
            s, rma, actor=who.actor, settings=settings, intake=ctx.intake, warehouse_code=body.warehouse
        ),
    )


@router.post("/returns/{rma}/inspect", summary="Condition per line: restock or quarantine")
def inspect(
    rma: str, body: InspectIn, ctx: Ctx, who: Warehouse, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    results = [service.InspectIn(ln.line_no, ln.condition, ln.restock, ln.note) for ln in body.lines]
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "inspect",
        body,
        settings,
        lambda s: service.inspect(s, rma, results=results, actor=who.actor),
    )


@router.post("/returns/{rma}/close", summary="Close without refund (withdrawn, or nothing to pay)")
def close(
    rma: str, body: NoteIn, ctx: Ctx, who: Writer, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "close",
        body,
        settings,
        lambda s: service.close(s, rma, note=body.note, actor=who.actor),
    )


@router.post("/returns/{rma}/write-off", summary="Write off quarantined units (a write_off stock movement)")
def write_off(
    rma: str, body: WriteOffIn, ctx: Ctx, who: Warehouse, settings: RSettings, idempotency_key: IdemKey = None
) -> Response:
    return _action(
        ctx,
        who,
        idempotency_key,
        rma,
        "write-off",
        body,
        settings,
        lambda s: service.write_off(
            s, rma, quarantine_id=body.quarantine_id, note=body.note, actor=who.actor
        ),
    )


@router.get(
    "/returns/{rma}/label",
    summary="The return label (PDF, 100 x 150 mm); 404 while there is none",
    response_class=Response,
)
def get_label(rma: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        ret = service.load_return(session, rma)
        pdf = ret.label_pdf if ret.label_status == labels.READY else None
        if not pdf:
            raise NotFound(
                f"{ret.number} has no return label ({ret.label_status or 'instructions only'})", field="rma"
            )
        number = ret.number
    headers = {"Content-Disposition": f'inline; filename="return-label-{number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/returns/{rma}/label", status_code=201, summary="Book the return label now, or re-issue it")
def issue_label(
    rma: str,
    ctx: Ctx,
    who: Writer,
    settings: RSettings,
    registry: Registry,
    fulfilment: FSettings,
    body: LabelIn | None = None,
    idempotency_key: IdemKey = None,
) -> Response:
    """Books through the carrier between two transactions (``returns.labels``); a refusal is a 502 problem
    and a ``label_failed`` event on the return, which stays approved with its instructions."""
    data = body or LabelIn()
    fingerprint = ("POST", f"/returns/{rma}/label", data.model_dump())
    booked = False
    if not _answered_before(ctx, who, idempotency_key, fingerprint):  # a keyed retry never re-issues twice
        requested = run_in_transaction(
            ctx.engine,
            lambda s: labels.request_label(s, rma, reissue=data.reissue, actor=who.actor, settings=settings),
        )
        if requested is not None:
            return_id, attempt = requested
            labels.run_booking(
                ctx.engine, return_id, attempt, registry=registry, fulfilment=fulfilment, actor=who.actor
            )
            booked = True

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        return (201 if booked else 200), _detail(session, rma, settings)

    return mutate(ctx, who, idempotency_key, fingerprint, work)


def _answered_before(ctx: Any, who: Principal, key: str | None, fingerprint: tuple[str, str, Any]) -> bool:
    if key is None:
        return False
    with unit_of_work(ctx.engine, read_only=True) as session:
        found = idempotency.lookup(
            session, scope=str(who.key_id), key=key, fingerprint=idempotency.request_fingerprint(*fingerprint)
        )
    return found is not None


@router.get("/returns/{rma}/refund-preview", summary="What a refund would pay now, explained")
def refund_preview(rma: str, ctx: Ctx, who: Reader, settings: RSettings) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        ret = service.load_return(session, rma)
        p = money.preview(session, ret, load_order(session, ret.order_id), settings)
    return json_response(p.as_dict())


def settle(
    ctx: Any,
    rma: str,
    *,
    actor: str,
    settings: ReturnsSettings,
    provider: PaymentProvider,
    amount_minor: int | None = None,
    override_reason: str = "",
) -> tuple[int, dict[str, Any]]:
    """Prepare (transaction), call the provider (no transaction open), settle (transaction). Web too.

    An exchange whose replacement cost more first collects the shopper's charge the same way."""
    charge = run_in_transaction(ctx.engine, lambda s: money.charge_to_collect(s, rma))
    if charge is not None:
        charge_id, charge_request = charge
        try:
            collected = provider.collect(charge_request)
        except PaymentError as exc:
            why = exc.detail
            run_in_transaction(
                ctx.engine, lambda s: money.settle_charge(s, charge_id, None, actor=actor, error=why)
            )
            raise
        run_in_transaction(
            ctx.engine,
            lambda s: money.settle_charge(s, charge_id, collected, actor=actor, provider=provider.code),
        )
    prepared = run_in_transaction(
        ctx.engine,
        lambda s: money.prepare_refund(
            s,
            rma,
            actor=actor,
            settings=settings,
            provider=provider,
            amount_minor=amount_minor,
            override_reason=override_reason,
        ),
    )
    status = 200 if prepared.done else 201
    if not prepared.done:
        assert (
            prepared.provider is not None and prepared.request is not None and prepared.refund_id is not None
        )
        refund_id = prepared.refund_id
        try:
            result = prepared.provider.refund(prepared.request)
        except PaymentError as exc:
            error = exc.detail
            run_in_transaction(
                ctx.engine, lambda s: money.settle_refund(s, refund_id, None, actor=actor, error=error)
            )
            raise
        run_in_transaction(ctx.engine, lambda s: money.settle_refund(s, refund_id, result, actor=actor))
    with unit_of_work(ctx.engine, read_only=True) as session:
        return status, _detail(session, rma, settings)


@router.post("/returns/{rma}/refund", summary="Refund the return (or settle an exchange); idempotent")
def refund(
    rma: str, body: RefundIn, ctx: Ctx, who: Writer, settings: RSettings, provider: Provider
) -> Response:
    status, detail = settle(
        ctx,
        rma,
        actor=who.actor,
        settings=settings,
        provider=provider,
        amount_minor=body.override_minor(),
        override_reason=body.override_reason,
    )
    return json_response(detail, status)


@router.get("/orders/{ref}/refunds", summary="The refund ledger of one order")
def order_refunds(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        order = load_order(session, find_order_id(session, ref))
        rows = money.ledger(session, order.id)
        paid = money.paid_order(order).paid
        live = [r for r in rows if r.status != "failed"]
        refunded = sum(r.amount_minor for r in live if r.kind != money.CHARGE)
        charged = sum(r.amount_minor for r in live if r.kind == money.CHARGE)  # owed by the shopper
        items = [refund_view(r) for r in rows]
        number = order.number
    return json_response(
        {
            "order": number,
            "paid_minor": paid,
            "refunded_minor": refunded,
            "charged_minor": charged,
            "remaining_minor": paid - refunded,
            "items": items,
        }
    )


# ---- issue #6: photos of a return (multipart upload; the bytes decide the type) -------------------------


def _photo_inputs(files: list[UploadFile]) -> list[photos.PhotoIn]:
    # read one byte more than allowed: enough to refuse a file that is too big without keeping it all
    return [photos.PhotoIn(f.filename or "", f.file.read(photos.MAX_BYTES + 1)) for f in files]


def _photos_body(session: Session, rma: str) -> dict[str, Any]:
    ret = service.load_return(session, rma)
    items = [
        {**p, "url": f"/api/v1/returns/{ret.number}/photos/{p['id']}"}
        for p in photos.list_photos(session, ret.id)
    ]
    return {"rma": ret.number, "photos": items, "max_photos": photos.MAX_PHOTOS}


@router.post(
    "/returns/{rma}/photos",
    status_code=201,
    summary="Add photos to a return (multipart field photos: up to 5 JPEG/PNG/WebP, 5 MB each)",
)
def add_photos(
    rma: str,
    ctx: Ctx,
    who: Writer,
    files: Annotated[list[UploadFile], File(alias="photos")],
    idempotency_key: IdemKey = None,
) -> Response:
    """413 ``too-large`` for a file over 5 MB, 422 for a file that is not an image or for too many photos
    (``errors[].field``: ``photos`` / ``photos[i]``); nothing is stored unless every file is accepted."""
    uploads = _photo_inputs(files)
    photos.check(uploads, existing=0)  # size and type before a transaction opens (the count: inside)
    digests = [hashlib.sha256(p.data).hexdigest() for p in uploads]

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        ret = service.load_return(session, rma, for_update=True)
        photos.add_photos(session, ret, uploads, actor=who.actor)
        return 201, _photos_body(session, rma)

    return mutate(ctx, who, idempotency_key, ("POST", f"/returns/{rma}/photos", {"photos": digests}), work)


@router.get("/returns/{rma}/photos", summary="The photos of a return (metadata and links)")
def list_return_photos(rma: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(_photos_body(session, rma))


@router.get("/returns/{rma}/photos/{photo_id}", summary="One photo of a return", response_class=Response)
def get_return_photo(rma: str, photo_id: int, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        photo = photos.load_photo(session, rma, photo_id)
        data, content_type = photo.data, photo.content_type
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(data, media_type=content_type, headers=headers)
