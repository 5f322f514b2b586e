"""Demo customers: Russian names, e-mails, valid +7 9xx mobiles and addresses with coordinates. Pure."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

import phonenumbers

from zakaz.demo.vocab import (
    CITIES,
    EMAIL_DOMAINS,
    FEMALE_FIRST,
    MALE_FIRST,
    MOBILE_CODES,
    STREETS,
    SURNAMES,
    TRANSLIT,
    WAREHOUSES,
    City,
)


@dataclass(frozen=True)
class AddressSpec:
    region: str
    city: str
    postcode: str
    line1: str
    line2: str
    lat: float
    lon: float
    nearest_warehouse: str
    distance_km: float
    utc_offset: int


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    email: str
    phone: str  # E.164, as the intake stores it
    created_at: datetime
    addresses: tuple[AddressSpec, ...]
    weight: float  # how often this customer orders (a few order a lot)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def translit(text: str) -> str:
    return "".join(TRANSLIT.get(ch, ch) for ch in text.lower())


def valid_mobile(rng: random.Random) -> str:
    """A +7 9xx number that ``phonenumbers`` accepts as a valid Russian mobile (E.164)."""
    while True:
        raw = f"+7{rng.choice(MOBILE_CODES)}{rng.randrange(10**7):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(raw, "RU")):
            return raw


def pretty_phone(e164: str, rng: random.Random) -> str:
    """The same number the way people type it (8 (916) 123-45-67, +7 916 1234567, ...)."""
    d = e164[2:]
    return rng.choice(
        (
            f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"+7{d}",
            f"8{d}",
        )
    )


def person_name(rng: random.Random) -> tuple[str, str, str]:
    """(first name, surname, display name) with the surname agreeing in gender."""
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.55:
        first = rng.choice(FEMALE_FIRST)
        surname = female_surname(surname)
    else:
        first = rng.choice(MALE_FIRST)
    return first, surname, f"{first} {surname}"


def email_for(first: str, surname: str, rng: random.Random, taken: set[str]) -> str:
    domains = [d for d, _ in EMAIL_DOMAINS]
    weights = list(accumulate(w for _, w in EMAIL_DOMAINS))
    while True:
        style = rng.randrange(4)
        f, s = translit(first), translit(surname)
        local = (f"{f}.{s}", f"{f[0]}{s}", f"{s}{rng.randrange(1970, 2006)}", f"{f}_{s}{rng.randrange(100)}")[
            style
        ]
        email = f"{local}@{rng.choices(domains, cum_weights=weights)[0]}"
        if email not in taken:
            taken.add(email)
            return email


def address_in(city: City, rng: random.Random) -> AddressSpec:
    lat = round(city.lat + rng.uniform(-0.06, 0.06), 5)
    lon = round(city.lon + rng.uniform(-0.09, 0.09), 5)
    house = rng.randrange(1, 120)
    line1 = f"{rng.choice(STREETS)}, д. {house}"
    if rng.random() < 0.2:
        line1 += f", корп. {rng.randrange(1, 5)}"
    line2 = f"кв. {rng.randrange(1, 300)}" if rng.random() < 0.85 else ""
    distances = sorted((km(lat, lon, w.lat, w.lon), w.code) for w in WAREHOUSES)
    return AddressSpec(
        region=city.region,
        city=city.name,
        postcode=f"{city.postcode + rng.randrange(0, 90):06d}",
        line1=line1,
        line2=line2,
        lat=lat,
        lon=lon,
        nearest_warehouse=distances[0][1],
        distance_km=round(distances[0][0], 1),
        utc_offset=city.utc_offset,
    )


def make_customers(rng: random.Random, count: int, *, registered_from: datetime) -> list[CustomerSpec]:
    city_weights = list(accumulate(c.weight for c in CITIES))
    emails: set[str] = set()
    phones: set[str] = set()
    span = 730 * 86400
    out = []
    for _ in range(count):
        first, surname, name = person_name(rng)
        phone = valid_mobile(rng)
        while phone in phones:
            phone = valid_mobile(rng)
        phones.add(phone)
        home = rng.choices(CITIES, cum_weights=city_weights)[0]
        addresses = [address_in(home, rng)]
        if rng.random() < 0.15:  # a second address: office, parents, dacha town
            addresses.append(address_in(rng.choices(CITIES, cum_weights=city_weights)[0], rng))
        out.append(
            CustomerSpec(
                name=name,
                email=email_for(first, surname, rng, emails),
                phone=phone,
                created_at=registered_from + timedelta(seconds=rng.randrange(span)),
                addresses=tuple(addresses),
                weight=min(rng.paretovariate(1.3), 40.0),
            )
        )
    return out
