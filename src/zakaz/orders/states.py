"""Order states and the one transition table. Pure: no database here."""

from __future__ import annotations

from enum import StrEnum

from zakaz.errors import InvalidTransition


class OrderStatus(StrEnum):
    new = "new"
    on_hold = "on_hold"
    confirmed = "confirmed"
    allocated = "allocated"
    backordered = "backordered"
    picking = "picking"
    packed = "packed"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.new: frozenset({S.on_hold, S.confirmed, S.cancelled}),
    S.on_hold: frozenset({S.confirmed, S.cancelled}),
    S.confirmed: frozenset({S.allocated, S.backordered, S.on_hold, S.cancelled}),
    S.backordered: frozenset({S.allocated, S.on_hold, S.cancelled}),
    S.allocated: frozenset({S.picking, S.backordered, S.on_hold, S.cancelled}),
    # A first warehouse leg may leave while another is still being picked (fulfilment derives this).
    S.picking: frozenset({S.packed, S.partially_shipped, S.on_hold, S.cancelled}),
    S.packed: frozenset({S.partially_shipped, S.shipped, S.on_hold, S.cancelled}),
    S.partially_shipped: frozenset({S.shipped}),
    S.shipped: frozenset({S.delivered}),
    S.delivered: frozenset(),
    S.cancelled: frozenset(),
}

#: States in which the shopper's order may still be edited (picking has not started).
EDITABLE = frozenset({S.new, S.on_hold, S.confirmed, S.allocated, S.backordered})

#: States that hold stock reservations.
RESERVING = frozenset({S.allocated, S.backordered, S.picking, S.packed, S.on_hold, S.confirmed})

#: Operator actions and the status each leads to (the UI offers only those allowed now).
ACTIONS: dict[str, OrderStatus] = {
    "confirm": S.confirmed,
    "hold": S.on_hold,
    "release": S.confirmed,
    "cancel": S.cancelled,
}

#: Outbox topic written for each target status.
TOPICS: dict[OrderStatus, str] = {status: f"order.{status.value}" for status in OrderStatus}


def allowed_targets(current: OrderStatus | str) -> frozenset[OrderStatus]:
    return TRANSITIONS[OrderStatus(current)]


def check_transition(current: OrderStatus | str, target: OrderStatus | str) -> None:
    current, target = OrderStatus(current), OrderStatus(target)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value, [s.value for s in TRANSITIONS[current]])


def allowed_actions(current: OrderStatus | str) -> list[str]:
    """Operator actions valid from ``current``; 'release' only from on_hold, 'confirm' only from new."""
    current = OrderStatus(current)
    actions = []
    if current is S.new:
        actions.append("confirm")
    if current is S.on_hold:
        actions.append("release")
    if S.on_hold in TRANSITIONS[current]:
        actions.append("hold")
    if S.cancelled in TRANSITIONS[current]:
        actions.append("cancel")
    return actions
