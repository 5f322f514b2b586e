"""Issue #6: the shopper's return form on the tracking page (``/track/{token}/return``).

The signed tracking link is the shopper's authority over the order (like the tracking page itself); the
form offers only delivered units not yet returned, and the same eligibility rules as the API decide.
Photos (up to ``photos.MAX_PHOTOS``, checked by their bytes) go with the form and are stored in the same
transaction as the return; the shopper sees them only through the signed token of the return's order.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from zakaz.api.context import Ctx
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import NotFound, ValidationFailed
from zakaz.orders.views import load_order
from zakaz.returns import photos, service
from zakaz.returns.config import ReturnsSettings, get_returns_settings
from zakaz.returns.labels import PENDING, READY
from zakaz.returns.models import ReturnRequest
from zakaz.returns.strings import REASONS, STATUSES, WORDS
from zakaz.tracking.routes import _lang, _order_id, _page

router = APIRouter(include_in_schema=False)

#: issue #6: the photo part of the shopper's form and status page (the rest of the words: returns/strings.py)
PHOTO_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "photos": "Фотографии (необязательно)",
        "photos_hint": "До 5 снимков JPEG, PNG или WebP, каждый не больше 5 МБ.",
        "your_photos": "Ваши фотографии",
        "photo": "Фото",
    },
    "en": {
        "photos": "Photos (optional)",
        "photos_hint": "Up to 5 JPEG, PNG or WebP pictures, 5 MB each at most.",
        "your_photos": "Your photos",
        "photo": "Photo",
    },
    "zh": {
        "photos": "照片（可选）",
        "photos_hint": "最多 5 张 JPEG、PNG 或 WebP 图片，每张不超过 5 MB。",
        "your_photos": "您的照片",
        "photo": "照片",
    },
}


def _settings(request: Request) -> ReturnsSettings:
    found: ReturnsSettings | None = getattr(request.app.state, "returns_settings", None)
    return found or get_returns_settings()


def _label_view(r: ReturnRequest, token: str, lang: str) -> dict[str, Any]:
    """issue #6: what the shopper sees of a return label (download link, or "being prepared")."""
    ready = r.label_status == READY and r.status == "approved"
    return {
        "label_url": f"/track/{token}/returns/{r.number}/label.pdf?lang={lang}" if ready else None,
        "label_pending": r.label_status == PENDING and r.status == "approved",
        "tracking_number": r.tracking_number if r.label_status == READY else None,
        "arrived": r.arrived_at is not None and r.status in ("approved", "in_transit"),
    }


def _state(session: Session, order_id: int, token: str = "", lang: str = "ru") -> dict[str, Any]:
    order = load_order(session, order_id)
    states, delivered_at = service.line_states(session, order)
    names = {ln.line_no: ln.name for ln in order.lines}
    existing = session.scalars(
        select(ReturnRequest).where(ReturnRequest.order_id == order_id).order_by(ReturnRequest.id)
    ).all()
    return {
        "number": order.number,
        "lines": [
            {"line_no": no, "sku": st.sku, "name": names[no], "returnable": st.returnable}
            for no, st in sorted(states.items())
            if st.returnable > 0 and delivered_at is not None
        ],
        "existing": [
            {
                "rma": r.number,
                "status": r.status,
                "instructions": r.instructions,
                **_label_view(r, token, lang),
                "photos": [  # issue #6: thumbnails through the signed token
                    {"url": f"/track/{token}/returns/{r.number}/photos/{p['id']}", "filename": p["filename"]}
                    for p in photos.list_photos(session, r.id)
                ],
            }
            for r in existing
        ],
    }


