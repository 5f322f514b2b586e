"""Pure after-sales rules (no database): eligibility, auto-approval, SLA, transitions, RMA numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zakaz.errors import InvalidTransition
from zakaz.returns.rules import LineState, Wanted, auto_approval, check_request, new_rma_number, sla_level
from zakaz.returns.states import TRANSITIONS, ReturnStatus, check_transition

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
LINES = {1: LineState(1, "SKU-A", delivered=2, returned=1), 2: LineState(2, "SKU-B", delivered=1, returned=0)}


def _check(items: list[Wanted], *, reason: str = "defective", delivered: datetime | None = NOW) -> list[str]:
    errors = check_request(
        lines=LINES,
        items=items,
        reason=reason,
        allowed_reasons=["defective", "changed_mind"],
        delivered_at=delivered,
        now=NOW,
        window_days=14,
    )
    return [e.field for e in errors]


def test_eligibility_names_each_bad_field() -> None:
    assert _check([Wanted(1, 1), Wanted(2, 1)]) == []
    assert _check([Wanted(1, 2)]) == ["items.0.quantity"], "delivered minus already returned"
    assert _check([Wanted(3, 1)]) == ["items.0.line_no"]
    assert _check([Wanted(2, 1), Wanted(2, 1)]) == ["items.1.line_no"]
    assert _check([Wanted(2, 0)]) == ["items.0.quantity"]
    assert _check([Wanted(2, 1)], reason="size_fit") == ["reason"]
    assert _check([]) == ["items"]
    assert _check([Wanted(2, 1)], delivered=None) == ["order"]
    assert _check([Wanted(2, 1)], delivered=NOW - timedelta(days=14, seconds=1)) == ["order"]
    assert _check([Wanted(2, 1)], delivered=NOW - timedelta(days=14)) == []


def test_auto_approval_rules() -> None:
    assert auto_approval("defective", 10**9, seller_fault=True, below_minor=0) == "seller-fault reason"
    assert auto_approval("defective", 10**9, seller_fault=False, below_minor=0) is None
    assert auto_approval("changed_mind", 999, seller_fault=True, below_minor=1000) is not None
    assert auto_approval("changed_mind", 1000, seller_fault=True, below_minor=1000) is None


def test_sla_levels_and_rma_numbers() -> None:
    assert [sla_level(timedelta(hours=h), warn_hours=24, late_hours=48) for h in (1, 24, 48)] == [
        "ok",
        "warn",
        "late",
    ]
    number = new_rma_number(NOW)
    assert number.startswith("RMA-261127-") and len(number) == 16


def test_transitions_only_forward() -> None:
    check_transition("requested", "approved")
    with pytest.raises(InvalidTransition):
        check_transition("rejected", "approved")
    with pytest.raises(InvalidTransition):
        check_transition("requested", "refunded")
    terminal = {s for s, targets in TRANSITIONS.items() if not targets}
    assert terminal == {
        ReturnStatus.rejected,
        ReturnStatus.refunded,
        ReturnStatus.exchanged,
        ReturnStatus.closed,
    }
