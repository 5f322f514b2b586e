"""Allocation: gather candidates from the database, ask the pure router, reserve the plan."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.allocation.routing import Candidate, LineDemand, Plan, Policy, route
from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.geo import LatLon, haversine_km
from zakaz.inventory import service as stock
from zakaz.orders.models import Order
from zakaz.orders.rules import short_stock_hold
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition


def plan_lines(
    session: Session, lines: Sequence[LineDemand], destination: LatLon | None, policy: Policy
) -> tuple[Plan, dict[tuple[int, int], int]]:
    """Route ``lines`` over the active warehouses' current stock.

    Returns the plan and an index (warehouse_id, product_id) -> stock_level_id for reserving it.
    """
    warehouses, rows = stock.candidates(session, (line.product_id for line in lines))
    return plan_from(lines, warehouses, rows, destination, policy)


def plan_from(
    lines: Sequence[LineDemand],
    warehouses: Sequence[stock.WarehouseInfo],
    rows: Sequence[stock.StockRow],
    destination: LatLon | None,
    policy: Policy,
) -> tuple[Plan, dict[tuple[int, int], int]]:
    """:func:`plan_lines` over candidates already read (``warehouses`` in id order)."""
    available: dict[int, dict[int, int]] = {w.id: {} for w in warehouses}
    index: dict[tuple[int, int], int] = {}
    for r in rows:
        available[r.warehouse_id][r.product_id] = r.available
        index[(r.warehouse_id, r.product_id)] = r.stock_level_id
    return plan_over(lines, warehouses, available, destination, policy), index


def plan_over(
    lines: Sequence[LineDemand],
    warehouses: Sequence[stock.WarehouseInfo],
    available: Mapping[int, Mapping[int, int]],
    destination: LatLon | None,
    policy: Policy,
) -> Plan:
    """Route ``lines`` over ``warehouses`` with ``available``: warehouse id -> product id -> units (every
    warehouse has an entry)."""
    candidates = [
        Candidate(
            warehouse_id=w.id,
            code=w.code,
            priority=w.priority,
            distance_km=_distance(w.latitude, w.longitude, destination),
            available=available[w.id],
        )
        for w in warehouses
    ]
    return route(lines, candidates, policy)


def _distance(lat: float | None, lon: float | None, destination: LatLon | None) -> float | None:
    if lat is None or lon is None or destination is None:
        return None
    return _km(lat, lon, destination)


@functools.lru_cache(maxsize=4096)  # few warehouses, destinations mostly the bundled cities' centres
def _km(lat: float, lon: float, destination: LatLon) -> float:
    return round(haversine_km(LatLon(lat, lon), destination), 1)


def reserve_items(
    plan: Plan, line_ids: Mapping[int, int], index: Mapping[tuple[int, int], int]
) -> list[stock.ReserveItem]:
    return [
        stock.ReserveItem(
            order_line_id=line_ids[pick.line_no],
            stock_level_id=index[(leg.warehouse_id, pick.product_id)],
            warehouse_id=leg.warehouse_id,
            product_id=pick.product_id,
            quantity=pick.quantity,
        )
        for leg in plan.legs
        for pick in leg.picks
    ]


def plan_to_json(
    plan: Plan, *, decided_at: datetime, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the API and UI show: each leg with its reason, and every warehouse considered.

    ``reason`` is the English text; ``reason_code`` + ``reason_params`` the same reason as data, which
    the back office translates (a leg topped up later lists the later reasons in ``reason_then``).
    """
    legs = [
        {
            "warehouse": leg.code,
            "distance_km": leg.distance_km,
            "reason": leg.reason,
            "reason_code": leg.reason_code.value,
            "reason_params": dict(leg.reason_params),
            "lines": [{"line_no": p.line_no, "sku": p.sku, "quantity": p.quantity} for p in leg.picks],
        }
        for leg in plan.legs
    ]
    if previous:
        legs = _merge_legs(list(previous.get("legs", [])), legs)
    return {
        "policy": plan.policy.value,
        "decided_at": decided_at.isoformat(),
        "split": len(legs) > 1,
        "legs": legs,
        # Flat frozen dataclasses: a copy of their __dict__ is dataclasses.asdict() at a fraction of the cost.
        "backordered": [dict(vars(s)) for s in plan.backordered],
        "unfillable": [dict(vars(s)) for s in plan.unfillable],
        "considered": [dict(vars(c)) for c in plan.considered],
    }


def _merge_legs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_code = {leg["warehouse"]: dict(leg) for leg in old}
    for leg in new:
        if leg["warehouse"] in by_code:
            merged = by_code[leg["warehouse"]]
            merged["lines"] = [*merged["lines"], *leg["lines"]]
            merged["reason"] = f"{merged['reason']}; then {leg['reason']}"
            merged["reason_then"] = [
                *merged.get("reason_then", []),
                {"code": leg["reason_code"], "params": leg["reason_params"]},
            ]
        else:
            by_code[leg["warehouse"]] = leg
    return list(by_code.values())


def order_destination(order: Order) -> LatLon | None:
    if order.ship_latitude is None or order.ship_longitude is None:
        return None
    return LatLon(order.ship_latitude, order.ship_longitude)


def allocate(session: Session, order: Order, *, timeline: Timeline, actor: str, policy: Policy) -> Plan:
    """Reserve what the order still lacks and move it to allocated, backordered or on_hold.

    Works for a freshly confirmed order and for one that already holds part of its stock
    (backorder being filled, release after a manual hold).
    """
    reserved = stock.reserved_by_line(session, order.id)
    products = {
        r.id: r.allow_backorder
        for r in session.execute(
            select(Product.id, Product.allow_backorder).where(
                Product.id.in_([line.product_id for line in order.lines if line.product_id is not None])
            )
        )
    }
    demand = [
        LineDemand(
            line.line_no,
            line.product_id,
            line.sku,
            line.quantity - reserved.get(line.id, 0),
            products[line.product_id],
        )
        for line in order.lines
        if line.product_id is not None and line.quantity - reserved.get(line.id, 0) > 0
    ]
    plan, index = plan_lines(session, demand, order_destination(order), policy)
    if plan.unfillable:
        hold = short_stock_hold((s.sku, s.quantity) for s in plan.unfillable)
        order.hold_reasons = [*order.hold_reasons, hold.as_dict()]
        order.allocation = plan_to_json(
            plan, decided_at=utcnow(), previous=order.allocation if reserved else None
        )
        transition(order, OrderStatus.on_hold, timeline=timeline, actor=actor, reason=hold.detail)
        return plan
    line_ids = {line.line_no: line.id for line in order.lines}
    stock.reserve(
        session, reserve_items(plan, line_ids, index), order_id=order.id, reference=order.number, actor=actor
    )
    order.allocation = plan_to_json(
        plan, decided_at=utcnow(), previous=order.allocation if reserved else None
    )
    target = OrderStatus.backordered if plan.backordered else OrderStatus.allocated
    data = {"legs": [leg.code for leg in plan.legs], "backordered": [s.sku for s in plan.backordered]}
    if order.status != target.value:
        transition(order, target, timeline=timeline, actor=actor, data=data)
    elif plan.legs:
        timeline.record(order, "reallocated", actor=actor, data=data)
    return plan
