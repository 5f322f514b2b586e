"""Read side: shipments, pick lists and manifests as the API, CLI, documents and screens show them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.catalog.models import Product
from zakaz.fulfilment.models import Manifest, PickList, PickListLine, Shipment, ShipmentEvent, ShipmentLine
from zakaz.fulfilment.shipments import lines_of
from zakaz.inventory.models import Warehouse
from zakaz.orders.models import Order


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def shipment_summary(s: Shipment, *, order_number: str, warehouse: str) -> dict[str, Any]:
    return {
        "id": s.id,
        "number": s.number,
        "order": order_number,
        "warehouse": warehouse,
        "status": s.status,
        "carrier": s.carrier_code,
        "service": s.service_code,
        "tracking_number": s.tracking_number,
        "price_minor": s.price_minor,
        "currency": s.currency,
        "box": s.box_code,
        "weight_g": s.weight_g,
        "promised_date": _iso(s.promised_date),
        "estimated_delivery_date": _iso(s.estimated_delivery_date),
        "pick_list_id": s.pick_list_id,
        "manifest_id": s.manifest_id,
        "created_at": _iso(s.created_at),
        "updated_at": _iso(s.updated_at),
        "handed_over_at": _iso(s.handed_over_at),
        "delivered_at": _iso(s.delivered_at),
    }


def _names(session: Session, shipment: Shipment) -> tuple[str, str]:
    order_number = session.scalar(select(Order.number).where(Order.id == shipment.order_id)) or ""
    warehouse = session.scalar(select(Warehouse.code).where(Warehouse.id == shipment.warehouse_id)) or ""
    return order_number, warehouse


def label_status(session: Session, shipment: Shipment) -> str | None:
    """``ready`` (a PDF is stored), ``pending`` (booked, the marketplace has not printed it yet) or None."""
    stored = session.scalar(
        select(Shipment.id).where(Shipment.id == shipment.id, Shipment.label_pdf.is_not(None))
    )
    if stored is not None:
        return "ready"
    return "pending" if shipment.tracking_number and shipment.carrier_code in MARKETPLACE_CARRIERS else None


def shipment_detail(session: Session, shipment: Shipment) -> dict[str, Any]:
    order_number, warehouse = _names(session, shipment)
    events = session.scalars(
        select(ShipmentEvent).where(ShipmentEvent.shipment_id == shipment.id).order_by(ShipmentEvent.id)
    )
    return shipment_summary(shipment, order_number=order_number, warehouse=warehouse) | {
        "lines": [
            {
                "sku": ln.sku,
                "name": ln.name,
                "quantity": ln.quantity - ln.short_qty,
                "ordered": ln.quantity,
                "picked": ln.picked_qty,
                "packed": ln.packed_qty,
                "short": ln.short_qty,
            }
            for ln in lines_of(session, shipment.id)
        ],
        "rate_choice": shipment.rate_choice,
        # issue #7: the marketplace (Ozon FBS) books, labels and delivers it; its label may still be pending
        "delivered_by_marketplace": shipment.carrier_code in MARKETPLACE_CARRIERS,
        "label_status": label_status(session, shipment),
        "dimensions_mm": [shipment.length_mm, shipment.width_mm, shipment.height_mm]
        if shipment.length_mm
        else None,
        "events": [
            {
                "type": e.type,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "applied": e.applied,
                "event_id": e.event_id,
                "raw_code": e.raw_code,
                "description": e.description,
                "location": e.location,
                "actor": e.actor,
                "data": e.data,
                "occurred_at": _iso(e.occurred_at),
            }
            for e in events
        ],
    }


def list_shipments(
    session: Session,
    *,
    status: str | None = None,
    warehouse: str | None = None,
    carrier: str | None = None,
    order: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    stmt = (
        select(Shipment, Order.number, Warehouse.code)
        .join(Order, Order.id == Shipment.order_id)
        .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .order_by(Shipment.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(Shipment.status == status)
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    if carrier:
        stmt = stmt.where(Shipment.carrier_code == carrier)
    if order:
        stmt = stmt.where(Order.number == order.upper())
    return [shipment_summary(s, order_number=n, warehouse=w) for s, n, w in session.execute(stmt)]


def pick_list_detail(session: Session, pick_list: PickList) -> dict[str, Any]:
    warehouse = session.get_one(Warehouse, pick_list.warehouse_id)
    lines = list(
        session.scalars(
            select(PickListLine).where(PickListLine.pick_list_id == pick_list.id).order_by(PickListLine.seq)
        )
    )
    allocations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(
            ShipmentLine.pick_list_line_id,
            ShipmentLine.quantity,
            ShipmentLine.picked_qty,
            ShipmentLine.short_qty,
            Shipment.number,
            Shipment.status,
            Order.number.label("order"),
        )
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(ShipmentLine.pick_list_line_id.in_([ln.id for ln in lines]))
        .order_by(Order.ship_by.is_(None), Order.ship_by, Order.created_at, ShipmentLine.id)
    )
    for r in rows:
        allocations[r.pick_list_line_id].append(
            {
                "shipment": r.number,
                "order": r.order,
                "quantity": r.quantity,
                "picked": r.picked_qty,
                "short": r.short_qty,
                "shipment_status": r.status,
            }
        )
    barcodes = {
        p.id: (p.barcodes[0] if p.barcodes else p.sku)
        for p in session.scalars(select(Product).where(Product.id.in_({ln.product_id for ln in lines})))
    }
    return {
        "id": pick_list.id,
        "number": pick_list.number,
        "warehouse": warehouse.code,
        "warehouse_name": warehouse.name,
        "status": pick_list.status,
        "order_count": pick_list.order_count,
        "unit_count": pick_list.unit_count,
        "picked_units": sum(ln.picked_qty for ln in lines),
        "short_units": sum(ln.short_qty for ln in lines),
        "line_count": len(lines),
        "created_at": _iso(pick_list.created_at),
        "completed_at": _iso(pick_list.completed_at),
        "actor": pick_list.actor,
        "lines": [
            {
                "seq": ln.seq,
                "bin": ln.bin_location,
                "sku": ln.sku,
                "name": ln.name,
                "barcode": str(barcodes.get(ln.product_id, ln.sku)),
                "quantity": ln.quantity,
                "picked": ln.picked_qty,
                "short": ln.short_qty,
                "open": ln.quantity - ln.picked_qty - ln.short_qty,
                "orders": allocations[ln.id],
            }
            for ln in lines
        ],
    }


def list_pick_lists(
    session: Session, *, warehouse: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    stmt = (
        select(PickList, Warehouse.code)
        .join(Warehouse, Warehouse.id == PickList.warehouse_id)
        .order_by(PickList.id.desc())
        .limit(limit)
    )
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    if status:
        stmt = stmt.where(PickList.status == status)
    return [
        {
            "id": p.id,
            "number": p.number,
            "warehouse": code,
            "status": p.status,
            "order_count": p.order_count,
            "unit_count": p.unit_count,
            "created_at": _iso(p.created_at),
            "completed_at": _iso(p.completed_at),
        }
        for p, code in session.execute(stmt)
    ]


def manifest_detail(session: Session, manifest: Manifest, *, money: bool = True) -> dict[str, Any]:
    """The manifest and its shipments; ``money=False`` (callers without ``money:read``, e.g. warehouse staff)
    leaves the declared values out altogether, so the PDF and CSV made from it have no such column."""
    warehouse = session.get_one(Warehouse, manifest.warehouse_id)
    rows = session.execute(
        select(Shipment, Order)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.manifest_id == manifest.id)
        .order_by(Shipment.id)
    ).all()
    return {
        "id": manifest.id,
        "number": manifest.number,
        "carrier": manifest.carrier_code,
        "warehouse": warehouse.code,
        "warehouse_name": warehouse.name,
        "warehouse_address": warehouse.address or warehouse.city,
        "closed_at": _iso(manifest.closed_at),
        "actor": manifest.actor,
        "shipment_count": manifest.shipment_count,
        "parcel_count": manifest.parcel_count,
        "total_weight_g": manifest.total_weight_g,
        "shipments": [
            {
                "shipment": s.number,
                "order": o.number,
                "tracking_number": s.tracking_number,
                "service": s.service_code,
                "recipient": o.ship_name or o.contact_name,
                "city": o.ship_city,
                "postcode": o.ship_postcode,
                "weight_g": s.weight_g,
                **({"declared_value_minor": o.total_minor, "currency": o.currency} if money else {}),
                "status": s.status,
            }
            for s, o in rows
        ],
    }


def list_manifests(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    stmt = (
        select(Manifest, Warehouse.code)
        .join(Warehouse, Warehouse.id == Manifest.warehouse_id)
        .order_by(Manifest.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": m.id,
            "number": m.number,
            "carrier": m.carrier_code,
            "warehouse": code,
            "shipment_count": m.shipment_count,
            "total_weight_g": m.total_weight_g,
            "closed_at": _iso(m.closed_at),
        }
        for m, code in session.execute(stmt)
    ]


def packing_slip_data(session: Session, shipment: Shipment) -> dict[str, Any]:
    order = session.get_one(Order, shipment.order_id)
    warehouse = session.get_one(Warehouse, shipment.warehouse_id)
    return {
        "shipment": shipment.number,
        "order": order.number,
        "created_at": _iso(order.created_at),
        "customer": order.ship_name or order.contact_name,
        "phone": order.contact_phone or "",
        "address": ", ".join(
            p
            for p in (
                order.ship_line1,
                order.ship_line2,
                order.ship_city,
                order.ship_region,
                order.ship_postcode,
            )
            if p
        ),
        "warehouse": warehouse.name,
        "return_address": ", ".join(p for p in (warehouse.address, warehouse.city) if p) or warehouse.name,
        "box": shipment.box_code,
        "weight_g": shipment.weight_g,
        "carrier": shipment.carrier_code,
        "tracking_number": shipment.tracking_number,
        "lines": [
            {"sku": ln.sku, "name": ln.name, "quantity": ln.quantity - ln.short_qty}
            for ln in lines_of(session, shipment.id)
            if ln.quantity - ln.short_qty
        ],
    }
