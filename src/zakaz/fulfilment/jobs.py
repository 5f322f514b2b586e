"""Work for the outbox worker and the periodic scheduler (registered by the worker, not here).

* ``cancel_booking(payload, registry)``: handler for ``shipment.cancelled`` messages; cancels the carrier
  booking of a labelled shipment whose order was cancelled (idempotent: the contract's cancel is safe to
  retry; nothing to do without a booking id).
* ``poll_tracking_job(engine, registry=...)`` (in ``tracking.py``): periodic tracking poll.
"""

from __future__ import annotations

from typing import Any

from zakaz.carriers.base import Booking
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS
from zakaz.clock import utcnow
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.fulfilment.tracking import poll_tracking, poll_tracking_job

__all__ = ["cancel_booking", "poll_tracking", "poll_tracking_job"]


def cancel_booking(payload: dict[str, Any], registry: CarrierRegistry) -> bool:
    """Cancel the booking named in a ``shipment.cancelled`` payload; False when there was none."""
    booking_id, carrier = payload.get("booking_id"), payload.get("carrier")
    if not booking_id or not carrier:
        return False
    if str(carrier) in MARKETPLACE_CARRIERS:
        return False  # issue #7: Ozon FBS: the order.cancelled job cancels the posting on the marketplace
    registry.get(str(carrier)).cancel(
        Booking(
            carrier_code=str(carrier),
            service_code="",
            booking_id=str(booking_id),
            tracking_number=str(payload.get("tracking_number") or ""),
            label=b"",
            created_at=utcnow(),
        )
    )
    return True
