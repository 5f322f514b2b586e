"""Issue #7: which Ozon rFBS status calls our shipments' states call for (pure, no database)."""

from __future__ import annotations

import pytest

from zakaz.marketplaces.delivery import (
    STATUS_SETTABLE,
    RfbsStep,
    rfbs_calls,
    rfbs_plan,
    rfbs_reached,
    rfbs_target,
)

D, L, X = RfbsStep.delivering, RfbsStep.last_mile, RfbsStep.delivered


@pytest.mark.parametrize(
    ("states", "target"),
    [
        ([], None),
        (["packed"], None),
        (["label_created"], None),
        (["handed_over"], None),  # handed to the carrier, not scanned by it yet
        (["in_transit"], D),
        (["out_for_delivery"], L),
        (["delivery_failed"], L),  # a failed attempt: the courier had it
        (["delivered"], X),
        (["handed_over", "in_transit"], D),
        (["in_transit", "delivered"], L),  # one leg at the buyer, the other still travelling
        (["delivered", "delivered"], X),
        (["delivered", "cancelled"], X),  # a cancelled leg does not count
        (["cancelled"], None),
        (["delivered", "returned_to_sender"], L),  # never "delivered" with a leg coming back
        (["returned_to_sender"], None),
    ],
)
def test_target_from_shipment_states(states: list[str], target: RfbsStep | None) -> None:
    assert rfbs_target(states) is target


@pytest.mark.parametrize(
    ("status", "substatus", "reached"),
    [
        ("awaiting_packaging", "posting_created", None),
        ("awaiting_deliver", "posting_transferring_to_delivery", None),
        ("delivering", "posting_transferred_to_courier_service", D),
        ("delivering", "posting_in_courier_service", L),
        ("delivering", "posting_conditionally_delivered", X),
        ("delivered", "posting_delivered", X),
        ("delivered", None, X),
    ],
)
def test_what_ozon_has_reached(status: str, substatus: str | None, reached: RfbsStep | None) -> None:
    assert rfbs_reached(status, substatus) is reached


def test_delivering_is_never_skipped_and_last_mile_is_optional() -> None:
    assert rfbs_calls(D, None) == (D,)
    assert rfbs_calls(L, None) == (D, L)
    assert rfbs_calls(X, None) == (D, X)  # carrier had no out-for-delivery scan
    assert rfbs_calls(L, D) == (L,)
    assert rfbs_calls(X, D) == (X,)
    assert rfbs_calls(X, L) == (X,)


def test_never_backwards_and_nothing_twice() -> None:
    assert rfbs_calls(None, None) == ()
    assert rfbs_calls(D, D) == ()
    assert rfbs_calls(D, L) == ()  # a late in-transit scan after last-mile
    assert rfbs_calls(L, X) == ()
    assert rfbs_calls(X, X) == ()


def test_plan_for_a_parcel_through_its_life() -> None:
    ozon = ("awaiting_deliver", "posting_transferring_to_delivery")
    assert rfbs_plan(["handed_over"], *ozon) == ()
    assert rfbs_plan(["in_transit"], *ozon) == (D,)
    assert rfbs_plan(["out_for_delivery"], "delivering", "posting_transferred_to_courier_service") == (L,)
    assert rfbs_plan(["delivered"], "delivering", "posting_in_courier_service") == (X,)
    assert rfbs_plan(["delivered"], "delivering", "posting_conditionally_delivered") == ()
    # Two legs: delivered only when both are.
    assert rfbs_plan(["delivered", "in_transit"], *ozon) == (D, L)
    assert rfbs_plan(["delivered", "delivered"], "delivering", "posting_in_courier_service") == (X,)


def test_only_the_sellers_own_delivery_takes_the_setters() -> None:
    assert "non_integrated" in STATUS_SETTABLE
    for scheme in ("ozon", "aggregator", "3pl_tracking", None):  # Ozon (or the carrier) reports these
        assert scheme not in STATUS_SETTABLE
