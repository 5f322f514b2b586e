"""Pure fulfilment rules and states, no database."""

from __future__ import annotations

import pytest

from zakaz.errors import InvalidTransition
from zakaz.fulfilment.rules import (
    DEFAULT_BOXES,
    Demand,
    Item,
    bin_sort_key,
    parcel_weight_g,
    spread,
    suggest_box,
)
from zakaz.fulfilment.states import ShipmentState as S
from zakaz.fulfilment.states import check_transition, derived_order_status, order_path
from zakaz.orders.states import TRANSITIONS, OrderStatus


def test_bins_sort_naturally_and_missing_bins_walk_last() -> None:
    bins = ["B-02-01", None, "A-01-10", "a-01-3", "A-01-02", "A-10-01"]
    assert sorted(bins, key=bin_sort_key) == ["A-01-02", "a-01-3", "A-01-10", "A-10-01", "B-02-01", None]
    assert bin_sort_key("A-1-2") == bin_sort_key("a-01-02")


def test_order_status_follows_its_shipments() -> None:
    assert derived_order_status([S.ready_to_pick, S.ready_to_pick]) is None
    assert derived_order_status([S.picking, S.ready_to_pick]) is OrderStatus.picking
    assert derived_order_status([S.packed, S.picking]) is OrderStatus.picking
    assert derived_order_status([S.packed, S.label_created, S.cancelled]) is OrderStatus.packed
    assert derived_order_status([S.handed_over, S.packed]) is OrderStatus.partially_shipped
    assert derived_order_status([S.in_transit, S.delivered]) is OrderStatus.shipped
    assert derived_order_status([S.delivered, S.delivered, S.cancelled]) is OrderStatus.delivered
    assert derived_order_status([S.cancelled]) is None


def test_order_path_is_forward_only_and_uses_legal_steps() -> None:
    assert order_path(OrderStatus.packed, OrderStatus.shipped) == [OrderStatus.shipped]
    assert order_path(OrderStatus.picking, OrderStatus.partially_shipped) == [OrderStatus.partially_shipped]
    assert order_path(OrderStatus.shipped, OrderStatus.packed) == []
    assert order_path(OrderStatus.on_hold, OrderStatus.picking) == []
    for start, end in [
        (OrderStatus.allocated, OrderStatus.delivered),
        (OrderStatus.picking, OrderStatus.shipped),
    ]:
        current = start
        for step in order_path(start, end):
            assert step in TRANSITIONS[current]
            current = step


def test_shipment_transitions_never_go_backwards() -> None:
    check_transition(S.label_created, S.in_transit)  # a scan before the manifest closes
    check_transition(S.delivery_failed, S.out_for_delivery)  # another attempt
    for current, target in [
        (S.in_transit, S.handed_over),
        (S.delivered, S.in_transit),
        (S.handed_over, S.cancelled),
    ]:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_box_choice_and_weight() -> None:
    small = [Item(1, 300, 100, 100, 100)]
    assert suggest_box(small, DEFAULT_BOXES).code == "S"
    assert suggest_box([Item(2, 900, 200, 150, 150), *small], DEFAULT_BOXES).code == "L"
    assert suggest_box([Item(1, 100, 550, 10, 10)], DEFAULT_BOXES).code == "XL", "longest side decides"
    assert suggest_box([Item(3, 0)], DEFAULT_BOXES).code == "S", "unknown dimensions: smallest box"
    assert parcel_weight_g(small, DEFAULT_BOXES[0]) == 300 + 90


def test_spread_gives_units_to_the_most_urgent_first_and_refuses_too_many() -> None:
    assert spread(3, [Demand(1, 2), Demand(2, 2)]) == {1: 2, 2: 1}
    assert spread(0, [Demand(1, 2)]) == {}
    with pytest.raises(ValueError):
        spread(5, [Demand(1, 2), Demand(2, 2)])
