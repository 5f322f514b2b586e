from __future__ import annotations

import pytest

from zakaz.errors import InvalidTransition
from zakaz.orders.states import TRANSITIONS, OrderStatus, allowed_actions, check_transition


def test_every_status_has_a_row_and_terminal_states_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert TRANSITIONS[OrderStatus.cancelled] == frozenset()
    assert TRANSITIONS[OrderStatus.delivered] == frozenset()


def test_invalid_transition_names_the_allowed_targets() -> None:
    with pytest.raises(InvalidTransition) as err:
        check_transition("shipped", "cancelled")
    assert err.value.extra["allowed"] == ["delivered"]
    assert err.value.extra["current"] == "shipped"


def test_shipped_orders_cannot_be_cancelled_but_allocated_can() -> None:
    check_transition("allocated", "cancelled")
    assert "cancel" in allowed_actions("allocated")
    assert "cancel" not in allowed_actions("shipped")


def test_release_is_offered_only_for_held_orders() -> None:
    assert allowed_actions("on_hold") == ["release", "cancel"]
    assert "release" not in allowed_actions("allocated")
    assert allowed_actions("new") == ["confirm", "hold", "cancel"]
