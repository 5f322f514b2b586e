"""Our own courier delivery (Курьер Zakaz): ZK numbers, zones by distance from the warehouse.

Default tariffs are ILLUSTRATIVE (plausible Moscow courier prices); set distance bands per warehouse.
Same-day delivery needs the goods ready by 12:00 local time; next-day by 20:00. Raw tracking codes are
the dispatch app's own lower-case codes.
"""

from __future__ import annotations

from datetime import time

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import ShipmentStatus
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.tariffs import CutOff, DistanceBand, DistanceZones, ServiceTariff, zone_tariff
from zakaz.carriers.tracking_numbers import is_valid_courier_number

CODE = "courier"
NAME = "Курьер Zakaz"

STATUS_MAP: dict[str, ShipmentStatus] = {
    "created": ShipmentStatus.LABEL_CREATED,
    "picked_up": ShipmentStatus.HANDED_OVER,
    "at_hub": ShipmentStatus.IN_TRANSIT,
    "on_route": ShipmentStatus.OUT_FOR_DELIVERY,
    "delivered": ShipmentStatus.DELIVERED,
    "failed": ShipmentStatus.DELIVERY_FAILED,
    "returned": ShipmentStatus.RETURNED_TO_SENDER,
    "cancelled": ShipmentStatus.CANCELLED,
}

CITY_ZONING = DistanceZones(
    (DistanceBand(15, "city"), DistanceBand(40, "suburb"), DistanceBand(80, "region"))
)
_BRACKETS = (5000, 15_000, 25_000)


def default_tariffs() -> tuple[ServiceTariff, ...]:
    same_day = {
        "city": zone_tariff(0, tuple(zip(_BRACKETS, (550, 650, 800), strict=True)), 30),
        "suburb": zone_tariff(0, tuple(zip(_BRACKETS, (700, 850, 1000), strict=True)), 40),
    }
    next_day = {
        "city": zone_tariff(1, tuple(zip(_BRACKETS, (350, 450, 600), strict=True)), 30),
        "suburb": zone_tariff(1, tuple(zip(_BRACKETS, (500, 650, 800), strict=True)), 40),
        "region": zone_tariff(1, tuple(zip(_BRACKETS, (800, 950, 1100), strict=True)), 50),
    }
    return (
        ServiceTariff(
            carrier_code=CODE,
            service_code="same_day",
            service_name="Курьер в день заказа",
            zoning=CITY_ZONING,
            zones=same_day,
            cutoff=CutOff(time(12, 0)),
            max_parcel_weight_g=25_000,
        ),
        ServiceTariff(
            carrier_code=CODE,
            service_code="next_day",
            service_name="Курьер на следующий день",
            zoning=CITY_ZONING,
            zones=next_day,
            cutoff=CutOff(time(20, 0)),
            max_parcel_weight_g=25_000,
        ),
    )


class CourierCarrier(HttpCarrier):
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
            is_valid_tracking_number=is_valid_courier_number,
            client=client,
            webhook_secret=webhook_secret,
        )
