"""A year of past orders with weekly and yearly seasonality and plausible timelines. Pure.

Past orders are finished: delivered, cancelled, or (for the last days) shipped and in transit. None of
them holds stock, so they need no reservations; the open orders go through the real intake instead.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

from zakaz.demo.people import AddressSpec, CustomerSpec
from zakaz.demo.vocab import CANCEL_REASONS, CARRIERS, CHANNELS, WAREHOUSES
from zakaz.orders.states import OrderStatus as S

MSK = timezone(timedelta(hours=3))
_MONTH = (0.85, 0.85, 1.0, 0.9, 0.85, 0.8, 0.8, 0.9, 1.0, 1.05, 1.5, 1.7)
_WEEKDAY = (1.0, 0.95, 0.95, 1.0, 1.05, 1.25, 1.3)
# Orders per Moscow hour: quiet nights, a lunch bump and an evening peak.
_HOUR = (2, 1, 0.6, 0.4, 0.4, 0.6, 1.2, 2.5, 3.5, 4, 4.5, 5, 6, 6, 5, 5, 5, 5.5, 6, 7, 8, 8.5, 7, 4.5)
_WAREHOUSE = {w.code: w for w in WAREHOUSES}
_OPERATORS = ("operator:Анна", "operator:Дмитрий", "operator:Ольга")


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    category: str
    barcode: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    price_minor: int
    allow_backorder: bool
    popularity: float


@dataclass(frozen=True)
class LineSpec:
    sku: str
    name: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class EventSpec:
    type: str
    from_status: str | None
    to_status: str | None
    actor: str
    at: datetime
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PastOrder:
    number: str
    channel: str
    external_id: str
    customer: int  # index into the customer list
    address: AddressSpec
    status: str
    payment_status: str
    lines: tuple[LineSpec, ...]
    shipping_minor: int
    discount_minor: int
    warehouse: str | None  # where it was allocated; None when cancelled before that
    events: tuple[EventSpec, ...]

    @property
    def created_at(self) -> datetime:
        return self.events[0].at

    @property
    def updated_at(self) -> datetime:
        return self.events[-1].at

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.shipping_minor - self.discount_minor


def day_weight(day: date, start: date) -> float:
    weight = _MONTH[day.month - 1] * _WEEKDAY[day.weekday()]
    if (day.month, day.day) == (11, 11):
        weight *= 2.5  # 11.11 sales
    elif day.month == 11 and day.weekday() == 4 and day.day > 22:
        weight *= 2.5  # Black Friday
    elif day.month == 12 and 15 <= day.day <= 29:
        weight *= 1.3  # New Year presents
    elif day.month == 1 and day.day <= 3:
        weight *= 0.5
    elif (day.month, day.day) in {(2, 20), (2, 21), (3, 5), (3, 6), (3, 7)}:
        weight *= 1.4  # 23 February and 8 March presents
    return weight * (0.8 + 0.4 * (day - start).days / 365)  # the shop is growing


def order_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """``count`` creation times between a year ago and two days ago, oldest first."""
    today = now.astimezone(MSK).date()
    start = today - timedelta(days=365)
    days = [start + timedelta(days=i) for i in range(364)]
    day_cum = list(accumulate(day_weight(d, start) for d in days))
    hour_cum = list(accumulate(_HOUR))
    picked = rng.choices(days, cum_weights=day_cum, k=count)
    hours = rng.choices(range(24), cum_weights=hour_cum, k=count)
    times = [
        datetime(d.year, d.month, d.day, h, rng.randrange(60), rng.randrange(60), tzinfo=MSK).astimezone(UTC)
        for d, h in zip(picked, hours, strict=True)
    ]
    return sorted(t for t in times if t < now - timedelta(days=1, hours=12))


class HistoryMaker:
    """Builds past orders one by one; keeps the uniqueness sets for numbers and external ids."""

    def __init__(
        self,
        rng: random.Random,
        customers: Sequence[CustomerSpec],
        products: Sequence[ProductSpec],
        now: datetime,
    ) -> None:
        self.rng = rng
        self.customers = customers
        self.products = products
        self.now = now
        self.customer_cum = list(accumulate(c.weight for c in customers))
        self.product_cum = list(accumulate(p.popularity for p in products))
        self.numbers: set[str] = set()
        self.external: set[tuple[str, str]] = set()

    def number(self, at: datetime) -> str:
        alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        while True:
            n = f"ZK-{at:%y%m%d}-{''.join(self.rng.choices(alphabet, k=5))}"
            if n not in self.numbers:
                self.numbers.add(n)
                return n

    def external_id(self, channel: str, seq: int) -> str:
        while True:
            if channel == "ozon":
                ext = f"{self.rng.randrange(10**7, 10**8)}-{self.rng.randrange(10**4):04d}-1"
            elif channel == "web":
                ext = f"W-{100000 + seq}"
            else:
                ext = f"API-{self.rng.getrandbits(40):010x}"
            if (channel, ext) not in self.external:
                self.external.add((channel, ext))
                return ext

    def lines(self) -> tuple[LineSpec, ...]:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4, 5), weights=(55, 25, 12, 5, 3))[0]
        chosen: dict[str, LineSpec] = {}
        for product in rng.choices(self.products, cum_weights=self.product_cum, k=count):
            many = product.category in {"CS", "HM"} and product.price_minor < 1000_00
            qty = rng.choices((1, 2, 3, 4), weights=(70, 20, 7, 3) if many else (88, 10, 2, 0))[0]
            chosen.setdefault(product.sku, LineSpec(product.sku, product.name, qty, product.price_minor))
        return tuple(chosen.values())

    def make(self, seq: int, at: datetime) -> tuple[PastOrder, int]:
        rng = self.rng
        customer = rng.choices(range(len(self.customers)), cum_weights=self.customer_cum)[0]
        spec = self.customers[customer]
        address = spec.addresses[0] if rng.random() < 0.8 else rng.choice(spec.addresses)
        channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
        lines = self.lines()
        subtotal = sum(ln.total_minor for ln in lines)
        shipping = discount = 0
        payment = "paid"
        if channel == "web":
            shipping = 0 if subtotal >= 3000_00 else 299_00
            payment = "cod" if rng.random() < 0.3 else "paid"
            if rng.random() < 0.1:
                discount = subtotal * rng.choice((5, 10)) // 100 // 100 * 100
        elif channel == "api":
            shipping = rng.choice((0, 350_00))
        events, status, warehouse, payment = Timeline(rng, channel, address, at, self.now, payment).build(
            lines
        )
        order = PastOrder(
            number=self.number(at.astimezone(MSK)),
            channel=channel,
            external_id=self.external_id(channel, seq),
            customer=customer,
            address=address,
            status=status,
            payment_status=payment,
            lines=lines,
            shipping_minor=shipping,
            discount_minor=discount,
            warehouse=warehouse,
            events=tuple(events),
        )
        return order, customer


class Timeline:
    """The events of one past order: received, confirmed, allocated, picking, ..., delivered or cancelled."""

    def __init__(
        self,
        rng: random.Random,
        channel: str,
        address: AddressSpec,
        at: datetime,
        now: datetime,
        payment: str,
    ) -> None:
        self.rng, self.channel, self.address, self.now, self.payment = rng, channel, address, now, payment
        self.at = at
        self.status = S.new.value
        self.events: list[EventSpec] = []
        self.intake_actor = {"ozon": "ozon-sync", "web": "apikey:web-shop", "api": "apikey:integration"}[
            channel
        ]

    def step(self, target: S, actor: str, after: timedelta, reason: str | None = None, **data: Any) -> None:
        self.at += after
        self.events.append(
            EventSpec("status_changed", self.status, target.value, actor, self.at, reason, data)
        )
        self.status = target.value

    def build(self, lines: tuple[LineSpec, ...]) -> tuple[list[EventSpec], str, str | None, str]:
        rng = self.rng
        tick = timedelta(milliseconds=rng.randrange(5, 60))
        self.events.append(
            EventSpec(
                "received", None, S.new.value, self.intake_actor, self.at, None, {"channel": self.channel}
            )
        )
        roll = rng.random()
        if roll < 0.025:  # cancelled before confirmation: the payment never came
            self.step(S.cancelled, "system", timedelta(hours=rng.uniform(1, 24)), CANCEL_REASONS[1])
            return self.events, self.status, None, "failed"
        if roll < 0.05:  # held on intake and released by an operator
            reason = "order worth more than 5x this customer's average"
            self.step(S.on_hold, self.intake_actor, tick, reason, holds=["value_above_history"])
            self.step(
                S.confirmed,
                rng.choice(_OPERATORS),
                timedelta(minutes=rng.uniform(10, 300)),
                "checked by phone",
            )
        else:
            self.step(S.confirmed, self.intake_actor, tick, "all intake checks passed")
        warehouse = self.address.nearest_warehouse
        self.step(S.allocated, self.intake_actor, tick, None, legs=[warehouse], backordered=[])
        if roll > 0.95:  # cancelled after allocation; its stock goes back
            self.step(
                S.cancelled, "customer", timedelta(hours=rng.uniform(0.2, 20)), rng.choice(CANCEL_REASONS)
            )
            units = sum(ln.quantity for ln in lines)
            self.events.append(
                EventSpec("stock_released", None, None, "customer", self.at, None, {"units": units})
            )
            return self.events, self.status, warehouse, self.payment
        self.fulfil(warehouse)
        paid = "paid" if self.status == S.delivered.value else self.payment  # cash on delivery is paid then
        return self.events, self.status, warehouse, paid

    def fulfil(self, code: str) -> None:
        rng = self.rng
        wh = _WAREHOUSE[code]
        local = self.at.astimezone(timezone(timedelta(hours=wh.utc_offset)))
        if local.time() < wh.cutoff:
            wait = timedelta(minutes=rng.uniform(20, 180))
        else:
            start = local.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
            wait = start - local + timedelta(minutes=rng.uniform(0, 180))
        actor = f"warehouse:{code}"
        self.step(S.picking, actor, wait)
        self.step(S.packed, actor, timedelta(minutes=rng.uniform(10, 90)))
        carrier = rng.choice(CARRIERS)
        self.step(S.shipped, f"carrier:{carrier}", timedelta(hours=rng.uniform(1, 6)), carrier=carrier)
        days = 1 + self.address.distance_km / 700 + rng.uniform(0, 2.5)
        delivered = self.at + timedelta(days=days)
        local_hour = (delivered + timedelta(hours=self.address.utc_offset)).hour
        if local_hour < 9 or local_hour >= 21:  # couriers and pick-up points work in the daytime
            delivered += timedelta(hours=12)
        if delivered < self.now:
            self.step(S.delivered, f"carrier:{carrier}", delivered - self.at, carrier=carrier)
