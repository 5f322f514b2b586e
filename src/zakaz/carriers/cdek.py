"""CDEK (СДЭК): 10-digit order numbers, zones by region, volumetric weight at 5000 cm3/kg.

Default tariffs are ILLUSTRATIVE (plausible magnitudes for shipping from Moscow, not CDEK's price list);
configure ``RegionZones`` per warehouse region for real use. Service codes follow CDEK's tariff codes
(136 "Посылка склад-склад", 137 "Посылка склад-дверь"); raw tracking codes follow CDEK API v2 status codes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import ShipmentStatus
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.tariffs import CutOff, RegionZones, ServiceTariff, ZoneTariff, zone_tariff
from zakaz.carriers.tracking_numbers import is_valid_cdek_number

CODE = "cdek"
NAME = "СДЭК"

_TRANSIT = (
    "ACCEPTED",
    "READY_FOR_SHIPMENT_IN_SENDER_CITY",
    "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY",
    "SENT_TO_TRANSIT_CITY",
    "ACCEPTED_IN_TRANSIT_CITY",
    "SENT_TO_RECIPIENT_CITY",
    "ACCEPTED_IN_RECIPIENT_CITY",
    "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE",
)
STATUS_MAP: dict[str, ShipmentStatus] = {
    "CREATED": ShipmentStatus.LABEL_CREATED,
    "RECEIVED_AT_SHIPMENT_WAREHOUSE": ShipmentStatus.HANDED_OVER,
    **dict.fromkeys(_TRANSIT, ShipmentStatus.IN_TRANSIT),
    "TAKEN_BY_COURIER": ShipmentStatus.OUT_FOR_DELIVERY,
    "ACCEPTED_AT_PICK_UP_POINT": ShipmentStatus.OUT_FOR_DELIVERY,  # waiting at the pick-up point
    "DELIVERED": ShipmentStatus.DELIVERED,
    "NOT_DELIVERED": ShipmentStatus.DELIVERY_FAILED,
    "RETURNED_TO_SENDER": ShipmentStatus.RETURNED_TO_SENDER,
    "REMOVED": ShipmentStatus.CANCELLED,
}

_NEAR = ("Московская область", "Тверская область", "Тульская область", "Калужская область",
         "Владимирская область", "Рязанская область", "Ярославская область", "Санкт-Петербург",
         "Ленинградская область")  # fmt: skip
_MID = ("Нижегородская область", "Республика Татарстан", "Самарская область", "Краснодарский край",
        "Ростовская область", "Свердловская область", "Воронежская область", "Пермский край")  # fmt: skip
_FAR_EAST = ("Приморский край", "Хабаровский край", "Камчатский край", "Сахалинская область",
             "Магаданская область", "Чукотский автономный округ")  # fmt: skip

ZONING = RegionZones(
    same_region_zone="A",
    by_destination={**dict.fromkeys(_NEAR, "B"), **dict.fromkeys(_MID, "C"), **dict.fromkeys(_FAR_EAST, "E")},
    default_zone="D",
)
_BRACKETS = (1000, 3000, 5000, 10_000, 15_000, 30_000)
_WAREHOUSE_RUB = {
    "A": (1, (250, 330, 420, 620, 820, 1290), 45),
    "B": (2, (320, 420, 540, 800, 1050, 1650), 55),
    "C": (3, (390, 520, 680, 1020, 1350, 2150), 70),
    "D": (5, (520, 720, 930, 1420, 1890, 2990), 95),
    "E": (8, (790, 1150, 1490, 2290, 3050, 4890), 160),
}
DOOR_SURCHARGE_RUB = 180


def _zones(surcharge_rub: int) -> dict[str, ZoneTariff]:
    return {
        zone: zone_tariff(
            days, tuple(zip(_BRACKETS, (p + surcharge_rub for p in prices), strict=True)), extra
        )
        for zone, (days, prices, extra) in _WAREHOUSE_RUB.items()
    }


def default_tariffs() -> tuple[ServiceTariff, ...]:
    warehouse = ServiceTariff(
        carrier_code=CODE,
        service_code="136",
        service_name="Посылка склад-склад",
        zoning=ZONING,
        zones=_zones(0),
        cutoff=CutOff(time(15, 0), handover_weekdays=frozenset(range(6))),
        volumetric_divisor=5000,
        max_parcel_weight_g=30_000,
        insurance_basis_points=75,
    )
    door = replace(
        warehouse, service_code="137", service_name="Посылка склад-дверь", zones=_zones(DOOR_SURCHARGE_RUB)
    )
    return (warehouse, door)


class CdekCarrier(HttpCarrier):
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
            is_valid_tracking_number=is_valid_cdek_number,
            client=client,
            webhook_secret=webhook_secret,
        )
