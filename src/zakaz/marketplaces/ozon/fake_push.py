"""Pure builders of the documented Ozon push bodies (notes 4.2), for tests of the receiving endpoint.

Field order and spelling follow Ozon's published examples exactly (``posting_canceled`` with one "l").
Datetimes are rendered like Ozon's examples: UTC, milliseconds, ``Z``; ``None`` renders as ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def ozon_time(value: datetime | None) -> str:
    """``2021-01-26T06:56:36.294Z``; ``None`` -> ``""`` (Ozon sends empty strings for unknown dates)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def build_push_ping(time: datetime) -> dict[str, Any]:
    return {"message_type": "TYPE_PING", "time": ozon_time(time)}


def build_push_new_posting(
    *,
    posting_number: str,
    products: Sequence[tuple[int, str, int]],  # (sku, offer_id, quantity)
    in_process_at: datetime | None,
    warehouse_id: int,
    shipment_date: datetime | None,
    tpl_integration_type: str = "ozon",
    is_express: bool = False,
    tracking_number: str = "",
    delivery_date_begin: datetime | None = None,
    delivery_date_end: datetime | None = None,
    seller_id: int,
) -> dict[str, Any]:
    """TYPE_NEW_POSTING, the 2026 (extended) variant."""
    return {
        "message_type": "TYPE_NEW_POSTING",
        "posting_number": posting_number,
        "products": [{"sku": sku, "offer_id": offer, "quantity": qty} for sku, offer, qty in products],
        "in_process_at": ozon_time(in_process_at),
        "warehouse_id": warehouse_id,
        "shipment_date": ozon_time(shipment_date),
        "tpl_integration_type": tpl_integration_type,
        "is_express": is_express,
        "tracking_number": tracking_number,
        "delivery_date_begin": ozon_time(delivery_date_begin),
        "delivery_date_end": ozon_time(delivery_date_end),
        "seller_id": seller_id,
    }


def build_push_posting_cancelled(
    *,
    posting_number: str,
    products: Sequence[tuple[int, int]],  # (sku, quantity)
    old_state: str,
    changed_state_date: datetime,
    reason_id: int,
    reason_message: str,
    warehouse_id: int,
    seller_id: int,
) -> dict[str, Any]:
    return {
        "message_type": "TYPE_POSTING_CANCELLED",
        "posting_number": posting_number,
        "products": [{"sku": sku, "quantity": qty} for sku, qty in products],
        "old_state": old_state,
        "new_state": "posting_canceled",
        "changed_state_date": ozon_time(changed_state_date),
        "reason": {"id": reason_id, "message": reason_message},
        "warehouse_id": warehouse_id,
        "seller_id": seller_id,
    }


def build_push_state_changed(
    *, posting_number: str, new_state: str, changed_state_date: datetime, warehouse_id: int, seller_id: int
) -> dict[str, Any]:
    """``new_state`` uses the push vocabulary (``posting_delivered``...), not API statuses."""
    return {
        "message_type": "TYPE_STATE_CHANGED",
        "posting_number": posting_number,
        "new_state": new_state,
        "changed_state_date": ozon_time(changed_state_date),
        "warehouse_id": warehouse_id,
        "seller_id": seller_id,
    }


def build_push_cutoff_date_changed(
    *,
    posting_number: str,
    new_cutoff_date: datetime | None,
    old_cutoff_date: datetime,
    warehouse_id: int,
    seller_id: int,
) -> dict[str, Any]:
    return {
        "message_type": "TYPE_CUTOFF_DATE_CHANGED",
        "posting_number": posting_number,
        "new_cutoff_date": ozon_time(new_cutoff_date),
        "old_cutoff_date": ozon_time(old_cutoff_date),
        "warehouse_id": warehouse_id,
        "seller_id": seller_id,
    }


def build_push_new_posting_for(posting: Mapping[str, Any], *, seller_id: int) -> dict[str, Any]:
    """TYPE_NEW_POSTING for a (fake) v3 posting object."""

    def dt(key: str) -> datetime | None:
        raw = posting.get(key)
        return datetime.fromisoformat(raw) if raw else None

    analytics = posting.get("analytics_data") or {}
    return build_push_new_posting(
        posting_number=posting["posting_number"],
        products=[(p["sku"], p["offer_id"], p["quantity"]) for p in posting["products"]],
        in_process_at=dt("in_process_at"),
        warehouse_id=posting["delivery_method"]["warehouse_id"],
        shipment_date=dt("shipment_date"),
        tpl_integration_type=posting.get("tpl_integration_type", "ozon"),
        is_express=bool(posting.get("is_express")),
        tracking_number=posting.get("tracking_number") or "",
        delivery_date_begin=datetime.fromisoformat(analytics["delivery_date_begin"])
        if analytics.get("delivery_date_begin")
        else None,
        delivery_date_end=datetime.fromisoformat(analytics["delivery_date_end"])
        if analytics.get("delivery_date_end")
        else None,
        seller_id=seller_id,
    )
