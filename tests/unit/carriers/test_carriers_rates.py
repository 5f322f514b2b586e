"""Rate shopping: which rate is chosen and why every other one lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from zakaz.carriers import cdek, courier, russian_post
from zakaz.carriers.base import Location, Parcel, Rate, ShipmentRequest
from zakaz.carriers.rates import Rejected, RejectReason, ShoppingPolicy, shop
from zakaz.carriers.tariffs import MSK, quote_all

MONDAY = date(2025, 6, 2)


def rate(
    code: str,
    rub: int,
    arrives_day: int,
    *,
    heaviest_g: int = 1000,
    limit_g: int | None = None,
    currency: str = "RUB",
) -> Rate:
    carrier, service = code.split("/")
    return Rate(
        carrier_code=carrier,
        service_code=service,
        service_name=service,
        price_minor=rub * 100,
        currency=currency,
        delivery_days=arrives_day - 2,
        ship_date=MONDAY,
        estimated_delivery_date=date(2025, 6, arrives_day),
        cutoff_respected=True,
        chargeable_weight_g=heaviest_g,
        heaviest_parcel_g=heaviest_g,
        max_parcel_weight_g=limit_g,
    )


def reasons(rejected: tuple[Rejected, ...]) -> dict[str, RejectReason]:
    return {f"{r.rate.carrier_code}/{r.rate.service_code}": r.reason for r in rejected}


SLOW_CHEAP = rate("post/parcel", 300, 10)
ON_TIME = rate("cdek/136", 450, 5)
ON_TIME_DEAR = rate("cdek/137", 630, 5)
FAST_DEAR = rate("courier/next_day", 900, 3)
CHEAPEST_BUT_TOO_HEAVY = rate("post/first_class", 250, 4, heaviest_g=3000, limit_g=2500)
ALL = [SLOW_CHEAP, ON_TIME, ON_TIME_DEAR, FAST_DEAR, CHEAPEST_BUT_TOO_HEAVY]


def test_cheapest_on_time_picks_the_cheapest_rate_that_arrives_by_the_promised_date() -> None:
    choice = shop(ALL, policy=ShoppingPolicy.CHEAPEST_ON_TIME, promised_date=date(2025, 6, 6))
    assert choice.chosen == ON_TIME and choice.meets_promise
    assert reasons(choice.rejected) == {
        "post/parcel": RejectReason.TOO_LATE,
        "cdek/137": RejectReason.MORE_EXPENSIVE,
        "courier/next_day": RejectReason.MORE_EXPENSIVE,
        "post/first_class": RejectReason.OVER_WEIGHT_LIMIT,
    }


def test_every_rejection_explains_itself_with_the_numbers() -> None:
    choice = shop(ALL, policy=ShoppingPolicy.CHEAPEST_ON_TIME, promised_date=date(2025, 6, 6))
    details = {f"{r.rate.carrier_code}/{r.rate.service_code}": r.detail for r in choice.rejected}
    assert details["post/parcel"] == "arrives 2025-06-10, promised 2025-06-06"
    assert details["cdek/137"] == "630.00 RUB > 450.00 RUB (cdek/136)"
    assert details["post/first_class"] == "heaviest parcel 3000 g > limit 2500 g"


def test_every_rate_is_either_chosen_or_rejected_exactly_once() -> None:
    for policy in ShoppingPolicy:
        choice = shop(ALL, policy=policy, promised_date=date(2025, 6, 6))
        accounted = [choice.chosen, *(r.rate for r in choice.rejected)]
        assert sorted(map(id, accounted)) == sorted(map(id, ALL))


def test_without_a_promised_date_the_cheapest_usable_rate_wins() -> None:
    choice = shop(ALL, policy=ShoppingPolicy.CHEAPEST_ON_TIME)
    assert choice.chosen == SLOW_CHEAP and choice.meets_promise


def test_when_nothing_arrives_in_time_the_earliest_is_chosen_and_flagged_late() -> None:
    choice = shop(ALL, policy=ShoppingPolicy.CHEAPEST_ON_TIME, promised_date=date(2025, 6, 2))
    assert choice.chosen == FAST_DEAR and not choice.meets_promise
    assert reasons(choice.rejected)["post/parcel"] is RejectReason.SLOWER


def test_fastest_picks_the_earliest_delivery_even_when_dearer() -> None:
    choice = shop(ALL, policy=ShoppingPolicy.FASTEST, promised_date=date(2025, 6, 6))
    assert choice.chosen == FAST_DEAR and choice.meets_promise
    assert reasons(choice.rejected) == {
        "post/parcel": RejectReason.SLOWER,
        "cdek/136": RejectReason.SLOWER,
        "cdek/137": RejectReason.SLOWER,
        "post/first_class": RejectReason.OVER_WEIGHT_LIMIT,
    }


def test_fastest_breaks_a_tie_on_date_by_price() -> None:
    choice = shop([ON_TIME_DEAR, ON_TIME], policy=ShoppingPolicy.FASTEST)
    assert choice.chosen == ON_TIME
    assert reasons(choice.rejected) == {"cdek/137": RejectReason.MORE_EXPENSIVE}


def test_same_price_cheapest_policy_prefers_the_earlier_delivery() -> None:
    slower_twin = replace(ON_TIME, service_code="slow", estimated_delivery_date=date(2025, 6, 6))
    choice = shop([slower_twin, ON_TIME], policy=ShoppingPolicy.CHEAPEST_ON_TIME)
    assert choice.chosen == ON_TIME
    assert reasons(choice.rejected) == {"cdek/slow": RejectReason.SLOWER}


def test_nothing_is_chosen_when_every_rate_is_over_its_weight_limit() -> None:
    choice = shop([CHEAPEST_BUT_TOO_HEAVY], policy=ShoppingPolicy.CHEAPEST_ON_TIME)
    assert choice.chosen is None and not choice.meets_promise
    assert reasons(choice.rejected) == {"post/first_class": RejectReason.OVER_WEIGHT_LIMIT}
    assert shop([], policy=ShoppingPolicy.FASTEST).chosen is None


def test_rates_in_different_currencies_are_not_compared() -> None:
    with pytest.raises(ValueError, match="currencies"):
        shop([ON_TIME, rate("cn/std", 50, 5, currency="CNY")], policy=ShoppingPolicy.FASTEST)


def test_shopping_across_default_carriers_for_a_heavy_parcel_to_kazan() -> None:
    request = ShipmentRequest(
        origin=Location("Москва", "Москва", "101000", lat=55.7558, lon=37.6173),
        destination=Location("Казань", "Республика Татарстан", "420111", lat=55.7963, lon=49.1088),
        parcels=(Parcel(22_000, 600, 400, 400),),
        declared_value_minor=0,
        ready_at=datetime(2025, 6, 4, 11, 0, tzinfo=MSK),
        promised_date=date(2025, 6, 9),
    )
    tariffs = russian_post.default_tariffs() + cdek.default_tariffs() + courier.default_tariffs()
    rates = quote_all(tariffs, request)
    choice = shop(rates, policy=ShoppingPolicy.CHEAPEST_ON_TIME, promised_date=request.promised_date)
    assert choice.chosen is not None and choice.meets_promise
    assert (choice.chosen.carrier_code, choice.chosen.service_code) == ("cdek", "136")
    assert choice.chosen.estimated_delivery_date <= date(2025, 6, 9)
    assert reasons(choice.rejected) == {
        "russian_post/parcel": RejectReason.OVER_WEIGHT_LIMIT,  # 22 kg > 20 kg
        "russian_post/first_class": RejectReason.OVER_WEIGHT_LIMIT,
        "russian_post/ems": RejectReason.MORE_EXPENSIVE,
        "cdek/137": RejectReason.MORE_EXPENSIVE,
    }  # the courier does not serve Kazan (beyond 80 km), so it is not quoted at all
