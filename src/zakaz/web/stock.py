"""Stock: on hand / reserved / available per warehouse and SKU, adjustments with a reason, movements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zakaz.auth.roles import Permission
from zakaz.catalog.models import Product
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import Conflict, DomainError, NotFound
from zakaz.inventory import service as inventory
from zakaz.inventory.models import MovementReason, StockLevel, Warehouse
from zakaz.orders.service import fill_backorders
from zakaz.users.service import SessionUser
from zakaz.web import flash
from zakaz.web.deps import Poster, Reader, engine_of, require
from zakaz.web.i18n import N_
from zakaz.web.labels import MANUAL_MOVEMENT_REASONS
from zakaz.web.templating import render

router = APIRouter()
PAGE = 100


def _levels(session: Session, *, warehouse: str | None, q: str | None, page: int) -> tuple[list[Any], bool]:
    stmt = (
        select(
            Warehouse.code.label("warehouse"),
            Warehouse.name.label("warehouse_name"),
            Product.sku,
            Product.name,
            StockLevel.on_hand,
            StockLevel.reserved,
            (StockLevel.on_hand - StockLevel.reserved).label("available"),
            StockLevel.bin_location,
            StockLevel.updated_at,
        )
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Product, Product.id == StockLevel.product_id)
        .order_by(Product.sku, Warehouse.code)
        .limit(PAGE + 1)
        .offset((page - 1) * PAGE)
    )
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.sku).like(like), func.lower(Product.name).like(like)))
    rows = list(session.execute(stmt).all())
    return rows[:PAGE], len(rows) > PAGE


@router.get("/stock", name="stock")
def stock_page(
    request: Request,
    user: Reader,
    warehouse: str | None = None,
    q: str | None = None,
    page: int = 1,
    adjust_sku: str | None = None,
) -> Response:
    page = max(1, min(page, 10_000))
    q = (q or "").strip()[:64] or None
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "stock"
    with unit_of_work(engine_of(request), read_only=True) as session:
        rows, more = _levels(session, warehouse=warehouse or None, q=q, page=page)
        warehouses = session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all()
    params = {"warehouse": warehouse or "", "q": q or ""}
    context = {
        "nav": "stock",
        "rows": rows,
        "warehouses": warehouses,
        "warehouse": warehouse or "",
        "q": q or "",
        "page": page,
        "more": more,
        "adjust_sku": adjust_sku or "",
        "reasons": MANUAL_MOVEMENT_REASONS,
        "page_url": lambda n: "/stock?" + urlencode({**params, "page": n}),
    }
    return render(request, "stock/_results.html" if partial else "stock/index.html", context, user=user)


def _adjust(
    session: Session,
    *,
    user: SessionUser,
    warehouse: str,
    sku: str,
    delta: int,
    reason: str,
    note: str,
    policy: Any,
) -> tuple[inventory.Adjusted, list[str]]:
    result = inventory.adjust(
        session,
        warehouse_code=warehouse,
        sku=sku,
        delta=delta,
        reason=MovementReason(reason),
        note=note,
        actor=user.actor,
    )
    filled = (
        fill_backorders(session, product_id=result.product_id, actor=user.actor, policy=policy)
        if result.delta > 0
        else []
    )
    return result, filled


@router.post("/stock/adjust")
def adjust(
    request: Request,
    user: Poster,
    warehouse: Annotated[str, Form(max_length=32)],
    sku: Annotated[str, Form(max_length=64)],
    delta: Annotated[int, Form(ge=-1_000_000, le=1_000_000)],
    reason: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require(Permission.stock_write)(user)
    back = "/stock?" + urlencode({"warehouse": warehouse, "q": sku.strip()})
    if reason not in MANUAL_MOVEMENT_REASONS or delta == 0:
        flash.flash(request, user, "error", N_("Choose a reason and enter a change other than zero."))
        return RedirectResponse(back + f"&adjust_sku={sku}", status_code=303)
    policy = request.app.state.ctx.intake.policy
    try:
        result, filled = run_in_transaction(
            engine_of(request),
            lambda s: _adjust(
                s,
                user=user,
                warehouse=warehouse,
                sku=sku.strip(),
                delta=delta,
                reason=reason,
                note=note.strip(),
                policy=policy,
            ),
        )
    except Conflict as exc:
        flash.flash(
            request,
            user,
            "error",
            N_("Not changed: on hand cannot go below the %(reserved)s units reserved for orders."),
            reserved=exc.extra.get("reserved", "?"),
        )
        return RedirectResponse(back, status_code=303)
    except NotFound:
        flash.flash(request, user, "error", N_("Not changed: check the warehouse and the SKU."))
        return RedirectResponse(back, status_code=303)
    except DomainError as exc:
        flash.flash(request, user, "error", N_("Not changed: %(detail)s"), detail=exc.detail)
        return RedirectResponse(back, status_code=303)
    flash.flash(
        request,
        user,
        "success",
        N_("%(sku)s at %(warehouse)s: on hand %(on_hand)s, available %(available)s."),
        sku=result.sku,
        warehouse=result.warehouse_code,
        on_hand=result.on_hand,
        available=result.available,
    )
    if filled:
        flash.flash(
            request,
            user,
            "info",
            N_("Backorders allocated from the new stock: %(orders)s. They are ready for picking."),
            orders=", ".join(filled),
        )
    return RedirectResponse(back, status_code=303)


@router.get("/stock/movements", name="movements")
def movements_page(
    request: Request, user: Reader, warehouse: str | None = None, sku: str | None = None
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = inventory.movements(session, warehouse_code=warehouse or None, sku=sku or None, limit=200)
        warehouses = session.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)).all()
    for item in items:
        item["at"] = datetime.fromisoformat(str(item["at"]))
    return render(
        request,
        "stock/movements.html",
        {
            "nav": "stock",
            "items": items,
            "warehouses": warehouses,
            "warehouse": warehouse or "",
            "sku": sku or "",
        },
        user=user,
    )
