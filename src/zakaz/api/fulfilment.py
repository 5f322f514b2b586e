"""/api/v1 fulfilment: shipments, pick lists, packing station, labels, manifests, carrier tracking webhooks.

Mutations go through ``api.context.mutate`` (one transaction, Idempotency-Key replay). Booking a label calls
the carrier between two transactions (see ``fulfilment.shipping``). The carrier webhook is authenticated by
its HMAC signature, not by an API key, and is idempotent by carrier event id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zakaz.api import problems
from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission, allows
from zakaz.auth.service import Principal
from zakaz.carriers.rates import ShoppingPolicy
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import NotFound
from zakaz.fulfilment import manifests, packing, picking, shipping, tracking
from zakaz.fulfilment.config import FulfilmentSettings, get_fulfilment_settings
from zakaz.fulfilment.documents.csvfile import manifest_csv
from zakaz.fulfilment.documents.html import pick_list_html
from zakaz.fulfilment.documents.pdfs import manifest_pdf, packing_slip_pdf, pick_list_pdf
from zakaz.fulfilment.errors import PROBLEMS
from zakaz.fulfilment.registry import CarrierRegistry, build_registry
from zakaz.fulfilment.shipments import Journal, ensure_shipments, load_shipment, lock_orders
from zakaz.fulfilment.views import (
    list_manifests,
    list_pick_lists,
    list_shipments,
    manifest_detail,
    packing_slip_data,
    pick_list_detail,
    shipment_detail,
)
from zakaz.orders.views import find_order_id
from zakaz.returns.tracking import apply_carrier_events  # issue #6

# Fulfilment refusals (wrong item, over-scan, ...) and carrier failures get their own problem types.
problems.PROBLEM_TYPES.update(PROBLEMS)

router = APIRouter(prefix="/api/v1", tags=["fulfilment"])
Worker = Annotated[Principal, Depends(require(Permission.stock_write))]
Reader = Annotated[Principal, Depends(require(Permission.read))]


def get_registry(request: Request) -> CarrierRegistry:
    """``app.state.carriers`` if set (tests, embedding), else built from ``ZAKAZ_FULFILMENT_CARRIERS``."""
    registry: CarrierRegistry | None = getattr(request.app.state, "carriers", None)
    if registry is None:
        registry = build_registry(fulfilment_settings(request).carriers)
        request.app.state.carriers = registry
    return registry


def fulfilment_settings(request: Request) -> FulfilmentSettings:
    found: FulfilmentSettings | None = getattr(request.app.state, "fulfilment_settings", None)
    return found or get_fulfilment_settings()


Registry = Annotated[CarrierRegistry, Depends(get_registry)]
FSettings = Annotated[FulfilmentSettings, Depends(fulfilment_settings)]


def _pdf(body: bytes, filename: str) -> Response:
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


# ---- shipments ---------------------------------------------------------------------------------------------


class ShipmentsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: str = Field(min_length=1, max_length=64, description="order number or id")


@router.get("/shipments", summary="Shipments, newest first")
def get_shipments(
    ctx: Ctx,
    who: Reader,
    status: str | None = None,
    warehouse: str | None = None,
    carrier: str | None = None,
    order: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        items = list_shipments(
            session, status=status, warehouse=warehouse, carrier=carrier, order=order, limit=limit
        )
    return json_response({"items": items})


@router.post(
    "/shipments", status_code=201, summary="Create the shipments of an allocated order (one per warehouse)"
)
def create_shipments(
    body: ShipmentsCreate, ctx: Ctx, who: Worker, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        order_id = find_order_id(session, body.order)
        orders = lock_orders(session, [order_id])
        if order_id not in orders:
            raise NotFound(f"no order {body.order}")
        journal = Journal()
        shipments = ensure_shipments(session, list(orders.values()), journal=journal, actor=who.actor)
        journal.flush(session)
        return (201 if shipments else 200), {"items": [shipment_detail(session, s) for s in shipments]}

    return mutate(ctx, who, idempotency_key, ("POST", "/shipments", body.model_dump()), work)


@router.get("/shipments/{ref}", summary="One shipment with lines, rate choice and history")
def get_shipment(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(shipment_detail(session, load_shipment(session, ref)))


class RateShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: ShoppingPolicy | None = None
    promised_date: date | None = None


@router.post(
    "/shipments/{ref}/rate-shop", summary="Quote all carriers, choose, store the choice and why others lost"
)
def rate_shop(
    ref: str,
    ctx: Ctx,
    who: Worker,
    registry: Registry,
    settings: FSettings,
    body: RateShopIn | None = None,
    idempotency_key: IdemKey = None,
) -> Response:
    data = body or RateShopIn()

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        shipment = shipping.rate_shop(
            session,
            shipment_ref=ref,
            registry=registry,
            settings=settings,
            policy=data.policy,
            promised_date=data.promised_date,
        )
        return 200, shipment_detail(session, shipment)

    return mutate(
        ctx, who, idempotency_key, ("POST", f"/shipments/{ref}/rate-shop", data.model_dump(mode="json")), work
    )


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: str | None = None
    service: str | None = None


@router.post("/shipments/{ref}/label", status_code=201, summary="Book the carrier and create the label")
def create_label(
    ref: str,
    ctx: Ctx,
    who: Worker,
    registry: Registry,
    settings: FSettings,
    body: LabelIn | None = None,
    idempotency_key: IdemKey = None,
) -> Response:
    data = body or LabelIn()
    prepared = run_in_transaction(
        ctx.engine,
        lambda s: shipping.prepare_booking(
            s,
            shipment_ref=ref,
            registry=registry,
            settings=settings,
            carrier_code=data.carrier,
            service_code=data.service,
        ),
    )
    booking = shipping.book(registry, prepared) if prepared else None

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        if booking is None or prepared is None:
            return 200, shipment_detail(session, load_shipment(session, ref))
        shipment = shipping.store_booking(
            session, shipment_id=prepared.shipment_id, booking=booking, actor=who.actor
        )
        return 201, shipment_detail(session, shipment)

    return mutate(ctx, who, idempotency_key, ("POST", f"/shipments/{ref}/label", data.model_dump()), work)


@router.get("/shipments/{ref}/label.pdf", summary="The carrier label (PDF, 100 x 150 mm)")
def get_label(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        shipment = load_shipment(session, ref)
        if not shipment.label_pdf:
            raise shipping.missing_label(shipment)  # issue #7: 409 label-not-ready while Ozon prints it
        return _pdf(shipment.label_pdf, f"label-{shipment.number}.pdf")


@router.get("/shipments/{ref}/packing-slip.pdf", summary="Packing slip (PDF, A4, Russian and English)")
def get_packing_slip(ref: str, ctx: Ctx, who: Reader, settings: FSettings) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        data = packing_slip_data(session, load_shipment(session, ref))
    body = packing_slip_pdf(
        data, return_ru=settings.return_instructions_ru, return_en=settings.return_instructions_en
    )
    return _pdf(body, f"packing-slip-{data['shipment']}.pdf")


# ---- pick lists --------------------------------------------------------------------------------------------


class PickListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse: str = Field(min_length=1, max_length=32)
    max_orders: int | None = Field(default=None, ge=1, le=5000)


class PickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=0, le=100_000)
    short: bool = Field(default=False, description="the bin has no more: the rest of the line is missing")


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    short_remaining: bool = False


@router.post("/pick-lists", status_code=201, summary="Create a wave pick list for a warehouse")
def create_pick_list(
    body: PickListCreate, ctx: Ctx, who: Worker, settings: FSettings, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        pick_list = picking.create_pick_list(
            session,
            warehouse_code=body.warehouse,
            max_orders=body.max_orders or settings.default_max_orders,
            actor=who.actor,
        )
        return 201, pick_list_detail(session, pick_list)

    return mutate(ctx, who, idempotency_key, ("POST", "/pick-lists", body.model_dump()), work)


@router.get("/pick-lists", summary="Pick lists, newest first")
def get_pick_lists(
    ctx: Ctx,
    who: Reader,
    warehouse: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(
            {"items": list_pick_lists(session, warehouse=warehouse, status=status, limit=limit)}
        )


@router.get("/pick-lists/{ref}", summary="A pick list in walking order, with the orders each unit goes to")
def get_pick_list(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(pick_list_detail(session, picking.load_pick_list(session, ref)))


@router.get("/pick-lists/{ref}/print.pdf", summary="Printable pick list (PDF with Code128 barcodes)")
def get_pick_list_pdf(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    return _pdf(pick_list_pdf(data), f"{data['number']}.pdf")


@router.get("/pick-lists/{ref}/print.html", summary="Printable pick list (HTML print view)")
def get_pick_list_html(ref: str, ctx: Ctx, who: Reader) -> HTMLResponse:
    with unit_of_work(ctx.engine, read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    return HTMLResponse(pick_list_html(data))


@router.post("/pick-lists/{ref}/lines/{seq}/pick", summary="Record units picked (partial), or a short pick")
def pick_line(
    ref: str, seq: int, body: PickIn, ctx: Ctx, who: Worker, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        pick_list = picking.pick(
            session, pick_list_ref=ref, seq=seq, quantity=body.quantity, short=body.short, actor=who.actor
        )
        return 200, pick_list_detail(session, pick_list)

    return mutate(
        ctx, who, idempotency_key, ("POST", f"/pick-lists/{ref}/lines/{seq}/pick", body.model_dump()), work
    )


@router.post("/pick-lists/{ref}/complete", summary="Close the pick list")
def complete_pick_list(
    ref: str, ctx: Ctx, who: Worker, body: CompleteIn | None = None, idempotency_key: IdemKey = None
) -> Response:
    data = body or CompleteIn()

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        pick_list = picking.complete(
            session, pick_list_ref=ref, actor=who.actor, short_remaining=data.short_remaining
        )
        return 200, pick_list_detail(session, pick_list)

    return mutate(ctx, who, idempotency_key, ("POST", f"/pick-lists/{ref}/complete", data.model_dump()), work)


# ---- packing station ---------------------------------------------------------------------------------------


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    barcode: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=1000)


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    barcode: str = Field(min_length=1, max_length=64, description="the shipment barcode (its number)")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    box: str | None = Field(default=None, max_length=32)
    weight_g: int | None = Field(default=None, ge=1, le=1_000_000)


@router.get("/packing/boxes", summary="Box sizes the packing station offers")
def get_boxes(who: Reader, settings: FSettings) -> Response:
    return json_response({"items": [b.model_dump() for b in settings.boxes]})


@router.post("/packing/start", summary="Scan the shipment barcode: what goes in the box")
def packing_start(body: StartIn, ctx: Ctx, who: Worker, settings: FSettings) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(
            packing.start(session, barcode=body.barcode, boxes=settings.box_sizes()).as_json()
        )


@router.post("/packing/{shipment}/scan", summary="Scan one item into the box; returns what remains")
def packing_scan(
    shipment: str, body: ScanIn, ctx: Ctx, who: Worker, settings: FSettings, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        state = packing.scan(
            session,
            shipment_ref=shipment,
            barcode=body.barcode,
            quantity=body.quantity,
            boxes=settings.box_sizes(),
        )
        return 200, state.as_json()

    return mutate(ctx, who, idempotency_key, ("POST", f"/packing/{shipment}/scan", body.model_dump()), work)


@router.post("/packing/{shipment}/close", summary="Box, weight, packed; the packing slip is ready")
def packing_close(
    shipment: str,
    ctx: Ctx,
    who: Worker,
    settings: FSettings,
    body: CloseIn | None = None,
    idempotency_key: IdemKey = None,
) -> Response:
    data = body or CloseIn()

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        state = packing.close(
            session,
            shipment_ref=shipment,
            boxes=settings.box_sizes(),
            actor=who.actor,
            box_code=data.box,
            weight_g=data.weight_g,
        )
        number = state.shipment.number
        return 200, state.as_json() | {"packing_slip": f"/api/v1/shipments/{number}/packing-slip.pdf"}

    return mutate(ctx, who, idempotency_key, ("POST", f"/packing/{shipment}/close", data.model_dump()), work)


# ---- manifests ---------------------------------------------------------------------------------------------
# Declared values are money: keys without ``money:read`` (warehouse) get manifests without them
# (JSON, PDF, CSV).


def _sees_money(who: Principal) -> bool:
    return allows(who.role, Permission.money_read)


class ManifestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: str = Field(min_length=1, max_length=32)
    warehouse: str = Field(min_length=1, max_length=32)


@router.post("/manifests", status_code=201, summary="Close the day's manifest: its shipments are handed over")
def close_manifest(body: ManifestIn, ctx: Ctx, who: Worker, idempotency_key: IdemKey = None) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        manifest = manifests.close_manifest(
            session, carrier_code=body.carrier, warehouse_code=body.warehouse, actor=who.actor
        )
        return 201, manifest_detail(session, manifest, money=_sees_money(who))

    return mutate(ctx, who, idempotency_key, ("POST", "/manifests", body.model_dump()), work)


@router.get("/manifests", summary="Manifests, newest first")
def get_manifests(ctx: Ctx, who: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response({"items": list_manifests(session, limit=limit)})


@router.get("/manifests/{ref}", summary="One manifest with its shipments")
def get_manifest(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        manifest = manifests.load_manifest(session, ref)
        return json_response(manifest_detail(session, manifest, money=_sees_money(who)))


@router.get("/manifests/{ref}/manifest.pdf", summary="Manifest for the driver to sign (PDF)")
def get_manifest_pdf(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        manifest = manifests.load_manifest(session, ref)
        data = manifest_detail(session, manifest, money=_sees_money(who))
    return _pdf(manifest_pdf(data), f"{data['number']}.pdf")


@router.get("/manifests/{ref}/manifest.csv", summary="Manifest as CSV (UTF-8, semicolons)")
def get_manifest_csv(ref: str, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        manifest = manifests.load_manifest(session, ref)
        data = manifest_detail(session, manifest, money=_sees_money(who))
    headers = {"Content-Disposition": f'attachment; filename="{data["number"]}.csv"'}
    return Response(manifest_csv(data), media_type="text/csv; charset=utf-8", headers=headers)


# ---- carrier tracking webhook ------------------------------------------------------------------------------


@router.post("/carriers/{carrier}/tracking", summary="Carrier tracking webhook (HMAC-signed, no API key)")
async def tracking_webhook(carrier: str, request: Request, ctx: Ctx, registry: Registry) -> Response:
    adapter = registry.get(carrier)
    body = await request.body()
    events = adapter.events_from_webhook(body, dict(request.headers))

    def apply() -> tracking.TrackingResult:
        return run_in_transaction(
            ctx.engine,
            # issue #6: scans of return labels go to their returns, the rest to the shipments
            lambda s: apply_carrier_events(s, events, carrier_code=adapter.code, actor=f"carrier:{carrier}"),
        )

    result = await run_in_threadpool(apply)
    return json_response(result.as_json())
