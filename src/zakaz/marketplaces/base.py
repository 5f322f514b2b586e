"""Marketplace-independent contract: our own frozen dataclasses, errors and the adapter Protocol.

Vendor JSON never leaves a vendor subpackage (``zakaz.marketplaces.ozon``); everything the rest of Zakaz
sees is defined here. Marketplace ids are kept as strings (Ozon int64 ids arrive as numbers *or* strings).
Money is integer minor units; datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol, runtime_checkable

from zakaz.money import CURRENCIES
from zakaz.orders.states import OrderStatus

__all__ = [
    "CancelReason",
    "EventKind",
    "ItemError",
    "MappingError",
    "MarketplaceAdapter",
    "MarketplaceAddress",
    "MarketplaceAuthError",
    "MarketplaceCustomer",
    "MarketplaceError",
    "MarketplaceEvent",
    "MarketplaceLine",
    "MarketplaceNotFound",
    "MarketplaceOrder",
    "MarketplaceRejected",
    "MarketplaceReturn",
    "MarketplaceUnavailable",
    "MoneyParseError",
    "OrderStatus",
    "PackageItem",
    "ShipmentPackage",
    "StockPushResult",
    "StockUpdate",
    "money_to_minor",
]


# --------------------------------------------------------------------------------------------------- errors


class MarketplaceError(Exception):
    """Root of every error an adapter raises."""


class MarketplaceUnavailable(MarketplaceError):
    """Transient: rate limited, 5xx, timeouts after all retries. Try again later."""


class MarketplaceRejected(MarketplaceError):
    """Permanent for this request: the marketplace refused it (bad state, bad argument)."""


class MarketplaceNotFound(MarketplaceRejected):
    """The posting/order does not exist on the marketplace."""


class MarketplaceAuthError(MarketplaceRejected):
    """Credentials missing, wrong, expired or lacking a role."""


class MappingError(MarketplaceError, ValueError):
    """Vendor JSON could not be turned into our dataclasses (missing key, wrong type)."""


class MoneyParseError(MappingError):
    """A money amount is not a decimal, or has more precision than the currency's minor unit."""


def money_to_minor(amount: str | int | Decimal, currency: str = "RUB") -> int:
    """Convert a vendor decimal ("1259", "279.0000", "1390.000000") to integer minor units, exactly.

    Trailing zeros are fine; any non-zero digit beyond the currency's minor unit ("10.005") raises
    :class:`MoneyParseError` instead of rounding, as do floats (JSON numbers must be passed as strings or ints
    so no binary rounding can sneak in), booleans, blanks, NaN and infinities.
    """
    if isinstance(amount, (bool, float)):
        raise MoneyParseError(f"money must be a decimal str or int, not {type(amount).__name__}: {amount!r}")
    exponent = CURRENCIES.get(currency.upper(), 2) if currency else 2
    try:
        value = Decimal(amount.strip()) if isinstance(amount, str) else Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MoneyParseError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyParseError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyParseError(f"more than {exponent} significant decimals: {amount!r}")
    return int(scaled)


# ------------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class MarketplaceLine:
    offer_id: str  # the seller's article (our SKU code)
    marketplace_sku: str  # the marketplace's own item id
    name: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class MarketplaceCustomer:
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class MarketplaceAddress:
    country: str | None = None
    region: str | None = None
    city: str | None = None
    postcode: str | None = None
    line: str | None = None
    lat: float | None = None
    lon: float | None = None
    pickup_point_code: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class MarketplaceOrder:
    channel: str
    external_id: str  # Ozon posting_number
    external_order_number: str | None
    external_status: str
    external_substatus: str | None
    status_hint: OrderStatus | None  # None: status unknown to us; keep the raw value and re-read later
    needs_attention: bool  # dispute / not accepted / failed assembly: a human should look
    ship_by: datetime | None
    created_at: datetime | None
    warehouse_id: str | None
    delivery_method: str | None
    tracking_number: str | None
    currency: str
    lines: tuple[MarketplaceLine, ...]
    customer: MarketplaceCustomer | None = None
    address: MarketplaceAddress | None = None
    cancel_reason: str | None = None
    cancel_reason_id: int | None = None
    cancelled_by: str | None = None
    is_express: bool = False
    fulfilment_scheme: str | None = None  # e.g. Ozon tpl_integration_type: ozon, non_integrated, 3pl_tracking

    @property
    def total_minor(self) -> int:
        return sum(line.unit_price_minor * line.quantity for line in self.lines)


