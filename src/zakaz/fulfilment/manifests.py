"""End-of-day manifests: every labelled shipment of one carrier at one warehouse is handed over."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.clock import utcnow
from zakaz.errors import Conflict
from zakaz.fulfilment.models import Manifest, Shipment
from zakaz.fulfilment.picking import warehouse_by_code
from zakaz.fulfilment.refs import load_by_ref
from zakaz.fulfilment.shipments import Journal, lock_orders, sync_order, transition_shipment
from zakaz.fulfilment.states import ShipmentState


def close_manifest(session: Session, *, carrier_code: str, warehouse_code: str, actor: str) -> Manifest:
    """Hand over every ``label_created`` shipment of the carrier at the warehouse (consumes their stock).

    Issue #7: a marketplace's courier (Ozon FBS) collects only parcels that carry the marketplace's label,
    so its shipments whose label has not been downloaded yet wait for the next hand-over.
    """
    warehouse = warehouse_by_code(session, warehouse_code)
    rows = session.execute(
        select(Shipment.id, Shipment.label_pdf.is_not(None)).where(
            Shipment.carrier_code == carrier_code,
            Shipment.warehouse_id == warehouse.id,
            Shipment.status == ShipmentState.label_created.value,
            Shipment.manifest_id.is_(None),
        )
    ).all()
    needs_label = carrier_code in MARKETPLACE_CARRIERS
    ids = [sid for sid, labelled in rows if labelled or not needs_label]
    if not ids and rows:
        raise Conflict(
            f"{len(rows)} {carrier_code} shipments at {warehouse_code} wait for the marketplace's label; "
            "hand them over once it is downloaded",
            code="labels_not_ready",
        )
    if not ids:
        raise Conflict(
            f"no labelled {carrier_code} shipments waiting at {warehouse_code}", code="nothing_to_manifest"
        )
    order_ids = session.scalars(select(Shipment.order_id).where(Shipment.id.in_(ids))).all()
    orders = lock_orders(session, order_ids)
    shipments = list(
        session.scalars(select(Shipment).where(Shipment.id.in_(ids)).order_by(Shipment.id).with_for_update())
    )
    now = utcnow()
    manifest = Manifest(
        number=f"MF-{carrier_code.upper()}-{warehouse.code}-{now:%y%m%d}-{secrets.token_hex(2).upper()}",
        carrier_code=carrier_code,
        warehouse_id=warehouse.id,
        shipment_count=len(shipments),
        parcel_count=len(shipments),
        total_weight_g=sum(s.weight_g or 0 for s in shipments),
        actor=actor,
        closed_at=now,
    )
    session.add(manifest)
    session.flush()
    journal = Journal()
    for shipment in shipments:
        shipment.manifest_id = manifest.id
        transition_shipment(
            session,
            shipment,
            ShipmentState.handed_over,
            order=orders[shipment.order_id],
            journal=journal,
            actor=actor,
            data={"manifest": manifest.number},
        )
    for order_id in sorted(orders):
        sync_order(session, orders[order_id], journal=journal, actor=actor)
    journal.flush(session)
    return manifest


def load_manifest(session: Session, ref: str) -> Manifest:
    return load_by_ref(session, Manifest, ref, noun="manifest")
