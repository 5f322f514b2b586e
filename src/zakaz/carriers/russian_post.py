"""Russian Post (Почта России): S10 tracking numbers, zones by distance, no volumetric weight.

Default tariffs are ILLUSTRATIVE (plausible 2025 retail magnitudes, not Russian Post's price list): replace
them with the shipper's contract tables. Raw tracking codes are ``<operation type>.<attribute>`` modelled on
Russian Post's tracking operations (1 acceptance, 2 delivery, 3 return, 8 processing, 12 failed attempt);
``0.x`` stands for the shipper's online pre-registration. ``STATUS_MAP`` is the one place to correct them.
"""

from __future__ import annotations

from datetime import time

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import ShipmentStatus
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.tariffs import CutOff, DistanceBand, DistanceZones, ServiceTariff, zone_tariff
from zakaz.carriers.tracking_numbers import is_valid_s10

CODE = "russian_post"
NAME = "Почта России"
MON_TO_SAT = frozenset(range(6))
MON_TO_FRI = frozenset(range(5))

STATUS_MAP: dict[str, ShipmentStatus] = {
    "0.0": ShipmentStatus.LABEL_CREATED,
    "0.9": ShipmentStatus.CANCELLED,
    "1.1": ShipmentStatus.HANDED_OVER,
    "8.0": ShipmentStatus.IN_TRANSIT,
    "8.1": ShipmentStatus.IN_TRANSIT,
    "8.2": ShipmentStatus.OUT_FOR_DELIVERY,  # arrived at the delivery post office
    "2.1": ShipmentStatus.DELIVERED,
    "12.0": ShipmentStatus.DELIVERY_FAILED,
    "3.1": ShipmentStatus.RETURNED_TO_SENDER,
    "2.3": ShipmentStatus.RETURNED_TO_SENDER,  # handed back to the sender
}

# Distance zones ("пояса"): up to 600 km, 2000 km, 5000 km, and the rest of the country.
ZONING = DistanceZones(
    (DistanceBand(600, "1"), DistanceBand(2000, "2"), DistanceBand(5000, "3"), DistanceBand(10_000, "4"))
)


def default_tariffs() -> tuple[ServiceTariff, ...]:
    parcel = {
        "1": zone_tariff(3, ((1000, 290), (3000, 380), (5000, 460), (10_000, 650), (20_000, 980)), 50),
        "2": zone_tariff(5, ((1000, 350), (3000, 470), (5000, 580), (10_000, 840), (20_000, 1290)), 65),
        "3": zone_tariff(8, ((1000, 420), (3000, 590), (5000, 740), (10_000, 1090), (20_000, 1690)), 85),
        "4": zone_tariff(12, ((1000, 520), (3000, 740), (5000, 940), (10_000, 1390), (20_000, 2190)), 110),
    }
    first_class = {
        "1": zone_tariff(2, ((500, 210), (1000, 260), (2500, 330)), 90),
        "2": zone_tariff(3, ((500, 250), (1000, 310), (2500, 400)), 110),
        "3": zone_tariff(5, ((500, 300), (1000, 380), (2500, 490)), 130),
        "4": zone_tariff(7, ((500, 360), (1000, 460), (2500, 600)), 160),
    }
    ems = {
        "1": zone_tariff(1, ((1000, 690), (5000, 990), (10_000, 1390), (31_500, 2490)), 80),
        "2": zone_tariff(2, ((1000, 890), (5000, 1290), (10_000, 1890), (31_500, 3390)), 110),
        "3": zone_tariff(4, ((1000, 1090), (5000, 1690), (10_000, 2490), (31_500, 4490)), 150),
        "4": zone_tariff(6, ((1000, 1390), (5000, 2190), (10_000, 3290), (31_500, 5990)), 190),
    }
    return (
        ServiceTariff(
            carrier_code=CODE,
            service_code="parcel",
            service_name="Посылка онлайн",
            zoning=ZONING,
            zones=parcel,
            cutoff=CutOff(time(17, 0), handover_weekdays=MON_TO_SAT),
            max_parcel_weight_g=20_000,
            insurance_basis_points=400,
        ),
        ServiceTariff(
            carrier_code=CODE,
            service_code="first_class",
            service_name="Отправление 1 класса",
            zoning=ZONING,
            zones=first_class,
            cutoff=CutOff(time(17, 0), handover_weekdays=MON_TO_SAT),
            max_parcel_weight_g=2_500,
            insurance_basis_points=400,
        ),
        ServiceTariff(
            carrier_code=CODE,
            service_code="ems",
            service_name="EMS Оптимальное",
            zoning=ZONING,
            zones=ems,
            cutoff=CutOff(time(14, 0), handover_weekdays=MON_TO_FRI),
            max_parcel_weight_g=31_500,
            insurance_basis_points=100,
        ),
    )


class RussianPostCarrier(HttpCarrier):
    def __init__(
        self,
        client: CarrierApiClient,
        *,
        tariffs: tuple[ServiceTariff, ...] | None = None,
        webhook_secret: str = "",
    ) -> None:
        super().__init__(
            code=CODE,
            name=NAME,
            tariffs=default_tariffs() if tariffs is None else tariffs,
            status_map=STATUS_MAP,
            is_valid_tracking_number=is_valid_s10,
            client=client,
            webhook_secret=webhook_secret,
        )
