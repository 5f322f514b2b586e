"""Pure rate shopping: pick one rate under a policy and say why every other rate lost.

Policies:

* ``CHEAPEST_ON_TIME``: the cheapest rate arriving by the promised date (ties: earlier, then by code). If no
  rate arrives in time, the earliest-arriving one is chosen and ``meets_promise`` is False, so the caller can
  warn the customer rather than not ship at all.
* ``FASTEST``: the earliest estimated delivery (ties: cheaper, then by code).

Rates over their service's per-parcel weight limit are never chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from zakaz.carriers.base import Rate
from zakaz.money import from_minor


class ShoppingPolicy(StrEnum):
    CHEAPEST_ON_TIME = "cheapest_on_time"
    FASTEST = "fastest"


class RejectReason(StrEnum):
    TOO_LATE = "too_late"
    OVER_WEIGHT_LIMIT = "over_weight_limit"
    MORE_EXPENSIVE = "more_expensive"
    SLOWER = "slower"


@dataclass(frozen=True, slots=True)
class Rejected:
    rate: Rate
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class RateChoice:
    policy: ShoppingPolicy
    chosen: Rate | None
    rejected: tuple[Rejected, ...]
    meets_promise: bool


def _label(rate: Rate) -> str:
    return f"{rate.carrier_code}/{rate.service_code}"


def _price(rate: Rate) -> str:
    return f"{from_minor(rate.price_minor)} {rate.currency}"


def _by_price(rate: Rate) -> tuple[int, date, str, str]:
    return (rate.price_minor, rate.estimated_delivery_date, rate.carrier_code, rate.service_code)


def _by_speed(rate: Rate) -> tuple[date, int, str, str]:
    return (rate.estimated_delivery_date, rate.price_minor, rate.carrier_code, rate.service_code)


def _loser(rate: Rate, winner: Rate, *, prefer_speed: bool) -> Rejected:
    """Why ``rate`` lost to ``winner`` on the primary criterion (or the tie-break)."""
    slower = rate.estimated_delivery_date > winner.estimated_delivery_date
    dearer = rate.price_minor > winner.price_minor
    if slower and (prefer_speed or not dearer):
        detail = f"arrives {rate.estimated_delivery_date}, {_label(winner)} {winner.estimated_delivery_date}"
        return Rejected(rate, RejectReason.SLOWER, detail)
    if dearer:
        return Rejected(
            rate, RejectReason.MORE_EXPENSIVE, f"{_price(rate)} > {_price(winner)} ({_label(winner)})"
        )
    return Rejected(
        rate, RejectReason.MORE_EXPENSIVE, f"same price and date as {_label(winner)}; tie broken by code"
    )


def shop(rates: Sequence[Rate], *, policy: ShoppingPolicy, promised_date: date | None = None) -> RateChoice:
    currencies = {r.currency for r in rates}
    if len(currencies) > 1:
        raise ValueError(f"cannot compare rates in several currencies: {sorted(currencies)}")
    rejected: list[Rejected] = []
    usable: list[Rate] = []
    for rate in rates:
        if not rate.within_weight_limit:
            detail = f"heaviest parcel {rate.heaviest_parcel_g} g > limit {rate.max_parcel_weight_g} g"
            rejected.append(Rejected(rate, RejectReason.OVER_WEIGHT_LIMIT, detail))
        else:
            usable.append(rate)

    def on_time(rate: Rate) -> bool:
        return promised_date is None or rate.estimated_delivery_date <= promised_date

    if not usable:
        return RateChoice(policy, None, tuple(rejected), meets_promise=False)

    if policy is ShoppingPolicy.FASTEST:
        chosen = min(usable, key=_by_speed)
        losers = [_loser(r, chosen, prefer_speed=True) for r in usable if r is not chosen]
    else:
        timely = [r for r in usable if on_time(r)]
        if timely:
            chosen = min(timely, key=_by_price)
            for rate in usable:
                if not on_time(rate):
                    detail = f"arrives {rate.estimated_delivery_date}, promised {promised_date}"
                    rejected.append(Rejected(rate, RejectReason.TOO_LATE, detail))
            losers = [_loser(r, chosen, prefer_speed=False) for r in timely if r is not chosen]
        else:
            chosen = min(usable, key=_by_speed)
            losers = [_loser(r, chosen, prefer_speed=True) for r in usable if r is not chosen]
    rejected.extend(losers)
    return RateChoice(policy, chosen, tuple(rejected), meets_promise=on_time(chosen))
