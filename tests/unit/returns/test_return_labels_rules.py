"""Which carrier books a return label (issue #6): configured one, else the outbound one, else none."""

from __future__ import annotations

from zakaz.returns.rules import LabelPlan, choose_label_carrier


def test_no_outbound_carrier_means_instructions_only() -> None:
    assert choose_label_carrier(configured_carrier="cdek", configured_service="137", outbound=[]) is None


def test_outbound_carrier_and_service_are_the_fallback() -> None:
    plan = choose_label_carrier(configured_carrier="", configured_service="", outbound=[("cdek", "136")])
    assert plan == LabelPlan("cdek", "136")


def test_configured_carrier_wins_and_borrows_the_outbound_service_of_the_same_carrier() -> None:
    outbound = [("courier", "same_day"), ("russian_post", "parcel")]
    assert choose_label_carrier(configured_carrier="cdek", configured_service="137", outbound=outbound) == (
        LabelPlan("cdek", "137")
    )
    assert choose_label_carrier(
        configured_carrier="russian_post", configured_service="", outbound=outbound
    ) == LabelPlan("russian_post", "parcel")
    assert choose_label_carrier(configured_carrier="cdek", configured_service="", outbound=outbound) == (
        LabelPlan("cdek", None)
    ), "the carrier's first service"
