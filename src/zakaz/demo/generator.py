"""Deterministic demo data: the same ``seed`` and ``now`` always give the same data. Pure (no database).

:func:`generate` returns warehouses, ~200 products with EAN-13 barcodes, stock with bin locations, customers
with addresses, a year of past orders and the open orders of today as :class:`OrderCreate` payloads for the
real intake. :mod:`zakaz.demo.loader` writes it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import accumulate

from zakaz.demo.history import HistoryMaker, LineSpec, PastOrder, ProductSpec, order_times
from zakaz.demo.people import (
    AddressSpec,
    CustomerSpec,
    address_in,
    email_for,
    make_customers,
    person_name,
    pretty_phone,
    valid_mobile,
)
from zakaz.demo.vocab import CITIES, PRODUCTS, SIZES, WAREHOUSES, ProductTemplate
from zakaz.inventory.schemas import WarehouseIn
from zakaz.orders.schemas import AddressIn, CustomerIn, LineIn, OrderCreate

MAX_OPEN_ORDERS = 150
#: Towns the geocoder cannot know: open orders shipping there are held as address_unlocatable.
UNKNOWN_TOWNS = ("Верхние Ключи", "Новозаречный-2", "Усть-Кедровка", "Малые Берёзки")
_COLOUR_CODES = {"чёрный": "BLK", "белый": "WHT", "серый": "GRY", "синий": "BLU", "хаки": "KHK"}
_STOCKED = {"MSK": 0.95, "SPB": 0.8, "KRD": 0.6, "EKB": 0.65, "NSK": 0.5}


@dataclass(frozen=True)
class StockSpec:
    warehouse: str
    sku: str
    on_hand: int
    bin_location: str


@dataclass(frozen=True)
class DemoData:
    warehouses: list[WarehouseIn]
    products: list[ProductSpec]
    stock: list[StockSpec]
    customers: list[CustomerSpec]
    history: list[PastOrder]
    open_orders: list[OrderCreate]


def split_orders(orders: int) -> tuple[int, int]:
    """(past, open): about 0.75% of the orders are today's open ones, at most 150, at least 5."""
    open_ = min(MAX_OPEN_ORDERS, max(5, orders // 100 + orders // 300), orders)
    return orders - open_, open_


def ean13(rng: random.Random, taken: set[str]) -> str:
    """A valid EAN-13 with the 460 (Russia) prefix."""
    while True:
        body = "460" + f"{rng.randrange(10**9):09d}"
        odd = sum(int(d) for d in body[0::2])
        even = sum(int(d) for d in body[1::2])
        code = body + str((10 - (odd + 3 * even) % 10) % 10)
        if code not in taken:
            taken.add(code)
            return code


def _price(rng: random.Random, low: int, high: int) -> int:
    rub = rng.randint(low, high)
    rub = rub // 100 * 100 + 90 if rub >= 1000 else rub // 10 * 10 + 9
    return max(rub, 99) * 100


def _suffix(variant: str, index: int) -> str:
    colour, _, size = variant.rpartition(", ")
    if size in SIZES and colour in _COLOUR_CODES:
        return f"-{_COLOUR_CODES[colour]}-{size}"
    return f"-{index + 1:02d}"


def make_products(rng: random.Random) -> list[ProductSpec]:
    barcodes: set[str] = set()
    per_category: dict[str, int] = {}
    out: list[ProductSpec] = []
    for template in PRODUCTS:
        seq = per_category[template.category] = per_category.get(template.category, 0) + 1
        out += _variants(rng, template, f"{template.category}-{seq * 10 + 1000}", barcodes)
    ranks = list(range(len(out)))
    rng.shuffle(ranks)
    return [
        replace(p, popularity=p.popularity / (rank + 8) ** 0.9) for p, rank in zip(out, ranks, strict=True)
    ]


def _variants(rng: random.Random, t: ProductTemplate, base: str, barcodes: set[str]) -> list[ProductSpec]:
    price = _price(rng, *t.price_rub)
    weight = rng.randint(*t.weight_g)
    backorder = rng.random() < 0.12
    out = []
    for i, variant in enumerate(t.variants):
        size = variant.rpartition(", ")[2] if variant else ""
        out.append(
            ProductSpec(
                sku=base + (_suffix(variant, i) if len(t.variants) > 1 else ""),
                name=f"{t.name}, {variant}" if variant else t.name,
                category=t.category,
                barcode=ean13(rng, barcodes),
                weight_g=weight,
                length_mm=t.dims_mm[0],
                width_mm=t.dims_mm[1],
                height_mm=t.dims_mm[2],
                price_minor=int(price * 1.6**i) // 1000 * 1000 - 1000 + 900 if "ГБ" in variant else price,
                allow_backorder=backorder,
                popularity=2.0 if size in {"M", "L"} else 1.0,
            )
        )
    return out


def make_warehouses() -> list[WarehouseIn]:
    return [
        WarehouseIn(
            code=w.code,
            name=w.name,
            address=w.address,
            city=w.city,
            region=w.region,
            latitude=w.lat,
            longitude=w.lon,
            priority=w.priority,
            cutoff_time=w.cutoff,
            timezone=w.timezone,
        )
        for w in WAREHOUSES
    ]


def make_stock(rng: random.Random, products: Sequence[ProductSpec]) -> list[StockSpec]:
    top = max(p.popularity for p in products)
    sold_out = {p.sku for p in products if rng.random() < (0.3 if p.allow_backorder else 0.03)}
    out = []
    for w in WAREHOUSES:
        slots = [f"{z}-{a:02d}-{s:02d}" for z in w.zones for a in range(1, 21) for s in range(1, 9)]
        bins = iter(rng.sample(slots, len(products)))
        for p in products:
            if rng.random() > _STOCKED[w.code]:
                continue
            units = int(300 * p.popularity / top * rng.uniform(0.5, 1.5)) + rng.randint(2, 25)
            out.append(StockSpec(w.code, p.sku, 0 if p.sku in sold_out else units, next(bins)))
    return out


def generate(*, orders: int, seed: int, now: datetime) -> DemoData:
    """All demo data for ``orders`` orders (past + open) ending at ``now``."""
    rng = random.Random(seed)
    products = make_products(rng)
    stock = make_stock(rng, products)
    customers = make_customers(
        rng, min(1000, max(50, orders // 20)), registered_from=now - timedelta(days=730)
    )
    past, open_count = split_orders(orders)
    maker = HistoryMaker(rng, customers, products, now)
    history = [maker.make(seq, at)[0] for seq, at in enumerate(order_times(rng, past, now))]
    first: dict[int, datetime] = {}
    for order in history:
        first.setdefault(order.customer, order.created_at)
    customers = [
        replace(c, created_at=min(c.created_at, first[i] - timedelta(hours=rng.uniform(0.1, 200))))
        if i in first
        else c
        for i, c in enumerate(customers)
    ]
    opens = OpenOrders(rng, maker, len(history)).make(open_count)
    return DemoData(make_warehouses(), products, stock, customers, history, opens)


class OpenOrders:
    """Today's orders as intake payloads: regulars, new customers, and a few that the intake must hold."""

    def __init__(self, rng: random.Random, maker: HistoryMaker, seq: int) -> None:
        self.rng, self.maker, self.seq = rng, maker, seq
        self.emails = {c.email for c in maker.customers}
        self.expensive = sorted(maker.products, key=lambda p: -p.price_minor)[:4]

    def make(self, count: int) -> list[OrderCreate]:
        return [self.one(i) for i in range(count)]

    def one(self, i: int) -> OrderCreate:
        rng = self.rng
        # The first two are always the kinds the intake must hold: an unknown town, a big first order.
        roll = (0.0, 0.05)[i] if i < 2 else rng.random()
        customer, address = self.newcomer() if 0.03 <= roll < 0.22 else self.regular()
        shipping_address = self.address(address, coordinates=rng.random() < 0.5)
        if roll < 0.03:
            shipping_address = self.address(replace(address, city=rng.choice(UNKNOWN_TOWNS), region=""))
        lines = self.expensive_lines() if 0.03 <= roll < 0.07 else self.maker.lines()
        channel = rng.choice(("ozon", "ozon", "web", "api"))
        subtotal = sum(ln.total_minor for ln in lines)
        shipping = 299_00 if channel == "web" and subtotal < 3000_00 else 0
        self.seq += 1
        return OrderCreate(
            channel=channel,
            external_id=self.maker.external_id(channel, self.seq),
            customer=customer,
            shipping_address=shipping_address,
            lines=[
                LineIn(sku=ln.sku, quantity=ln.quantity, unit_price_minor=ln.unit_price_minor) for ln in lines
            ],
            shipping_minor=shipping,
            total_minor=subtotal + shipping,
            payment_status=rng.choices(("paid", "cod", "pending", "failed"), weights=(70, 18, 10, 2))[0],
        )

    def regular(self) -> tuple[CustomerIn, AddressSpec]:
        rng = self.rng
        c = self.maker.customers[
            rng.choices(range(len(self.maker.customers)), cum_weights=self.maker.customer_cum)[0]
        ]
        customer = CustomerIn(name=c.name, email=c.email, phone=pretty_phone(c.phone, rng))
        return customer, rng.choice(c.addresses)

    def newcomer(self) -> tuple[CustomerIn, AddressSpec]:
        rng = self.rng
        first, surname, name = person_name(rng)
        email = email_for(first, surname, rng, self.emails)
        city = rng.choices(CITIES, cum_weights=list(accumulate(c.weight for c in CITIES)))[0]
        return CustomerIn(name=name, email=email, phone=pretty_phone(valid_mobile(rng), rng)), address_in(
            city, rng
        )

    def expensive_lines(self) -> tuple[LineSpec, ...]:
        """A first order well above the default review limit of 50,000 RUB."""
        p = self.rng.choice(self.expensive)
        qty = max(2, -(-6_000_000 // p.price_minor))
        return (LineSpec(p.sku, p.name, qty, p.price_minor),)

    @staticmethod
    def address(a: AddressSpec, *, coordinates: bool = False) -> AddressIn:
        return AddressIn(
            region=a.region,
            city=a.city,
            postcode=a.postcode,
            line1=a.line1,
            line2=a.line2,
            latitude=a.lat if coordinates else None,
            longitude=a.lon if coordinates else None,
        )