def _render(request: Request, token: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    return _page(
        request,
        "return.html",
        status,
        w={**WORDS[lang], **PHOTO_WORDS[lang]},
        max_photos=photos.MAX_PHOTOS,
        statuses=STATUSES[lang],
        reason_labels=REASONS[lang],
        reasons=[r.value for r in _settings(request).reasons],
        back_url=f"/track/{token}?lang={lang}",
        **context,
    )


@router.get("/track/{token}/return")
def return_form(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    order_id = _order_id(token)
    if order_id is None:
        return HTMLResponse("", status_code=404)
    with unit_of_work(ctx.engine, read_only=True) as session:
        state = _state(session, order_id, token, _lang(request))
    return _render(request, token, created=None, errors=[], **state)


@router.post("/track/{token}/return")
async def return_submit(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    order_id = _order_id(token)
    if order_id is None:
        return HTMLResponse("", status_code=404)
    form = await request.form(max_files=photos.MAX_PHOTOS + 15)
    uploads: list[photos.PhotoIn] = []
    for value in form.getlist("photos"):
        if isinstance(value, StarletteUpload) and value.filename:  # an empty file input sends no name
            data = await value.read(photos.MAX_BYTES + 1)  # enough to know it is too big
            uploads.append(photos.PhotoIn(value.filename, data))
    items = []
    for key, value in form.items():
        if (
            key.startswith("qty_")
            and key[4:].isdigit()
            and str(value).strip().isdigit()
            and int(str(value)) > 0
        ):
            items.append(service.ItemIn(int(key[4:]), int(str(value))))
    settings = _settings(request)
    intake = ctx.intake

    def work(session: Session) -> dict[str, Any]:
        ret = service.open_return(
            session,
            order_ref=str(order_id),
            items=items,
            reason=str(form.get("reason", ""))[:32],
            comment=str(form.get("comment", ""))[:2000],
            source="shopper",
            actor="shopper",
            settings=settings,
            intake=intake,
        )
        photos.add_photos(session, ret, uploads, actor="shopper")  # issue #6: checked before any write
        return {"rma": ret.number, "status": ret.status, "instructions": ret.instructions}

    from starlette.concurrency import run_in_threadpool

    status = 201
    try:
        photos.check(uploads)  # issue #6: a bad photo writes nothing (no return without its photos)
        created = await run_in_threadpool(run_in_transaction, ctx.engine, work)
        errors: list[Any] = []
    except photos.PhotoTooLarge as exc:
        created, errors, status = None, exc.errors, 413
    except ValidationFailed as exc:
        created, errors, status = None, exc.errors, 422
    with unit_of_work(ctx.engine, read_only=True) as session:
        state = _state(session, order_id, token, _lang(request))
    if created is not None:  # issue #6: the new return's label state (a label is booked right after)
        created.update(next((r for r in state["existing"] if r["rma"] == created["rma"]), {}))
    return _render(request, token, status, created=created, errors=errors, **state)


@router.get("/track/{token}/returns/{rma}/label.pdf")
def return_label(token: str, rma: str, request: Request, ctx: Ctx) -> Response:
    """issue #6: the shopper's return label; while it is not ready, the return's status page instead."""
    order_id = _order_id(token)
    if order_id is None:
        return HTMLResponse("", status_code=404)
    with unit_of_work(ctx.engine, read_only=True) as session:
        ret = session.scalar(
            select(ReturnRequest).where(
                ReturnRequest.number == rma.strip().upper(), ReturnRequest.order_id == order_id
            )
        )
        pdf = ret.label_pdf if ret is not None and ret.label_status == READY else None
        number = ret.number if ret is not None else None
    if number is None:
        return HTMLResponse("", status_code=404)
    if not pdf:
        return RedirectResponse(f"/track/{token}/return?lang={_lang(request)}", status_code=303)
    headers = {"Content-Disposition": f'inline; filename="return-label-{number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/track/{token}/returns/{rma}/photos/{photo_id}")
def return_photo(token: str, rma: str, photo_id: int, ctx: Ctx) -> Response:
    """issue #6: one photo of a return, only through the signed token of the return's own order."""
    order_id = _order_id(token)
    if order_id is None:
        return HTMLResponse("", status_code=404)
    try:
        with unit_of_work(ctx.engine, read_only=True) as session:
            photo = photos.load_photo(session, rma, photo_id, order_id=order_id)
            data, content_type = photo.data, photo.content_type
    except NotFound:
        return HTMLResponse("", status_code=404)
    return photo_response(data, content_type)


def photo_response(data: bytes, content_type: str) -> Response:
    """Bytes as the type they were sniffed to be; never sniffed again by the browser, never cached shared."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(data, media_type=content_type, headers=headers)
