"""Ozon posting statuses, substatuses and push states -> our order status hint (one table each).

A *hint*, not a command: the sync layer checks it against ``zakaz.orders.states`` (which, for instance, does
not allow ``shipped -> on_hold``). So exceptional states after hand-over (disputes, not accepted at the
sorting centre) keep the hint ``shipped`` and raise ``needs_attention`` instead of moving the order backwards.
"""

from __future__ import annotations

from enum import StrEnum

from zakaz.carriers.base import ShipmentStatus
from zakaz.marketplaces.base import EventKind
from zakaz.orders.states import OrderStatus

S = OrderStatus


class OzonStatus(StrEnum):
    awaiting_verification = "awaiting_verification"
    awaiting_approve = "awaiting_approve"
    awaiting_packaging = "awaiting_packaging"
    awaiting_registration = "awaiting_registration"
    awaiting_deliver = "awaiting_deliver"
    acceptance_in_progress = "acceptance_in_progress"
    not_accepted = "not_accepted"
    arbitration = "arbitration"
    client_arbitration = "client_arbitration"
    driver_pickup = "driver_pickup"
    delivering = "delivering"
    delivered = "delivered"
    cancelled = "cancelled"
    cancelled_from_split_pending = "cancelled_from_split_pending"
    sent_by_seller = "sent_by_seller"
    ship_in_process = "ship_in_process"  # only in one client library's enum


#: Ozon ``status`` -> (our status hint, needs attention).
STATUS_MAP: dict[OzonStatus, tuple[OrderStatus, bool]] = {
    # Exists but Ozon has not confirmed it yet (verification / approval): not ours to assemble.
    OzonStatus.awaiting_verification: (S.new, False),
    OzonStatus.awaiting_approve: (S.new, False),
    # The actionable state: paid and confirmed, assemble it.
    OzonStatus.awaiting_packaging: (S.confirmed, False),
    OzonStatus.ship_in_process: (S.packed, False),
    OzonStatus.awaiting_registration: (S.packed, False),
    OzonStatus.awaiting_deliver: (S.packed, False),
    # Handed over: the parcel has left our warehouse.
    OzonStatus.acceptance_in_progress: (S.shipped, False),
    OzonStatus.driver_pickup: (S.shipped, False),
    OzonStatus.delivering: (S.shipped, False),
    OzonStatus.sent_by_seller: (S.shipped, False),
    OzonStatus.not_accepted: (S.shipped, True),
    OzonStatus.arbitration: (S.shipped, True),
    OzonStatus.client_arbitration: (S.shipped, True),
    OzonStatus.delivered: (S.delivered, False),
    OzonStatus.cancelled: (S.cancelled, False),
    # The parent of a split: its children carry on as separate postings.
    OzonStatus.cancelled_from_split_pending: (S.cancelled, False),
}

_TERMINAL = frozenset({OzonStatus.cancelled, OzonStatus.cancelled_from_split_pending, OzonStatus.delivered})

#: Substatuses that refine the status (everything else follows ``STATUS_MAP``).
SUBSTATUS_OVERRIDES: dict[str, tuple[OrderStatus, bool]] = {
    "ship_failed": (S.packed, True),  # ship call accepted but assembly failed: retry ship
    "posting_registration_error": (S.packed, True),
    "posting_conditionally_delivered": (S.delivered, False),  # rFBS: can no longer be cancelled
}

#: Push ``new_state``/``old_state`` values (substatus-like vocabulary, notes 3.3) -> our hint.
PUSH_STATE_MAP: dict[str, OrderStatus] = {
    "posting_created": S.new,  # covers awaiting_approve AND awaiting_packaging: the lower one
    "posting_awaiting_registration": S.packed,
    "posting_registered": S.packed,
    "posting_transferring_to_delivery": S.packed,
    "posting_in_carriage": S.packed,
    "posting_not_in_carriage": S.packed,
    "posting_acceptance_in_progress": S.shipped,
    "posting_not_in_sort_center": S.shipped,
    "posting_in_arbitration": S.shipped,
    "posting_in_client_arbitration": S.shipped,
    "posting_driver_pick_up": S.shipped,
    "posting_on_way_to_city": S.shipped,
    "posting_transferred_to_courier_service": S.shipped,
    "posting_in_courier_service": S.shipped,
    "posting_on_way_to_pickup_point": S.shipped,
    "posting_in_pickup_point": S.shipped,
    "sent_by_seller": S.shipped,
    "posting_conditionally_delivered": S.delivered,
    "posting_delivered": S.delivered,
    "posting_received": S.delivered,
    "posting_canceled": S.cancelled,  # one "l", as Ozon spells it
    "posting_cancelled": S.cancelled,
}

EVENT_KINDS: dict[str, EventKind] = {
    "TYPE_PING": EventKind.ping,
    "TYPE_NEW_POSTING": EventKind.new_order,
    "TYPE_POSTING_CANCELLED": EventKind.cancelled,
    "TYPE_STATE_CHANGED": EventKind.state_changed,
    "TYPE_CUTOFF_DATE_CHANGED": EventKind.ship_by_changed,
    "TYPE_DELIVERY_DATE_CHANGED": EventKind.delivery_date_changed,
}


#: Issue #7: what Ozon's status says about the parcel of an FBS posting Ozon delivers, in our carrier
#: vocabulary (``fulfilment.tracking`` applies it to the shipment). ``awaiting_deliver`` is our own
#: ``label_created``; disputes and "not accepted" move nothing (the posting is flagged for a human);
#: cancellation goes through the order.
PARCEL_MAP: dict[OzonStatus, ShipmentStatus] = {
    OzonStatus.acceptance_in_progress: ShipmentStatus.HANDED_OVER,  # at Ozon's sorting centre
    OzonStatus.driver_pickup: ShipmentStatus.HANDED_OVER,  # with Ozon's driver
    OzonStatus.delivering: ShipmentStatus.IN_TRANSIT,
    OzonStatus.delivered: ShipmentStatus.DELIVERED,
}
PARCEL_SUBSTATUS_OVERRIDES: dict[str, ShipmentStatus] = {
    "posting_in_pickup_point": ShipmentStatus.OUT_FOR_DELIVERY,  # waiting at the pick-up point
    "posting_conditionally_delivered": ShipmentStatus.DELIVERED,
}


def parcel_status(status: str, substatus: str | None = None) -> ShipmentStatus | None:
    """The parcel's status for an API ``status``/``substatus`` (None: nothing to apply to a shipment)."""
    try:
        known = OzonStatus(status)
    except ValueError:
        return None
    found = PARCEL_MAP.get(known)
    if found is not None and substatus in PARCEL_SUBSTATUS_OVERRIDES:
        return PARCEL_SUBSTATUS_OVERRIDES[substatus]
    return found


def status_hint(status: str, substatus: str | None = None) -> tuple[OrderStatus | None, bool]:
    """(hint, needs_attention) for an API ``status``/``substatus``. Unknown status -> (None, True)."""
    try:
        known = OzonStatus(status)
    except ValueError:
        return None, True
    if known not in _TERMINAL and substatus in SUBSTATUS_OVERRIDES:
        return SUBSTATUS_OVERRIDES[substatus]
    return STATUS_MAP[known]


def push_state_hint(state: str) -> OrderStatus | None:
    return PUSH_STATE_MAP.get(state)


def event_kind(message_type: str) -> EventKind:
    return EVENT_KINDS.get(message_type, EventKind.other)
