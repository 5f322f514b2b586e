"""Tariff tables: zones, brackets, volumetric weight, insurance and cut-offs, as a shipper would see them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from zakaz.carriers import cdek, courier, russian_post
from zakaz.carriers.base import Location, Parcel, Rate, ShipmentRequest
from zakaz.carriers.tariffs import (
    MSK,
    CutOff,
    DistanceBand,
    DistanceZones,
    RegionZones,
    ServiceTariff,
    chargeable_weight_g,
    haversine_km,
    volumetric_weight_g,
    zone_tariff,
)

MOSCOW = Location("Москва", "Москва", "101000", lat=55.7558, lon=37.6173)
SPB = Location("Санкт-Петербург", "Санкт-Петербург", "190000", lat=59.9343, lon=30.3351)
KAZAN = Location("Казань", "Республика Татарстан", "420111", lat=55.7963, lon=49.1088)
VLADIVOSTOK = Location("Владивосток", "Приморский край", "690000", lat=43.1155, lon=131.8855)
WEDNESDAY_10_MSK = datetime(2025, 6, 4, 10, 0, tzinfo=MSK)
SMALL_BOX = Parcel(1000, 200, 150, 100)


def shipment(
    destination: Location = KAZAN,
    parcels: tuple[Parcel, ...] = (SMALL_BOX,),
    *,
    ready_at: datetime = WEDNESDAY_10_MSK,
    declared_rub: int = 0,
    distance_km: float | None = None,
    origin: Location = MOSCOW,
) -> ShipmentRequest:
    return ShipmentRequest(
        origin, destination, parcels, declared_rub * 100, ready_at, distance_km=distance_km
    )


def rate_for(tariffs: tuple[ServiceTariff, ...], service_code: str, request: ShipmentRequest) -> Rate | None:
    (tariff,) = [t for t in tariffs if t.service_code == service_code]
    return tariff.quote(request)


def test_volumetric_weight_is_volume_over_divisor_rounded_up() -> None:
    box = Parcel(500, 400, 300, 200)  # 24,000 cm3
    assert volumetric_weight_g(box, 5000) == 4800
    assert volumetric_weight_g(box, 6000) == 4000
    assert volumetric_weight_g(Parcel(1, 1, 1, 1), 5000) == 1  # never rounds a parcel down to zero


def test_chargeable_weight_is_the_heavier_of_actual_and_volumetric() -> None:
    light_big_box = Parcel(500, 400, 300, 200)
    heavy_small_box = Parcel(7000, 200, 150, 100)
    assert chargeable_weight_g(light_big_box, 5000) == 4800
    assert chargeable_weight_g(heavy_small_box, 5000) == 7000
    assert chargeable_weight_g(light_big_box, None) == 500  # carriers without volumetric pricing


def test_a_light_but_bulky_parcel_costs_more_with_cdek() -> None:
    tariffs = cdek.default_tariffs()
    small = rate_for(tariffs, "136", shipment(parcels=(Parcel(500, 200, 150, 100),)))
    bulky = rate_for(tariffs, "136", shipment(parcels=(Parcel(500, 400, 300, 200),)))
    assert small is not None and bulky is not None
    assert (small.chargeable_weight_g, bulky.chargeable_weight_g) == (600, 4800)
    assert small.price_minor == 390_00 and bulky.price_minor == 680_00  # zone C: up to 1 kg vs up to 5 kg


def test_haversine_matches_known_city_distances() -> None:
    assert haversine_km(MOSCOW, SPB) == pytest.approx(634, abs=5)
    assert haversine_km(MOSCOW, VLADIVOSTOK) == pytest.approx(6430, abs=30)
    with pytest.raises(ValueError):
        haversine_km(MOSCOW, Location("X", "Y", "000000"))


def test_russian_post_zone_follows_distance_from_coordinates() -> None:
    tariffs = russian_post.default_tariffs()
    rates = {dest.city: rate_for(tariffs, "parcel", shipment(dest)) for dest in (SPB, KAZAN, VLADIVOSTOK)}
    assert {city: r.zone for city, r in rates.items() if r} == {
        "Санкт-Петербург": "2",
        "Казань": "2",
        "Владивосток": "4",
    }


def test_explicit_distance_wins_over_coordinates() -> None:
    rate = rate_for(russian_post.default_tariffs(), "parcel", shipment(SPB, distance_km=550))
    assert rate is not None and rate.zone == "1" and rate.delivery_days == 3


def test_distance_services_are_omitted_when_distance_is_unknown() -> None:
    nowhere = Location("Казань", "Республика Татарстан", "420111")
    request = shipment(nowhere)
    assert rate_for(russian_post.default_tariffs(), "parcel", request) is None
    assert rate_for(cdek.default_tariffs(), "136", request) is not None  # region-zoned: still served


def test_courier_serves_only_within_its_distance_bands() -> None:
    tariffs = courier.default_tariffs()
    zones = {
        km: rate_for(tariffs, "next_day", shipment(MOSCOW, distance_km=km)) for km in (10, 15, 30, 80, 81)
    }
    assert {km: r.zone if r else None for km, r in zones.items()} == {
        10: "city",
        15: "city",
        30: "suburb",
        80: "region",
        81: None,
    }
    assert rate_for(tariffs, "same_day", shipment(MOSCOW, distance_km=60)) is None


@pytest.mark.parametrize(
    ("origin_region", "destination", "zone"),
    [
        ("Москва", MOSCOW, "A"),
        ("Москва", SPB, "B"),
        ("Москва", KAZAN, "C"),
        ("Москва", VLADIVOSTOK, "E"),
        ("Москва", Location("Томск", "Томская область", "634000"), "D"),
        ("Приморский край", VLADIVOSTOK, "A"),
    ],
)
def test_cdek_zone_by_region(origin_region: str, destination: Location, zone: str) -> None:
    origin = Location("Склад", origin_region, "000000")
    rate = rate_for(cdek.default_tariffs(), "136", shipment(destination, origin=origin))
    assert rate is not None and rate.zone == zone


def test_region_zones_check_pairs_before_destination_and_ignore_case_and_spaces() -> None:
    zoning = RegionZones(
        pairs={("Москва", "Республика Татарстан"): "special"},
        by_destination={"Республика Татарстан": "C"},
        default_zone="D",
    )
    assert zoning.zone_for(shipment(KAZAN)) == "special"
    spb_origin = Location("СПб", "  санкт-петербург ", "190000")
    assert (
        zoning.zone_for(shipment(Location("Казань", "республика  татарстан", "420111"), origin=spb_origin))
        == "C"
    )
    assert RegionZones().zone_for(shipment(KAZAN)) is None


def _one_zone_tariff(cutoff: CutOff, *, insurance_bp: int = 0) -> ServiceTariff:
    return ServiceTariff(
        carrier_code="test",
        service_code="std",
        service_name="Test",
        zoning=DistanceZones((DistanceBand(1000, "z"),)),
        zones={"z": zone_tariff(2, ((1000, 100), (5000, 200)), extra_per_kg_rub=30)},
        cutoff=cutoff,
        insurance_basis_points=insurance_bp,
    )


@pytest.mark.parametrize(
    ("weight_g", "rub"),
    [(1, 100), (1000, 100), (1001, 200), (5000, 200), (5001, 230), (6000, 230), (6001, 260), (12_500, 440)],
)
def test_weight_brackets_are_inclusive_and_extra_kg_is_charged_per_started_kg(
    weight_g: int, rub: int
) -> None:
    rate = _one_zone_tariff(CutOff(time(17))).quote(
        shipment(parcels=(Parcel(weight_g, 10, 10, 10),), distance_km=5)
    )
    assert rate is not None and rate.price_minor == rub * 100


def test_each_parcel_is_priced_on_its_own_and_summed() -> None:
    parcels = (Parcel(800, 10, 10, 10), Parcel(3000, 10, 10, 10))
    rate = _one_zone_tariff(CutOff(time(17))).quote(shipment(parcels=parcels, distance_km=5))
    assert rate is not None
    assert (rate.price_minor, rate.chargeable_weight_g, rate.heaviest_parcel_g) == (300_00, 3800, 3000)


def test_declared_value_adds_insurance_rounded_up_to_the_kopeck() -> None:
    tariff = _one_zone_tariff(CutOff(time(17)), insurance_bp=400)
    rate = tariff.quote(shipment(declared_rub=10_000, distance_km=5))
    assert rate is not None and rate.price_minor == 100_00 + 400_00
    odd = tariff.quote(ShipmentRequest(MOSCOW, KAZAN, (SMALL_BOX,), 1, WEDNESDAY_10_MSK, distance_km=5))
    assert odd is not None and odd.price_minor == 100_00 + 1


@pytest.mark.parametrize(
    ("ready_at", "ship_day", "respected"),
    [
        (datetime(2025, 6, 4, 16, 59, tzinfo=MSK), 4, True),
        (datetime(2025, 6, 4, 17, 0, tzinfo=MSK), 4, True),
        (datetime(2025, 6, 4, 17, 1, tzinfo=MSK), 5, False),
        (datetime(2025, 6, 4, 13, 30, tzinfo=UTC), 4, True),  # 16:30 in Moscow
        (datetime(2025, 6, 4, 14, 30, tzinfo=UTC), 5, False),  # 17:30 in Moscow
        (datetime(2025, 6, 4, 22, 30, tzinfo=UTC), 5, True),  # Thursday 01:30 in Moscow: ships Thursday
    ],
)
def test_cutoff_decides_the_ship_date_in_local_time(
    ready_at: datetime, ship_day: int, respected: bool
) -> None:
    rate = _one_zone_tariff(CutOff(time(17))).quote(shipment(ready_at=ready_at, distance_km=5))
    assert rate is not None
    assert (rate.ship_date, rate.cutoff_respected) == (date(2025, 6, ship_day), respected)
    assert rate.estimated_delivery_date == date(2025, 6, ship_day + 2)


def test_goods_ready_friday_evening_leave_on_monday_when_carrier_collects_on_weekdays() -> None:
    ems = rate_for(
        russian_post.default_tariffs(), "ems", shipment(ready_at=datetime(2025, 6, 6, 15, 0, tzinfo=MSK))
    )
    assert ems is not None
    assert (ems.ship_date, ems.cutoff_respected) == (date(2025, 6, 9), False)
    assert ems.estimated_delivery_date == date(2025, 6, 9 + ems.delivery_days)


def test_same_day_courier_needs_goods_ready_by_noon() -> None:
    tariffs = courier.default_tariffs()
    morning = rate_for(tariffs, "same_day", shipment(MOSCOW, distance_km=10))
    afternoon = rate_for(
        tariffs,
        "same_day",
        shipment(MOSCOW, distance_km=10, ready_at=datetime(2025, 6, 4, 12, 30, tzinfo=MSK)),
    )
    assert morning is not None and morning.estimated_delivery_date == date(2025, 6, 4)
    assert afternoon is not None and afternoon.estimated_delivery_date == date(2025, 6, 5)


def test_rates_report_the_weight_limit_instead_of_hiding_the_service() -> None:
    heavy = shipment(parcels=(Parcel(3000, 300, 200, 100),))
    first_class = rate_for(russian_post.default_tariffs(), "first_class", heavy)
    assert first_class is not None and not first_class.within_weight_limit
    assert first_class.max_parcel_weight_g == 2500


def test_shipment_request_refuses_naive_ready_time_and_empty_parcels() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ShipmentRequest(MOSCOW, KAZAN, (SMALL_BOX,), 0, datetime(2025, 6, 4, 10, 0))
    with pytest.raises(ValueError, match="at least one parcel"):
        ShipmentRequest(MOSCOW, KAZAN, (), 0, WEDNESDAY_10_MSK)
    with pytest.raises(ValueError):
        Parcel(0, 10, 10, 10)
