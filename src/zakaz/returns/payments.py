"""Payment adapters for refunds: a ``Protocol`` returning our own dataclasses, and the providers we have.

- ``manual``: an offline refund (bank transfer, cash desk) done by a person; we only record it.
- ``marketplace``: orders sold on a marketplace (channel ``ozon``) are refunded by the marketplace; recorded.
- ``fake``: an in-process provider for tests; idempotent by key like a real one, and can be told to fail.

Exchanges whose replacement costs more (issue #6): the shopper owes the difference. ``collect`` takes it
(a ledger row of kind ``exchange_charge``); the manual provider only records that someone took the money,
the fake one remembers what it collected.

Every call carries the ledger row's unique key as the provider's idempotency key, so a retry after a crash
between the call and the commit never pays twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from zakaz.errors import DomainError

MARKETPLACE_CHANNELS = frozenset({"ozon"})


class PaymentError(DomainError):
    kind = "payment-error"


@dataclass(frozen=True)
class RefundRequest:
    key: str
    order_number: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class RefundResult:
    #: "succeeded" (money sent) or "recorded" (someone else pays: marketplace, offline desk)
    status: str
    provider_ref: str


class PaymentProvider(Protocol):
    @property
    def code(self) -> str: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def collect(self, request: RefundRequest) -> RefundResult:
        """Take money FROM the shopper (an exchange's charge); same key rules as ``refund``."""
        ...


class ManualProvider:
    code = "manual"

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult("recorded", f"manual:{request.key}")

    def collect(self, request: RefundRequest) -> RefundResult:
        return RefundResult("recorded", f"manual:{request.key}")


class MarketplaceProvider:
    code = "marketplace"

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult("recorded", f"marketplace:{request.key}")

    def collect(self, request: RefundRequest) -> RefundResult:
        raise PaymentError("marketplace orders are exchanged by the marketplace", key=request.key)


@dataclass
class FakeProvider:
    """Remembers each key's result: the second call with the same key pays nothing more."""

    code: str = "fake"
    fail: bool = False
    paid: dict[str, int] = field(default_factory=dict)
    collected: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def refund(self, request: RefundRequest) -> RefundResult:
        self.calls += 1
        if self.fail:
            raise PaymentError("the fake provider was told to fail", key=request.key)
        self.paid.setdefault(request.key, request.amount_minor)
        return RefundResult("succeeded", f"fake-{len(self.paid):06d}")

    def collect(self, request: RefundRequest) -> RefundResult:
        self.calls += 1
        if self.fail:
            raise PaymentError("the fake provider was told to fail", key=request.key)
        self.collected.setdefault(request.key, request.amount_minor)
        return RefundResult("succeeded", f"fake-charge-{len(self.collected):06d}")

    @property
    def total(self) -> int:
        return sum(self.paid.values())


_BUILTIN: dict[str, type[ManualProvider] | type[FakeProvider]] = {
    "manual": ManualProvider,
    "fake": FakeProvider,
}


def build_provider(code: str) -> PaymentProvider:
    factory = _BUILTIN.get(code)
    if factory is None:
        raise ValueError(f"unknown payment provider {code!r}; known: {', '.join(sorted(_BUILTIN))}")
    return factory()


def provider_for(channel: str, configured: PaymentProvider) -> PaymentProvider:
    """Marketplace orders are refunded by the marketplace: we only record them."""
    return MarketplaceProvider() if channel in MARKETPLACE_CHANNELS else configured
