"""Pure, configurable tariff tables: zones, weight brackets, volumetric weight, delivery days, cut-offs.

A ``ServiceTariff`` prices one carrier service for one ``ShipmentRequest`` and returns a ``Rate`` (or None
when the service does not serve the route). No I/O: carriers build these from their defaults or settings.

Zones come either from distance bands (``DistanceZones``) or from a region table (``RegionZones``). Each
parcel is priced on its chargeable weight, ``max(actual, volumetric)``, where volumetric weight is
``L x W x H / divisor`` (divisor in cm3 per kg, 5000 being the usual courier figure).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from zakaz.carriers.base import Location, Parcel, Rate, ShipmentRequest

# Moscow has had no daylight saving since 2014, so a fixed offset is exact and needs no tzdata.
MSK = timezone(timedelta(hours=3), "MSK")
EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance between two locations with coordinates (no ``zakaz.geo`` exists yet)."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        raise ValueError("both locations need lat/lon for a distance")
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def shipment_distance_km(request: ShipmentRequest) -> float | None:
    """The caller's ``distance_km`` if given, else great-circle distance, else None (unknown)."""
    if request.distance_km is not None:
        return request.distance_km
    try:
        return haversine_km(request.origin, request.destination)
    except ValueError:
        return None


def volumetric_weight_g(parcel: Parcel, divisor_cm3_per_kg: int) -> int:
    """L x W x H / divisor, in grams rounded up: mm3 / divisor gives grams directly (1000 mm3 = 1 cm3)."""
    if divisor_cm3_per_kg <= 0:
        raise ValueError("volumetric divisor must be positive")
    return -(-parcel.volume_mm3 // divisor_cm3_per_kg)


def chargeable_weight_g(parcel: Parcel, divisor_cm3_per_kg: int | None) -> int:
    if divisor_cm3_per_kg is None:
        return parcel.weight_g
    return max(parcel.weight_g, volumetric_weight_g(parcel, divisor_cm3_per_kg))


@dataclass(frozen=True, slots=True)
class DistanceBand:
    """Distances up to and including ``max_km`` fall into ``zone`` (bands are checked in ascending order)."""

    max_km: float
    zone: str


@dataclass(frozen=True, slots=True)
class DistanceZones:
    bands: tuple[DistanceBand, ...]

    def zone_for(self, request: ShipmentRequest) -> str | None:
        distance = shipment_distance_km(request)
        if distance is None:
            return None
        for band in sorted(self.bands, key=lambda b: b.max_km):
            if distance <= band.max_km:
                return band.zone
        return None


def _key(region: str) -> str:
    return " ".join(region.split()).casefold()


@dataclass(frozen=True, slots=True)
class RegionZones:
    """Zone by region: same region, then (origin, destination) pair, then destination alone, then default."""

    same_region_zone: str | None = None
    pairs: Mapping[tuple[str, str], str] = field(default_factory=dict)
    by_destination: Mapping[str, str] = field(default_factory=dict)
    default_zone: str | None = None

    def zone_for(self, request: ShipmentRequest) -> str | None:
        origin, destination = _key(request.origin.region), _key(request.destination.region)
        if origin == destination and self.same_region_zone is not None:
            return self.same_region_zone
        pairs = {(_key(a), _key(b)): zone for (a, b), zone in self.pairs.items()}
        if (origin, destination) in pairs:
            return pairs[origin, destination]
        by_destination = {_key(region): zone for region, zone in self.by_destination.items()}
        return by_destination.get(destination, self.default_zone)


@dataclass(frozen=True, slots=True)
class WeightBracket:
    """Chargeable weights up to and including ``max_weight_g`` cost ``price_minor``."""

    max_weight_g: int
    price_minor: int


@dataclass(frozen=True, slots=True)
class ZoneTariff:
    """Prices and transit time for one zone. Above the top bracket each started kg costs ``extra_per_kg``."""

    brackets: tuple[WeightBracket, ...]
    delivery_days: int
    extra_per_kg_minor: int = 0

    def parcel_price(self, weight_g: int) -> int:
        brackets = sorted(self.brackets, key=lambda b: b.max_weight_g)
        for bracket in brackets:
            if weight_g <= bracket.max_weight_g:
                return bracket.price_minor
        top = brackets[-1]
        extra_kg = -(-(weight_g - top.max_weight_g) // 1000)
        return top.price_minor + extra_kg * self.extra_per_kg_minor


@dataclass(frozen=True, slots=True)
class CutOff:
    """Goods ready at or before ``at`` (local time in ``tz``) leave that day, later ones the next
    handover day.

    A cut-off of 17:00 means ready at 17:00:00 still ships today. ``handover_weekdays``: Monday = 0.
    """

    at: time
    tz: tzinfo = MSK
    handover_weekdays: frozenset[int] = frozenset(range(7))

    def ship_date(self, ready_at: datetime) -> tuple[date, bool]:
        """The day the carrier takes the goods, and whether that is the day they became ready."""
        local = ready_at.astimezone(self.tz)
        day = local.date() if local.time() <= self.at else local.date() + timedelta(days=1)
        while day.weekday() not in self.handover_weekdays:
            day += timedelta(days=1)
        return day, day == local.date()


@dataclass(frozen=True, slots=True)
class ServiceTariff:
    """One carrier service: how to find the zone, what each zone costs, limits, insurance and cut-off."""

    carrier_code: str
    service_code: str
    service_name: str
    zoning: DistanceZones | RegionZones
    zones: Mapping[str, ZoneTariff]
    cutoff: CutOff
    volumetric_divisor: int | None = None
    max_parcel_weight_g: int | None = None
    insurance_basis_points: int = 0  # fee on declared value: 400 bp = 4 %
    currency: str = "RUB"

    def quote(self, request: ShipmentRequest) -> Rate | None:
        zone = self.zoning.zone_for(request)
        if zone is None or zone not in self.zones:
            return None
        tariff = self.zones[zone]
        weights = [chargeable_weight_g(p, self.volumetric_divisor) for p in request.parcels]
        insurance = -(-request.declared_value_minor * self.insurance_basis_points // 10_000)
        ship_date, same_day = self.cutoff.ship_date(request.ready_at)
        return Rate(
            carrier_code=self.carrier_code,
            service_code=self.service_code,
            service_name=self.service_name,
            price_minor=sum(tariff.parcel_price(w) for w in weights) + insurance,
            currency=self.currency,
            delivery_days=tariff.delivery_days,
            ship_date=ship_date,
            estimated_delivery_date=ship_date + timedelta(days=tariff.delivery_days),
            cutoff_respected=same_day,
            chargeable_weight_g=sum(weights),
            heaviest_parcel_g=max(p.weight_g for p in request.parcels),
            max_parcel_weight_g=self.max_parcel_weight_g,
            zone=zone,
        )


def quote_all(tariffs: tuple[ServiceTariff, ...], request: ShipmentRequest) -> list[Rate]:
    """Every service that serves the route, cheapest first."""
    rates = [rate for tariff in tariffs if (rate := tariff.quote(request)) is not None]
    return sorted(rates, key=lambda r: (r.price_minor, r.estimated_delivery_date, r.service_code))


def zone_tariff(
    delivery_days: int, rub_by_max_g: tuple[tuple[int, int], ...], extra_per_kg_rub: int = 0
) -> ZoneTariff:
    """Compact table syntax for defaults: ``((1000, 290), (3000, 380))`` means up to 1 kg 290 RUB, ..."""
    brackets = tuple(WeightBracket(max_g, rub * 100) for max_g, rub in rub_by_max_g)
    return ZoneTariff(
        brackets=brackets, delivery_days=delivery_days, extra_per_kg_minor=extra_per_kg_rub * 100
    )
