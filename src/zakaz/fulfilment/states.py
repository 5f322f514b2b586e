"""Shipment states, the one transition table, and how an order's status follows from its shipments. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from zakaz.carriers.base import ShipmentStatus
from zakaz.errors import InvalidTransition
from zakaz.orders.states import TRANSITIONS as ORDER_TRANSITIONS
from zakaz.orders.states import OrderStatus


class ShipmentState(StrEnum):
    ready_to_pick = "ready_to_pick"
    picking = "picking"
    packed = "packed"
    label_created = "label_created"
    handed_over = "handed_over"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    delivery_failed = "delivery_failed"
    returned_to_sender = "returned_to_sender"
    cancelled = "cancelled"


S = ShipmentState
_CARRIER_LEG = frozenset(
    {S.in_transit, S.out_for_delivery, S.delivered, S.delivery_failed, S.returned_to_sender}
)

TRANSITIONS: dict[ShipmentState, frozenset[ShipmentState]] = {
    S.ready_to_pick: frozenset({S.picking, S.cancelled}),
    S.picking: frozenset({S.packed, S.cancelled}),
    S.packed: frozenset({S.label_created, S.cancelled}),
    # A carrier scan may arrive before the manifest is closed: the parcel has left, so it counts as shipped.
    S.label_created: frozenset({S.handed_over, S.cancelled}) | _CARRIER_LEG,
    S.handed_over: _CARRIER_LEG,
    S.in_transit: _CARRIER_LEG - {S.in_transit},
    S.out_for_delivery: frozenset({S.delivered, S.delivery_failed, S.returned_to_sender}),
    # After a failed attempt the parcel goes back to the hub or out again.
    S.delivery_failed: frozenset({S.in_transit, S.out_for_delivery, S.delivered, S.returned_to_sender}),
    S.delivered: frozenset(),
    S.returned_to_sender: frozenset(),
    S.cancelled: frozenset(),
}

#: Shipments still being worked on in the warehouse (cancelling the order cancels them).
OPEN = frozenset({S.ready_to_pick, S.picking, S.packed, S.label_created})
#: Shipments that can still take more lines (a new pick wave for the same order and warehouse).
EXTENDABLE = frozenset({S.ready_to_pick, S.picking})
#: States in which the parcel has left the warehouse (its reservations are consumed on entering them).
SHIPPED = frozenset({S.handed_over}) | _CARRIER_LEG
#: States whose carrier events we poll for.
TRACKED = frozenset({S.label_created, S.handed_over, S.in_transit, S.out_for_delivery, S.delivery_failed})

TOPICS: dict[ShipmentState, str] = {state: f"shipment.{state.value}" for state in ShipmentState}

#: Carrier statuses are a subset of ours, with the same values.
FROM_CARRIER: dict[ShipmentStatus, ShipmentState] = {status: S(status.value) for status in ShipmentStatus}


def check_transition(current: ShipmentState | str, target: ShipmentState | str) -> None:
    current, target = S(current), S(target)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value, [s.value for s in TRANSITIONS[current]])


def can_transition(current: ShipmentState | str, target: ShipmentState | str) -> bool:
    return S(target) in TRANSITIONS[S(current)]


_ORDER_CHAIN = (
    OrderStatus.allocated,
    OrderStatus.picking,
    OrderStatus.packed,
    OrderStatus.partially_shipped,
    OrderStatus.shipped,
    OrderStatus.delivered,
)


def derived_order_status(
    states: Iterable[ShipmentState | str], *, unpicked: bool = False
) -> OrderStatus | None:
    """What the order's shipments say its status is (None: nothing started, or all cancelled).

    First pick -> picking; all packed -> packed; some shipped -> partially_shipped; all shipped -> shipped;
    all delivered -> delivered. Cancelled shipments do not count. ``unpicked``: the order also has reserved
    units on no shipment yet (a warehouse leg whose pick list is still to be made); that leg counts as one
    ready to pick, so the order is neither packed nor shipped while it waits.
    """
    live = [S(s) for s in states if S(s) is not S.cancelled]
    if not live:
        return None
    if unpicked:
        live.append(S.ready_to_pick)
    if all(s is S.delivered for s in live):
        return OrderStatus.delivered
    shipped = [s in SHIPPED for s in live]
    if all(shipped):
        return OrderStatus.shipped
    if any(shipped):
        return OrderStatus.partially_shipped
    if all(s not in {S.ready_to_pick, S.picking} for s in live):
        return OrderStatus.packed
    if any(s is not S.ready_to_pick for s in live):
        return OrderStatus.picking
    return None


def order_path(current: OrderStatus | str, target: OrderStatus) -> list[OrderStatus]:
    """The forward steps from ``current`` to ``target`` along allocated -> ... -> delivered.

    Empty when ``current`` is off the chain (on hold, cancelled...) or already at or past ``target``: a
    derived status never moves an order backwards. Each step is the furthest legal order transition, so
    packed -> shipped is one step, and an order whose first leg ships while another is still being picked
    goes picking -> partially_shipped (never through a false ``packed``). Delivery always follows shipped
    (partially_shipped -> shipped -> delivered), as packed -> shipped -> delivered does.
    """
    current = OrderStatus(current)
    if current not in _ORDER_CHAIN or _ORDER_CHAIN.index(current) >= _ORDER_CHAIN.index(target):
        return []
    path: list[OrderStatus] = []
    end = _ORDER_CHAIN.index(target)
    while current is not target:
        here = _ORDER_CHAIN.index(current)
        allowed = ORDER_TRANSITIONS[current]
        current = next(s for s in reversed(_ORDER_CHAIN[here + 1 : end + 1]) if s in allowed)
        path.append(current)
    return path
