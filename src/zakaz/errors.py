"""Domain errors. Each maps to one RFC 9457 problem type in the API layer; the domain never imports HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One bad field: a JSON-pointer-like dotted path, a machine code and a human message."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base class; ``kind`` decides the HTTP status and the problem type."""

    kind = "domain-error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    kind = "not-found"


class Conflict(DomainError):
    kind = "conflict"


class IdempotencyMismatch(Conflict):
    kind = "idempotency-key-reused"


class InvalidTransition(Conflict):
    kind = "invalid-transition"

    def __init__(self, current: str, target: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"cannot go from {current} to {target}", current=current, target=target, allowed=sorted(allowed)
        )


class InsufficientStock(Conflict):
    kind = "insufficient-stock"


class PermissionDenied(DomainError):
    kind = "forbidden"


class ValidationFailed(DomainError):
    kind = "validation-error"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors) or "invalid input")
