"""Pure after-sales rules: eligibility of a request, auto-approval, RMA numbers, SLA colour."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from zakaz.errors import FieldError
from zakaz.returns.reasons import ReturnReason, is_seller_fault

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_rma_number(now: datetime, prefix: str = "RMA") -> str:
    """RMA-YYMMDD-XXXXX (exchanges EXC-...): no sequence row to contend on; clashes are retried."""
    return f"{prefix}-{now:%y%m%d}-{''.join(secrets.choice(_ALPHABET) for _ in range(5))}"


@dataclass(frozen=True)
class LineState:
    """One order line as after-sales sees it: units delivered and units already in a return."""

    line_no: int
    sku: str
    delivered: int
    returned: int

    @property
    def returnable(self) -> int:
        return max(self.delivered - self.returned, 0)


@dataclass(frozen=True)
class Wanted:
    line_no: int
    quantity: int


def check_request(
    *,
    lines: Mapping[int, LineState],
    items: Sequence[Wanted],
    reason: str,
    allowed_reasons: Sequence[str],
    delivered_at: datetime | None,
    now: datetime,
    window_days: int,
) -> list[FieldError]:
    """Every reason to refuse the request, each naming its field (empty: eligible)."""
    errors: list[FieldError] = []
    if reason not in allowed_reasons:
        errors.append(FieldError("reason", "unknown_reason", f"choose one of {', '.join(allowed_reasons)}"))
    if delivered_at is None:
        errors.append(FieldError("order", "not_delivered", "the order has not been delivered yet"))
    elif now > delivered_at + timedelta(days=window_days):
        errors.append(
            FieldError("order", "window_closed", f"returns are accepted {window_days} days after delivery")
        )
    if not items:
        errors.append(FieldError("items", "empty", "choose at least one line"))
    seen: set[int] = set()
    for i, item in enumerate(items):
        line = lines.get(item.line_no)
        if line is None:
            errors.append(FieldError(f"items.{i}.line_no", "unknown_line", f"no line {item.line_no}"))
        elif item.line_no in seen:
            errors.append(FieldError(f"items.{i}.line_no", "duplicate_line", "each line once"))
        elif item.quantity <= 0:
            errors.append(FieldError(f"items.{i}.quantity", "not_positive", "at least 1"))
        elif delivered_at is not None and item.quantity > line.returnable:
            errors.append(
                FieldError(
                    f"items.{i}.quantity",
                    "too_many",
                    f"at most {line.returnable} of {line.sku} can be returned "
                    f"({line.delivered} delivered, {line.returned} already returned)",
                )
            )
        seen.add(item.line_no)
    return errors


def auto_approval(reason: str, value_minor: int, *, seller_fault: bool, below_minor: int) -> str | None:
    """Why the request is approved without review, or None for manual review."""
    if seller_fault and is_seller_fault(ReturnReason(reason)):
        return "seller-fault reason"
    if below_minor and value_minor < below_minor:
        return f"value {value_minor} under the limit {below_minor}"
    return None


def sla_level(age: timedelta, *, warn_hours: int, late_hours: int) -> str:
    """ "ok", "warn" or "late" for the queue's colouring."""
    if age >= timedelta(hours=late_hours):
        return "late"
    if age >= timedelta(hours=warn_hours):
        return "warn"
    return "ok"


# ---- return labels (issue #6) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelPlan:
    """Which carrier books the return; ``service_code`` None: the carrier's first service."""

    carrier_code: str
    service_code: str | None


def choose_label_carrier(
    *, configured_carrier: str, configured_service: str, outbound: Sequence[tuple[str, str | None]]
) -> LabelPlan | None:
    """The configured return carrier/service, else the carrier and service the order went out with.

    ``outbound``: (carrier, service) of the order's labelled shipments, those that carried the returned
    units first. Empty: the order did not go out with one of our carriers, so no label (instructions only).
    """
    if not outbound:
        return None
    if configured_carrier:
        same = next((service for carrier, service in outbound if carrier == configured_carrier), None)
        return LabelPlan(configured_carrier, configured_service or same or None)
    carrier, service = outbound[0]
    return LabelPlan(carrier, service or None)
