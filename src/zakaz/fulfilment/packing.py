"""The packing station: scan the shipment, scan each item, choose a box, weigh, close (-> packed).

Closing the box of a marketplace-delivered order (Ozon FBS) also makes the marketplace its carrier
(issue #7): it is shipped on Ozon when the order is packed, never rate-shopped across our carriers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.fulfilment.errors import (
    ItemsMissing,
    NotReadyToPack,
    OverScan,
    UnknownBarcode,
    UnknownBox,
    WrongItem,
)
from zakaz.fulfilment.models import Shipment, ShipmentLine
from zakaz.fulfilment.rules import Box, Item, parcel_weight_g, suggest_box
from zakaz.fulfilment.shipments import Journal, lines_of, lock_shipment, sync_order, transition_shipment
from zakaz.fulfilment.states import ShipmentState
from zakaz.marketplaces import delivery as marketplace
from zakaz.orders.models import Order
from zakaz.orders.states import OrderStatus


@dataclass(frozen=True)
class PackingState:
    shipment: Shipment
    order: Order
    lines: list[ShipmentLine]
    products: dict[int, Product]
    suggested_box: Box

    @property
    def remaining(self) -> int:
        return sum(ln.picked_qty - ln.packed_qty for ln in self.lines)

    def as_json(self) -> dict[str, Any]:
        by_sku: dict[str, dict[str, Any]] = {}
        for ln in self.lines:
            row = by_sku.setdefault(ln.sku, {"sku": ln.sku, "name": ln.name, "quantity": 0, "packed": 0})
            row["quantity"] += ln.quantity - ln.short_qty
            row["packed"] += ln.packed_qty
        items = [{**r, "remaining": r["quantity"] - r["packed"]} for r in by_sku.values()]
        box = self.suggested_box
        return {
            "shipment": self.shipment.number,
            "order": self.order.number,
            "status": self.shipment.status,
            "lines": items,
            "remaining_units": sum(r["remaining"] for r in items),
            "complete": all(r["remaining"] == 0 for r in items),
            "suggested_box": {"code": box.code, "tare_g": box.tare_g},
            "box_code": self.shipment.box_code,
            "weight_g": self.shipment.weight_g,
        }


def _items(lines: Sequence[ShipmentLine], products: dict[int, Product]) -> list[Item]:
    return [
        Item(
            ln.quantity - ln.short_qty,
            products[ln.product_id].weight_g,
            products[ln.product_id].length_mm,
            products[ln.product_id].width_mm,
            products[ln.product_id].height_mm,
        )
        for ln in lines
        if ln.quantity - ln.short_qty
    ]


def _state(session: Session, ref: str, boxes: Sequence[Box]) -> PackingState:
    shipment, order = lock_shipment(session, ref)
    if shipment.status != ShipmentState.picking.value:
        raise NotReadyToPack(
            f"shipment {shipment.number} is {shipment.status}; only a picked shipment can be packed",
            shipment=shipment.number,
            current=shipment.status,
        )
    if order.status in {OrderStatus.on_hold.value, OrderStatus.cancelled.value}:
        raise NotReadyToPack(
            f"order {order.number} is {order.status}", shipment=shipment.number, order=order.number
        )
    lines = lines_of(session, shipment.id)
    unpicked = [ln.sku for ln in lines if ln.picked_qty < ln.quantity - ln.short_qty]
    if unpicked:
        raise NotReadyToPack(
            f"shipment {shipment.number} is not fully picked: {', '.join(sorted(set(unpicked)))}",
            shipment=shipment.number,
            unpicked=sorted(set(unpicked)),
        )
    products = {
        p.id: p
        for p in session.scalars(select(Product).where(Product.id.in_({ln.product_id for ln in lines})))
    }
    return PackingState(shipment, order, lines, products, suggest_box(_items(lines, products), boxes))


def start(session: Session, *, barcode: str, boxes: Sequence[Box]) -> PackingState:
    """The packer scanned the shipment barcode (its number): what goes in the box."""
    return _state(session, barcode, boxes)


def _matches(product: Product, barcode: str) -> bool:
    return barcode in (str(b) for b in product.barcodes) or barcode.upper() == product.sku.upper()


def scan(
    session: Session, *, shipment_ref: str, barcode: str, boxes: Sequence[Box], quantity: int = 1
) -> PackingState:
    """One item scanned into the box; refuses unknown barcodes, items of other shipments and extra units."""
    state = _state(session, shipment_ref, boxes)
    barcode = barcode.strip()
    hits = [ln for ln in state.lines if _matches(state.products[ln.product_id], barcode)]
    if not hits:
        other = session.scalar(
            select(Product.sku).where(
                (cast(Product.barcodes, String).contains(f'"{barcode}"')) | (Product.sku == barcode)
            )
        )
        if other is None:
            raise UnknownBarcode(
                f"no product has barcode {barcode}", barcode=barcode, shipment=state.shipment.number
            )
        raise WrongItem(
            f"{other} is not in shipment {state.shipment.number}",
            barcode=barcode,
            sku=other,
            shipment=state.shipment.number,
        )
    room = sum(ln.picked_qty - ln.packed_qty for ln in hits)
    if quantity > room:
        raise OverScan(
            f"{hits[0].sku}: {room} left to pack in shipment {state.shipment.number}, scanned {quantity}",
            barcode=barcode,
            sku=hits[0].sku,
            remaining=room,
            shipment=state.shipment.number,
        )
    left = quantity
    for ln in hits:
        take = min(left, ln.picked_qty - ln.packed_qty)
        ln.packed_qty += take
        left -= take
    session.flush()
    return state


def close(
    session: Session,
    *,
    shipment_ref: str,
    boxes: Sequence[Box],
    actor: str,
    box_code: str | None = None,
    weight_g: int | None = None,
) -> PackingState:
    """Everything scanned: record box, dimensions and weight (given, or products + box tare) -> packed."""
    state = _state(session, shipment_ref, boxes)
    if state.remaining:
        raise ItemsMissing(
            f"{state.remaining} units of shipment {state.shipment.number} are not scanned yet",
            shipment=state.shipment.number,
            remaining=state.as_json()["lines"],
        )
    if box_code is None:
        box = state.suggested_box
    else:
        found = [b for b in boxes if b.code.upper() == box_code.upper()]
        if not found:
            raise UnknownBox(f"no box {box_code!r}", box=box_code, boxes=[b.code for b in boxes])
        box = found[0]
    shipment = state.shipment
    shipment.box_code = box.code
    shipment.length_mm, shipment.width_mm, shipment.height_mm = box.length_mm, box.width_mm, box.height_mm
    shipment.weight_g = (
        weight_g if weight_g is not None else parcel_weight_g(_items(state.lines, state.products), box)
    )
    marketplace.assign(session, shipment, state.order)  # issue #7: Ozon FBS: Ozon is the carrier
    journal = Journal()
    transition_shipment(
        session,
        shipment,
        ShipmentState.packed,
        order=state.order,
        journal=journal,
        actor=actor,
        data={"box": box.code, "weight_g": shipment.weight_g},
    )
    sync_order(session, state.order, journal=journal, actor=actor)
    journal.flush(session)
    return state
