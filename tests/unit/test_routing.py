"""Routing is pure: these tests need no database."""

from __future__ import annotations

from zakaz.allocation.routing import Candidate, LineDemand, Policy, route


def wh(code: str, km: float | None, priority: int, **stock: int) -> Candidate:
    ids = {"a": 1, "b": 2, "c": 3}
    return Candidate(
        warehouse_id=hash(code) % 1000,
        code=code,
        priority=priority,
        distance_km=km,
        available={ids[k]: v for k, v in stock.items()},
    )


A = LineDemand(1, 1, "A", 2)
B = LineDemand(2, 2, "B", 1)


def test_whole_order_from_nearest_warehouse_that_can_fill_it() -> None:
    plan = route([A, B], [wh("FAR", 2000, 1, a=5, b=5), wh("NEAR", 30, 50, a=5, b=5), wh("PART", 5, 1, a=5)])
    assert [leg.code for leg in plan.legs] == ["NEAR"]
    assert plan.complete and not plan.split
    assert "fills the whole order" in plan.legs[0].reason and "30 km" in plan.legs[0].reason
    notes = {c.code: c.note for c in plan.considered}
    assert notes["PART"] == "has 2 of 3 units"
    assert notes["FAR"] == "could fill the order but ranks lower"


def test_priority_breaks_distance_ties_and_unknown_distance_ranks_last() -> None:
    plan = route([A], [wh("X", None, 1, a=5), wh("Y", 100, 9, a=5), wh("Z", 100, 2, a=5)])
    assert plan.legs[0].code == "Z"


def test_split_only_when_no_single_warehouse_can_fill() -> None:
    plan = route([A, B], [wh("ONLY_A", 10, 1, a=5), wh("ONLY_B", 20, 1, b=5), wh("NONE", 1, 1)])
    assert plan.split
    assert {leg.code: [(p.sku, p.quantity) for p in leg.picks] for leg in plan.legs} == {
        "ONLY_A": [("A", 2)],
        "ONLY_B": [("B", 1)],
    }
    assert plan.complete


def test_split_takes_the_warehouse_covering_most_units_first() -> None:
    line = LineDemand(1, 1, "A", 10)
    plan = route([line], [wh("SMALL_NEAR", 1, 1, a=3), wh("BIG_FAR", 900, 1, a=8)])
    assert [(leg.code, leg.units) for leg in plan.legs] == [("BIG_FAR", 8), ("SMALL_NEAR", 2)]


def test_shortfall_backordered_when_allowed_else_unfillable() -> None:
    allowed = LineDemand(1, 1, "A", 5, allow_backorder=True)
    strict = LineDemand(2, 2, "B", 3)
    plan = route([allowed, strict], [wh("W", 10, 1, a=2, b=1)])
    assert [(s.sku, s.quantity) for s in plan.backordered] == [("A", 3)]
    assert [(s.sku, s.quantity) for s in plan.unfillable] == [("B", 2)]
    assert not plan.complete


def test_same_product_on_two_lines_is_spread_across_legs_without_double_counting() -> None:
    lines = [LineDemand(1, 1, "A", 2), LineDemand(2, 1, "A", 3)]
    plan = route(lines, [wh("W1", 10, 1, a=3), wh("W2", 20, 1, a=2)])
    picks = [(leg.code, p.line_no, p.quantity) for leg in plan.legs for p in leg.picks]
    assert picks == [("W1", 1, 2), ("W1", 2, 1), ("W2", 2, 2)]
    assert plan.complete


def test_priority_policy_spills_over_in_priority_order() -> None:
    line = LineDemand(1, 1, "A", 6)
    plan = route([line], [wh("P2", 1, 2, a=10), wh("P1", 500, 1, a=4)], Policy.priority)
    assert [(leg.code, leg.units) for leg in plan.legs] == [("P1", 4), ("P2", 2)]


def test_most_stock_policy_prefers_the_fullest_warehouse() -> None:
    plan = route([A], [wh("LOW", 1, 1, a=2), wh("HIGH", 999, 9, a=50)], Policy.most_stock)
    assert [leg.code for leg in plan.legs] == ["HIGH"]


def test_negative_or_missing_stock_never_allocated() -> None:
    plan = route([A], [wh("NEG", 1, 1, a=-3), wh("EMPTY", 2, 1)])
    assert plan.legs == ()
    assert [(s.sku, s.quantity) for s in plan.unfillable] == [("A", 2)]