class EventKind(StrEnum):
    ping = "ping"
    new_order = "new_order"
    cancelled = "cancelled"
    state_changed = "state_changed"
    ship_by_changed = "ship_by_changed"
    delivery_date_changed = "delivery_date_changed"
    other = "other"


@dataclass(frozen=True)
class MarketplaceEvent:
    """A push notification, normalised. Pushes may be late, duplicated or out of order: treat as hints."""

    channel: str
    kind: EventKind
    message_type: str
    external_id: str | None
    external_state: str | None
    status_hint: OrderStatus | None
    occurred_at: datetime | None
    warehouse_id: str | None
    seller_id: str | None
    dedupe_key: str
    lines: tuple[tuple[str, str | None, int], ...] = ()  # (marketplace_sku, offer_id or None, quantity)
    cancel_reason_id: int | None = None
    cancel_reason: str | None = None
    new_ship_by: datetime | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class MarketplaceReturn:
    channel: str
    external_id: str
    external_order_id: str | None  # posting number
    order_number: str | None
    kind: str  # FullReturn, PartialReturn, Cancellation, ...
    status: str | None
    reason: str | None
    offer_id: str | None
    marketplace_sku: str | None
    name: str | None
    quantity: int
    unit_price_minor: int | None
    currency: str | None
    status_changed_at: datetime | None
    barcode: str | None


@dataclass(frozen=True)
class CancelReason:
    id: str
    title: str
    initiator: str
    available: bool


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class PackageItem:
    marketplace_sku: str
    quantity: int


@dataclass(frozen=True)
class ShipmentPackage:
    items: tuple[PackageItem, ...]


@dataclass(frozen=True)
class StockUpdate:
    offer_id: str
    warehouse_id: str
    quantity: int  # free stock (excluding reserved)


@dataclass(frozen=True)
class ItemError:
    code: str
    message: str


@dataclass(frozen=True)
class StockPushResult:
    offer_id: str
    warehouse_id: str
    updated: bool
    errors: tuple[ItemError, ...] = field(default=())
    retryable: bool = False  # e.g. "updated too frequently": re-queue, it will succeed later


# ----------------------------------------------------------------------------------------------- adapter


@runtime_checkable
class MarketplaceAdapter(Protocol):
    """What the sync layer needs from any marketplace. Implementations raise ``MarketplaceError``s."""

    channel: str

    def list_unfulfilled(self, *, ship_by_from: datetime, ship_by_to: datetime) -> Iterator[MarketplaceOrder]:
        """Orders still to be assembled/handed over whose ship-by deadline falls in the window."""
        ...

    def list_changed(self, *, since: datetime, until: datetime | None = None) -> Iterator[MarketplaceOrder]:
        """Orders whose status changed in ``[since, until]`` (incremental sync)."""
        ...

    def get(self, external_id: str) -> MarketplaceOrder: ...

    def ship(self, external_id: str, packages: Sequence[ShipmentPackage]) -> tuple[str, ...]:
        """Confirm assembly; returns the resulting external ids (several when split into packages)."""
        ...

    def set_tracking(self, external_id: str, tracking_number: str) -> None: ...

    def cancel(self, external_id: str, *, reason_id: str, comment: str = "") -> None: ...

    def list_cancel_reasons(self) -> tuple[CancelReason, ...]: ...

    def get_labels(self, external_ids: Sequence[str]) -> bytes:
        """Shipping labels as one PDF."""
        ...

    def push_stocks(self, updates: Sequence[StockUpdate]) -> tuple[StockPushResult, ...]: ...

    def list_returns(self, *, since: datetime, until: datetime) -> Iterator[MarketplaceReturn]: ...
