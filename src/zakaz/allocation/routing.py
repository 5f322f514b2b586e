"""Order routing as a pure function: lines + candidate warehouses + policy -> plan with reasons.

Default policy ``fewest_shipments``: ship the whole order from one warehouse when any can fill it,
choosing the nearest to the customer and then the highest priority (lowest number). Only when no
single warehouse can fill the order is it split, greedily taking the warehouse that covers the most
remaining units (ties: nearest, then priority). Units no warehouse has are backordered per SKU when the
product allows it, otherwise reported as unfillable.

Other policies: ``priority`` (warehouse priority order with spill-over) and ``most_stock`` (the
warehouse with the most of the needed units first, with spill-over).

Every leg says why it was chosen twice: ``reason`` in English (stored, shown by the API and the CLI) and
``reason_code`` + ``reason_params`` (plain JSON values) from which the back office words it in the
reader's language. The same goes for each warehouse considered (``note``; ``wanted_units`` completes
the data its note is built from).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

#: JSON-ready values of a structured reason (numbers, codes, lists of codes, None for "unknown").
ReasonParams: TypeAlias = dict[str, int | float | str | list[str] | None]


class Policy(StrEnum):
    fewest_shipments = "fewest_shipments"
    priority = "priority"
    most_stock = "most_stock"


class LegReason(StrEnum):
    """Why a leg's warehouse was chosen (params: distance_km, priority, and units or preferred_over)."""

    whole_order = "whole_order"  # fills the whole order; preferred_over: the others that could too
    most_remaining_units = "most_remaining_units"  # fewest_shipments split: covers the most units left
    next_by_priority = "next_by_priority"  # priority policy
    most_stock = "most_stock"  # most_stock policy


@dataclass(frozen=True)
class LineDemand:
    line_no: int
    product_id: int
    sku: str
    quantity: int
    allow_backorder: bool = False


@dataclass(frozen=True)
class Candidate:
    warehouse_id: int
    code: str
    priority: int
    distance_km: float | None
    available: Mapping[int, int]  # product_id -> units available now


@dataclass(frozen=True)
class Pick:
    line_no: int
    product_id: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Leg:
    warehouse_id: int
    code: str
    picks: tuple[Pick, ...]
    distance_km: float | None
    reason: str
    reason_code: LegReason
    reason_params: ReasonParams

    @property
    def units(self) -> int:
        return sum(p.quantity for p in self.picks)


@dataclass(frozen=True)
class Shortfall:
    line_no: int
    product_id: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Considered:
    code: str
    priority: int
    distance_km: float | None
    fills_units: int
    fills_all: bool
    chosen: bool
    note: str
    wanted_units: int  # units the order needed: fills_units of wanted_units


