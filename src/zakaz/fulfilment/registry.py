"""The configured carriers, built once from settings (or handed in by tests and the benchmark)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.courier import CourierCarrier
from zakaz.carriers.russian_post import RussianPostCarrier
from zakaz.errors import NotFound
from zakaz.fulfilment.config import CarrierConfig

FACTORIES: dict[str, Callable[..., HttpCarrier]] = {
    "russian_post": RussianPostCarrier,
    "cdek": CdekCarrier,
    "courier": CourierCarrier,
}


@dataclass
class CarrierRegistry:
    carriers: dict[str, HttpCarrier] = field(default_factory=dict)

    def get(self, code: str) -> HttpCarrier:
        carrier = self.carriers.get(code)
        if carrier is None:
            raise NotFound(
                f"carrier {code!r} is not configured", carrier=code, configured=sorted(self.carriers)
            )
        return carrier

    def __iter__(self) -> Iterator[HttpCarrier]:
        return iter(self.carriers[code] for code in sorted(self.carriers))

    def __len__(self) -> int:
        return len(self.carriers)


def build_registry(configs: Mapping[str, CarrierConfig]) -> CarrierRegistry:
    carriers: dict[str, HttpCarrier] = {}
    for code, cfg in configs.items():
        factory = FACTORIES.get(code)
        if factory is None:
            raise ValueError(f"unknown carrier {code!r}; known: {', '.join(sorted(FACTORIES))}")
        client = CarrierApiClient(cfg.base_url, cfg.api_key, timeout_s=cfg.timeout_s)
        carriers[code] = factory(client, webhook_secret=cfg.webhook_secret)
    return CarrierRegistry(carriers)
