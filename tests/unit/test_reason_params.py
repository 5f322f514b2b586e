"""Holds and routing reasons carry their values as data (params) beside the English text."""

from __future__ import annotations

import json

from zakaz.allocation.routing import Candidate, LegReason, LineDemand, Policy, route
from zakaz.allocation.service import plan_to_json
from zakaz.clock import utcnow
from zakaz.orders import rules
from zakaz.orders.rules import CustomerHistory, HoldPolicy, HoldReason

POLICY = HoldPolicy(first_order_hold_above_minor=50_000_00, history_multiplier=5, history_min_orders=3)


def test_value_holds_keep_the_english_detail_and_add_amounts_in_minor_units() -> None:
    [first] = rules.value_holds(60_000_00, CustomerHistory(0, 0), POLICY, currency="CNY")
    assert first.as_dict() == {
        "code": "first_order_high_value",
        "detail": "first order worth 60000.00 is above the review limit 50000.00",
        "params": {"total_minor": 60_000_00, "limit_minor": 50_000_00, "currency": "CNY"},
    }
    [above] = rules.value_holds(6_000_00, CustomerHistory(3, 3_000_00), POLICY)
    assert above.code is HoldReason.value_above_history
    assert above.as_dict()["params"] == {
        "total_minor": 6_000_00,
        "average_minor": 1_000_00,
        "multiplier": 5,
        "currency": "RUB",
    }


def test_other_holds_carry_their_skus_places_and_quantities() -> None:
    where = rules.unlocatable_hold("Нигдеград", "Неведомая обл.")
    assert where.detail == "no coordinates and unknown city/region: Нигдеград, Неведомая обл."
    assert where.params == {"city": "Нигдеград", "region": "Неведомая обл."}
    assert rules.unlocatable_hold("Нигдеград", "обл.", where="Нигдеград").detail.endswith(": Нигдеград")
    short = rules.short_stock_hold([("SKU-1", 85), ("SKU-2", 1)])
    assert short.detail == "not enough stock for SKU-1 x85, SKU-2 x1"
    assert short.params == {"items": [{"sku": "SKU-1", "quantity": 85}, {"sku": "SKU-2", "quantity": 1}]}
    unknown = rules.unknown_sku_hold(["NOPE", "GONE"])
    assert unknown.detail == "SKUs not in the catalog: NOPE, GONE" and unknown.params == {
        "skus": ["NOPE", "GONE"]
    }
    assert rules.payment_failed_hold().as_dict() == {
        "code": "payment_failed",
        "detail": "the payment failed",
        "params": {},
    }
    assert rules.manual_hold("call the buyer").as_dict()["detail"] == "call the buyer"
    json.dumps([h.as_dict() for h in (where, short, unknown)])  # stored as JSON as is


def wh(code: str, km: float | None, priority: int, a: int = 0, b: int = 0) -> Candidate:
    return Candidate(hash(code) % 1000, code, priority, km, {1: a, 2: b})


A = LineDemand(1, 1, "A", 2)
B = LineDemand(2, 2, "B", 1)


def test_whole_order_leg_says_why_as_data() -> None:
    plan = route([A, B], [wh("FAR", 2000, 1, 5, 5), wh("NEAR", 30.4, 50, 5, 5), wh("PART", 5, 1, 5)])
    [leg] = plan.legs
    assert leg.reason == "fills the whole order; 30 km away; priority 50; preferred over FAR"
    assert leg.reason_code is LegReason.whole_order
    assert leg.reason_params == {"distance_km": 30.4, "priority": 50, "preferred_over": ["FAR"]}
    wanted = {c.code: (c.fills_units, c.wanted_units) for c in plan.considered}
    assert wanted == {"PART": (2, 3), "NEAR": (3, 3), "FAR": (3, 3)}


def test_split_legs_name_their_policy_units_distance_and_priority() -> None:
    plan = route([A, B], [wh("X", None, 3, a=2), wh("Y", 100, 2, b=1)])
    assert [(leg.code, leg.reason_code, leg.reason_params) for leg in plan.legs] == [
        ("X", LegReason.most_remaining_units, {"units": 2, "distance_km": None, "priority": 3}),
        ("Y", LegReason.most_remaining_units, {"units": 1, "distance_km": 100, "priority": 2}),
    ]
    by_priority = route([A, B], [wh("X", 5, 9, a=2), wh("Y", 100, 1, a=1, b=1)], Policy.priority)
    assert [(leg.code, leg.reason_code) for leg in by_priority.legs] == [
        ("Y", LegReason.next_by_priority),
        ("X", LegReason.next_by_priority),
    ]
    assert by_priority.legs[0].reason_params["units"] == 2
    most = route([A], [wh("X", 5, 1, a=1), wh("Y", 100, 2, a=9)], Policy.most_stock)
    assert most.legs[0].reason_code is LegReason.most_stock


def test_allocation_json_keeps_the_text_and_adds_the_code_and_params() -> None:
    plan = route([A], [wh("MSK", 12, 10, a=5), wh("SPB", 700, 20, a=5)])
    stored = plan_to_json(plan, decided_at=utcnow())
    leg = stored["legs"][0]
    assert leg["reason"] == "fills the whole order; 12 km away; priority 10; preferred over SPB"
    assert leg["reason_code"] == "whole_order"
    assert leg["reason_params"] == {"distance_km": 12, "priority": 10, "preferred_over": ["SPB"]}
    assert stored["considered"][1]["wanted_units"] == 2
    later = plan_to_json(route([B], [wh("MSK", 12, 10, b=5)]), decided_at=utcnow(), previous=stored)
    [merged] = later["legs"]
    assert merged["reason"].startswith("fills the whole order") and "; then fills" in merged["reason"]
    assert merged["reason_code"] == "whole_order"
    assert merged["reason_then"] == [
        {"code": "whole_order", "params": {"distance_km": 12, "priority": 10, "preferred_over": []}}
    ]
    json.dumps(later)


def test_back_office_words_holds_from_params_and_falls_back_to_the_stored_english() -> None:
    from zakaz.web import i18n, reasons

    short = rules.short_stock_hold([("SKU-1", 1200), ("SKU-2", 1)]).as_dict()
    picked = {
        "code": "short_pick",
        "detail": "2 x SKU-1 missing at bin A-01 (pick list PL-7)",
        "params": {"shipment": "S-1", "sku": "SKU-1", "missing": 2, "bin": "A-01", "pick_list": "PL-7"},
    }
    odd = {"code": "insufficient_stock", "detail": "not enough stock for X x1", "params": {"other": 1}}
    with i18n.use_locale("zh_Hans"):
        assert reasons.hold_text(short, True) == "库存不足：SKU-1 × 1,200、SKU-2 × 1"
        assert reasons.hold_text(picked, False) == "库位 A-01 缺少 2 × SKU-1（拣货单 PL-7）"
        assert reasons.hold_text(odd, True) == "not enough stock for X x1"  # unreadable params: the text
        assert reasons.hold_text(rules.manual_hold("打电话给买家").as_dict(), True) == "打电话给买家"
    with i18n.use_locale("en"):
        assert reasons.hold_text(short, True) == "not enough stock for SKU-1 × 1,200, SKU-2 × 1"