@dataclass(frozen=True)
class Plan:
    policy: Policy
    legs: tuple[Leg, ...]
    backordered: tuple[Shortfall, ...] = ()
    unfillable: tuple[Shortfall, ...] = ()
    considered: tuple[Considered, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.backordered and not self.unfillable

    @property
    def split(self) -> bool:
        return len(self.legs) > 1


def _distance_key(c: Candidate) -> float:
    return c.distance_km if c.distance_km is not None else math.inf


def _fills(c: Candidate, remaining: Mapping[int, int]) -> int:
    """Units of ``remaining`` the candidate can give: sum of min(wanted, max(available, 0))."""
    available = c.available
    units = 0
    for p, q in remaining.items():
        a = available.get(p, 0)
        if a < 0:
            a = 0
        units += q if q < a else a
    return units


def _stock_of(c: Candidate, demand: Mapping[int, int]) -> int:
    """Units on hand of the needed products, however many the order needs."""
    return sum(max(c.available.get(p, 0), 0) for p in demand)


def _fmt_km(km: float | None) -> str:
    return "distance unknown" if km is None else f"{km:.0f} km away"


def route(
    lines: Sequence[LineDemand], candidates: Sequence[Candidate], policy: Policy = Policy.fewest_shipments
) -> Plan:
    demand: dict[int, int] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity
    total = sum(demand.values())
    order = _candidate_order(candidates, demand, policy)
    fills = {id(c): _fills(c, demand) for c in candidates}  # of the whole order, per candidate

    if policy is Policy.fewest_shipments:
        whole = [c for c in order if fills[id(c)] == total]
        if whole:
            best = whole[0]
            others = [c.code for c in whole[1:]]
            reason = f"fills the whole order; {_fmt_km(best.distance_km)}; priority {best.priority}"
            if others:
                reason += f"; preferred over {', '.join(others)}"
            params: ReasonParams = {
                "distance_km": best.distance_km,
                "priority": best.priority,
                "preferred_over": others,
            }
            picks = _picks(lines, demand, {line.line_no: line.quantity for line in lines})
            leg = Leg(
                best.warehouse_id, best.code, picks, best.distance_km, reason, LegReason.whole_order, params
            )
            return Plan(policy, (leg,), considered=_considered(candidates, demand, {best.code}, fills))

    legs: list[Leg] = []
    remaining = dict(demand)
    line_left = {line.line_no: line.quantity for line in lines}
    pool = list(order)
    while any(remaining.values()) and pool:
        if policy is Policy.fewest_shipments:
            pool.sort(key=lambda c: (-_fills(c, remaining), _distance_key(c), c.priority, c.code))
        best = pool.pop(0)
        take = {p: min(q, max(best.available.get(p, 0), 0)) for p, q in remaining.items()}
        if not any(take.values()):
            continue
        picks = _picks(lines, take, line_left)
        for p, q in take.items():
            remaining[p] -= q
        units = sum(take.values())
        code = _SPLIT_REASON[policy]
        split_params: ReasonParams = {
            "units": units,
            "distance_km": best.distance_km,
            "priority": best.priority,
        }
        reason = _split_reason(code, best, units)
        legs.append(Leg(best.warehouse_id, best.code, picks, best.distance_km, reason, code, split_params))
    backordered, unfillable = _shortfalls(lines, line_left)
    chosen = {leg.code for leg in legs}
    return Plan(policy, tuple(legs), backordered, unfillable, _considered(candidates, demand, chosen, fills))


def _candidate_order(
    candidates: Sequence[Candidate], demand: Mapping[int, int], policy: Policy
) -> list[Candidate]:
    if policy is Policy.priority:
        return sorted(candidates, key=lambda c: (c.priority, _distance_key(c), c.code))
    if policy is Policy.most_stock:
        return sorted(candidates, key=lambda c: (-_stock_of(c, demand), _distance_key(c), c.priority, c.code))
    return sorted(candidates, key=lambda c: (_distance_key(c), c.priority, c.code))


_SPLIT_REASON = {
    Policy.fewest_shipments: LegReason.most_remaining_units,
    Policy.priority: LegReason.next_by_priority,
    Policy.most_stock: LegReason.most_stock,
}
_SPLIT_HEAD = {
    LegReason.most_remaining_units: "no single warehouse can fill the order; covers the most remaining units",
    LegReason.next_by_priority: "next by warehouse priority",
    LegReason.most_stock: "most stock of the needed units",
}


def _split_reason(code: LegReason, c: Candidate, units: int) -> str:
    return f"{_SPLIT_HEAD[code]} ({units}); {_fmt_km(c.distance_km)}; priority {c.priority}"


def _picks(
    lines: Sequence[LineDemand], take: Mapping[int, int], line_left: dict[int, int]
) -> tuple[Pick, ...]:
    """Spread the units taken per product over the lines still open, in line order (mutates line_left)."""
    left = dict(take)
    picks = []
    for line in lines:
        q = min(line_left[line.line_no], left.get(line.product_id, 0))
        if q > 0:
            picks.append(Pick(line.line_no, line.product_id, line.sku, q))
            left[line.product_id] -= q
            line_left[line.line_no] -= q
    return tuple(picks)


def _shortfalls(
    lines: Sequence[LineDemand], line_left: Mapping[int, int]
) -> tuple[tuple[Shortfall, ...], tuple[Shortfall, ...]]:
    backordered: list[Shortfall] = []
    unfillable: list[Shortfall] = []
    for line in lines:
        q = line_left[line.line_no]
        if q > 0:
            target = backordered if line.allow_backorder else unfillable
            target.append(Shortfall(line.line_no, line.product_id, line.sku, q))
    return tuple(backordered), tuple(unfillable)


def _considered(
    candidates: Sequence[Candidate],
    demand: Mapping[int, int],
    chosen: set[str],
    fills_of: Mapping[int, int],  # id(candidate) -> _fills(candidate, demand)
) -> tuple[Considered, ...]:
    total = sum(demand.values())
    rows = []
    for c in sorted(candidates, key=lambda c: (_distance_key(c), c.priority, c.code)):
        fills = fills_of[id(c)]
        if c.code in chosen:
            note = "chosen"
        elif fills == 0:
            note = "has none of the items"
        elif fills < total:
            note = f"has {fills} of {total} units"
        else:
            note = "could fill the order but ranks lower"
        rows.append(
            Considered(
                c.code, c.priority, c.distance_km, fills, fills == total, c.code in chosen, note, total
            )
        )
    return tuple(rows)
