"""The configured carriers, built once from settings (or handed in by tests and the benchmark).

Issue #7: marketplace deliveries (``zakaz.carriers.marketplace``, e.g. Ozon FBS) are always registered
beside them: ``find`` returns either kind; ``get`` and iteration only our own carriers (the ones rate
shopping quotes and bookings, webhooks and tracking polls address).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.cdek import CdekCarrier
from zakaz.carriers.client import CarrierApiClient
from zakaz.carriers.courier import CourierCarrier
from zakaz.carriers.marketplace import MARKETPLACE_CARRIERS, MarketplaceCarrier
from zakaz.carriers.russian_post import RussianPostCarrier
from zakaz.errors import NotFound
from zakaz.fulfilment.config import CarrierConfig

FACTORIES: dict[str, Callable[..., HttpCarrier]] = {
    "russian_post": RussianPostCarrier,
    "cdek": CdekCarrier,
    "courier": CourierCarrier,
}


#: A carrier fulfilment can address by code: one of ours, or a marketplace's own delivery (issue #7).
AnyCarrier = HttpCarrier | MarketplaceCarrier


@dataclass
class CarrierRegistry:
    carriers: dict[str, HttpCarrier] = field(default_factory=dict)
    #: Marketplace deliveries, by code: never quoted, booked by the marketplace jobs (issue #7).
    marketplace: dict[str, MarketplaceCarrier] = field(default_factory=lambda: dict(MARKETPLACE_CARRIERS))

    def get(self, code: str) -> HttpCarrier:
        """One of our carriers (quote, book, label, track, webhook)."""
        carrier = self.carriers.get(code)
        if carrier is None:
            if code in self.marketplace:  # issue #7
                raise NotFound(
                    f"{self.marketplace[code].name} is a marketplace's own delivery: the marketplace books, "
                    "labels and tracks it",
                    carrier=code,
                )
            raise NotFound(
                f"carrier {code!r} is not configured", carrier=code, configured=sorted(self.carriers)
            )
        return carrier

    def find(self, code: str) -> AnyCarrier:
        """Issue #7: ours or a marketplace's delivery (for what both can answer: cancel, track)."""
        found = self.marketplace.get(code)
        return found if found is not None else self.get(code)

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
