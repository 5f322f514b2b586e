"""Refund arithmetic: table-driven cases and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zakaz.returns.reasons import Condition, ReturnReason
from zakaz.returns.refunds import (
    PaidLine,
    PaidOrder,
    Refunded,
    RefundError,
    RefundPolicy,
    ReturnItem,
    check_override,
    quote,
    spread,
)

POLICY = RefundPolicy(restocking_fee_percent=10, damaged_refund_percent=0)
ORDER = PaidOrder(
    lines=(PaidLine(1, "TEA", 3, 333_33), PaidLine(2, "CUP", 1, 500_00)),
    shipping_minor=300_00,
    discount_minor=100_01,
)


def after(q: object, done: Refunded) -> Refunded:
    from zakaz.returns.refunds import RefundQuote

    assert isinstance(q, RefundQuote)
    return Refunded(q.units, q.shipping_units, done.total_minor + q.total_minor)


def test_spread_adds_up_exactly_and_follows_weights() -> None:
    assert spread(100, [1, 1, 1]) == [34, 33, 33]
    assert spread(0, [5, 5]) == [0, 0]
    assert sum(spread(100_01, [999_99, 500_00])) == 100_01


@pytest.mark.parametrize(
    "item, expected_total, texts",
    [
        (ReturnItem(2, 1, ReturnReason.defective), 500_00 - 33_34 + 100_00, ["price paid", "shipping"]),
        (ReturnItem(2, 1, ReturnReason.changed_mind), 500_00 - 33_34, ["price paid"]),
        (
            ReturnItem(2, 1, ReturnReason.changed_mind, Condition.opened),
            (500_00 - 33_34) - 46_67,
            ["price paid", "restocking fee 10%"],
        ),
        (ReturnItem(2, 1, ReturnReason.size_fit, Condition.damaged_by_shopper), 0, ["price paid", "damaged"]),
        (ReturnItem(2, 1, ReturnReason.defective, Condition.missing), 0, ["price paid", "not received"]),
        (
            ReturnItem(2, 1, ReturnReason.wrong_item, Condition.opened),
            500_00 - 33_34 + 100_00,
            ["price", "shipping"],
        ),
    ],
)
def test_policy_table(item: ReturnItem, expected_total: int, texts: list[str]) -> None:
    q = quote(ORDER, [item], Refunded(), POLICY)
    assert q.total_minor == expected_total
    assert sum(e.amount_minor for e in q.explanation) == q.total_minor
    assert [t in e.text for t, e in zip(texts, q.explanation, strict=True)] == [True] * len(texts)


def test_returning_everything_for_seller_fault_refunds_exactly_what_was_paid() -> None:
    items = [ReturnItem(1, 3, ReturnReason.defective), ReturnItem(2, 1, ReturnReason.defective)]
    q = quote(ORDER, items, Refunded(), POLICY)
    assert q.total_minor == ORDER.paid


def test_one_unit_at_a_time_loses_no_kopeck() -> None:
    done = Refunded()
    for _ in range(3):
        done = after(quote(ORDER, [ReturnItem(1, 1, ReturnReason.defective)], done, POLICY), done)
    done = after(quote(ORDER, [ReturnItem(2, 1, ReturnReason.not_as_described)], done, POLICY), done)
    assert done.total_minor == ORDER.paid


def test_repeating_a_refunded_return_is_refused() -> None:
    first = quote(ORDER, [ReturnItem(2, 1, ReturnReason.defective)], Refunded(), POLICY)
    done = after(first, Refunded())
    with pytest.raises(RefundError, match="exceed"):
        quote(ORDER, [ReturnItem(2, 1, ReturnReason.defective)], done, POLICY)


def test_an_earlier_override_caps_what_is_left() -> None:
    done = Refunded(total_minor=ORDER.paid - 10_00)
    q = quote(ORDER, [ReturnItem(2, 1, ReturnReason.defective)], done, POLICY)
    assert q.capped and q.total_minor == 10_00
    assert sum(e.amount_minor for e in q.explanation) == 10_00


def test_override_needs_a_reason_and_stays_within_the_payment() -> None:
    check_override(100_00, "goodwill: late delivery", ORDER, Refunded())
    with pytest.raises(RefundError, match="reason"):
        check_override(100_00, " ", ORDER, Refunded())
    with pytest.raises(RefundError, match="at most"):
        check_override(ORDER.paid + 1, "too much", ORDER, Refunded())


def test_unknown_line_and_zero_quantity_are_refused() -> None:
    with pytest.raises(RefundError):
        quote(ORDER, [ReturnItem(9, 1, ReturnReason.defective)], Refunded(), POLICY)
    with pytest.raises(RefundError):
        quote(ORDER, [ReturnItem(1, 0, ReturnReason.defective)], Refunded(), POLICY)


orders = st.builds(
    lambda lines, shipping, discount_ratio: PaidOrder(
        lines=tuple(PaidLine(i + 1, f"S{i}", q, p) for i, (q, p) in enumerate(lines)),
        shipping_minor=shipping,
        discount_minor=int(sum(q * p for q, p in lines) * discount_ratio),
    ),
    st.lists(st.tuples(st.integers(1, 7), st.integers(0, 2_000_000)), min_size=1, max_size=5),
    st.integers(0, 100_000),
    st.floats(0, 0.9),
)


@settings(max_examples=300, deadline=None)
@given(order=orders, data=st.data())
def test_any_sequence_of_returns_never_refunds_more_than_paid(order: PaidOrder, data: st.DataObject) -> None:
    done = Refunded()
    left = {line.line_no: line.quantity for line in order.lines}
    all_seller_fault_unopened = True
    while any(left.values()):
        line_no = data.draw(st.sampled_from([n for n, q in left.items() if q]))
        qty = data.draw(st.integers(1, left[line_no]))
        reason = data.draw(st.sampled_from(list(ReturnReason)))
        condition = data.draw(st.sampled_from(list(Condition)))
        if (
            reason not in (ReturnReason.defective, ReturnReason.wrong_item)
            or condition is not Condition.unopened
        ):
            all_seller_fault_unopened = False
        q = quote(order, [ReturnItem(line_no, qty, reason, condition)], done, POLICY)
        assert q.total_minor >= 0
        assert sum(e.amount_minor for e in q.explanation) == q.total_minor
        done = after(q, done)
        left[line_no] -= qty
        assert done.total_minor <= order.paid
    if all_seller_fault_unopened:
        assert done.total_minor == order.paid, "every kopeck comes back when everything is the seller's fault"
    with pytest.raises(RefundError):
        quote(order, [ReturnItem(order.lines[0].line_no, 1, ReturnReason.defective)], done, POLICY)
