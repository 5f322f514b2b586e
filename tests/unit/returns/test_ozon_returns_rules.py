"""Pure rules for Ozon returns (issue #6 with #7): reason from Ozon's text, kind, forward-only status."""

from __future__ import annotations

import pytest

from zakaz.returns.marketplace_rules import STATUS_TARGETS, kind_for, path_to, reason_from_text
from zakaz.returns.reasons import ReturnReason as R
from zakaz.returns.states import TRANSITIONS
from zakaz.returns.states import ReturnStatus as S


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Покупатель отказался при вручении: недоволен качеством товара", R.defective),
        ("Товар с браком", R.defective),
        ("Прислали не тот товар", R.wrong_item),
        ("Товар повреждён при доставке", R.damaged_in_transit),
        ("Не соответствует описанию на сайте", R.not_as_described),
        ("Не подошёл размер", R.size_fit),
        ("Передумал", R.changed_mind),
        ("Нормально всё, просто так", R.other),
        ("", R.other),
        (None, R.other),
    ],
)
def test_ozon_reason_texts_map_to_our_reasons_or_other(text: str | None, reason: R) -> None:
    assert reason_from_text(text) is reason


def test_cancellations_are_their_own_kind() -> None:
    assert kind_for("Cancellation") == "cancellation"
    assert {kind_for(t) for t in ("ClientReturn", "FullReturn", "PartialReturn", "Unknown")} == {"return"}


def test_path_moves_forward_only_along_legal_transitions() -> None:
    assert path_to(S.requested, S.received) == [S.approved, S.in_transit, S.received]
    assert path_to(S.received, S.in_transit) == [] and path_to(S.in_transit, S.in_transit) == []
    assert path_to(S.requested, S.closed) == [S.rejected], "a request Ozon cancels is refused"
    assert path_to(S.in_transit, S.closed) == [S.closed]
    assert path_to(S.received, S.closed) == [], "after receipt our inspection decides"
    assert path_to(S.approved, S.rejected) == [S.closed]
    for current in S:
        for target in set(STATUS_TARGETS.values()):
            here = current
            for step in path_to(current, target):
                assert step in TRANSITIONS[here], f"{here} -> {step}"
                here = step
