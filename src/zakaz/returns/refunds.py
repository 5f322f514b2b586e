"""Refund arithmetic as a pure, configurable policy with a line-by-line explanation.

Money is integer kopecks. Order-level discount and shipping are spread over the lines by the largest
remainder method, so the shares add up to the order's figures exactly. A line's net amount is then
refunded per unit with *cumulative* rounding: returning units ``r+1..r+q`` of ``Q`` refunds
``floor(net*(r+q)/Q) - floor(net*r/Q)``, so however a line is returned, in one go or over several
requests, the refunds add up to the line's net amount and not a kopeck is lost or invented.

Rules (see :class:`RefundPolicy`):
- seller-fault reasons refund the item price and its share of the original shipping;
- shopper reasons refund the item price, minus a restocking fee when the item was opened, and no shipping;
- damaged by the shopper: a configurable percentage (default 0 %); missing: nothing;
- a refund never exceeds what was paid minus what was already refunded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from zakaz.returns.reasons import Condition, ReturnReason, is_seller_fault


@dataclass(frozen=True)
class PaidLine:
    line_no: int
    sku: str
    quantity: int
    unit_price_minor: int

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class PaidOrder:
    lines: tuple[PaidLine, ...]
    shipping_minor: int
    discount_minor: int

    @property
    def paid(self) -> int:
        return sum(line.total for line in self.lines) + self.shipping_minor - self.discount_minor


@dataclass(frozen=True)
class Refunded:
    """What earlier refunds already covered, per line: units whose price was refunded, units whose
    shipping share was refunded, and the total money refunded on the order (including overrides)."""

    units: dict[int, int] = field(default_factory=dict)
    shipping_units: dict[int, int] = field(default_factory=dict)
    total_minor: int = 0


@dataclass(frozen=True)
class ReturnItem:
    line_no: int
    quantity: int
    reason: ReturnReason
    condition: Condition = Condition.unopened


@dataclass(frozen=True)
class RefundPolicy:
    restocking_fee_percent: int = 10
    damaged_refund_percent: int = 0
    refund_shipping_for_seller_fault: bool = True


@dataclass(frozen=True)
class Explanation:
    line_no: int | None
    text: str
    amount_minor: int


@dataclass(frozen=True)
class RefundQuote:
    total_minor: int
    explanation: tuple[Explanation, ...]
    units: dict[int, int]
    shipping_units: dict[int, int]
    capped: bool


class RefundError(ValueError):
    pass


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` over ``weights`` proportionally; the parts add up to ``amount`` exactly."""
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    raw = [amount * w for w in weights]
    parts = [r // total for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] % total), i))
    for i in order[: amount - sum(parts)]:
        parts[i] += 1
    return parts


def cumulative_share(amount: int, of_units: int, before: int, now: int) -> int:
    """The share of ``amount`` for units ``before+1 .. before+now`` of ``of_units`` (telescoping floors)."""
    return amount * (before + now) // of_units - amount * before // of_units


def _percent(amount: int, percent: int) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass
class _Work:
    """Running state of one quote: units refunded so far and the explanation being written."""

    units: dict[int, int]
    shipping_units: dict[int, int]
    explanation: list[Explanation] = field(default_factory=list)

    def say(self, line_no: int | None, text: str, amount: int) -> None:
        self.explanation.append(Explanation(line_no, text, amount))


def quote(order: PaidOrder, items: Sequence[ReturnItem], done: Refunded, policy: RefundPolicy) -> RefundQuote:
    """What to refund for ``items`` now, explained line by line."""
    lines = {line.line_no: line for line in order.lines}
    weights = [line.total for line in order.lines]
    if not any(weights):  # a free order can still have paid shipping: spread it by units instead
        weights = [line.quantity for line in order.lines]
    discounts = dict(zip(lines, spread(order.discount_minor, weights), strict=True))
    shipping = dict(zip(lines, spread(order.shipping_minor, weights), strict=True))
    work = _Work(dict(done.units), dict(done.shipping_units))
    total = 0
    for item in items:
        line = lines.get(item.line_no)
        if line is None:
            raise RefundError(f"line {item.line_no} is not on the order")
        total += _refund_item(line, item, discounts[line.line_no], shipping[line.line_no], policy, work)
    remaining = order.paid - done.total_minor
    capped = total > remaining
    if capped:
        work.say(None, "capped at what is left of the payment", remaining - total)
        total = remaining
    return RefundQuote(max(total, 0), tuple(work.explanation), work.units, work.shipping_units, capped)


def _refund_item(
    line: PaidLine, item: ReturnItem, discount: int, shipping: int, policy: RefundPolicy, work: _Work
) -> int:
    before = work.units.get(line.line_no, 0)
    if item.quantity <= 0 or before + item.quantity > line.quantity:
        raise RefundError(
            f"line {line.line_no}: {item.quantity} more would exceed the {line.quantity} bought "
            f"({before} already refunded)"
        )
    price = cumulative_share(line.total - discount, line.quantity, before, item.quantity)
    work.units[line.line_no] = before + item.quantity
    work.say(line.line_no, f"{item.quantity} × {line.sku}, price paid after discount", price)
    amount = price
    seller_fault = is_seller_fault(item.reason)
    if item.condition is Condition.missing:
        work.say(line.line_no, "item not received back: no refund", -price)
        amount = 0
    elif item.condition is Condition.damaged_by_shopper:
        keep = _percent(price, policy.damaged_refund_percent)
        work.say(
            line.line_no, f"damaged by the shopper: {policy.damaged_refund_percent}% refunded", keep - price
        )
        amount = keep
    elif item.condition is Condition.opened and not seller_fault and policy.restocking_fee_percent:
        fee = _percent(price, policy.restocking_fee_percent)
        work.say(line.line_no, f"restocking fee {policy.restocking_fee_percent}% (opened)", -fee)
        amount -= fee
    returned_usable = item.condition in (Condition.unopened, Condition.opened)
    if seller_fault and policy.refund_shipping_for_seller_fault and returned_usable:
        s_before = work.shipping_units.get(line.line_no, 0)
        share = cumulative_share(shipping, line.quantity, s_before, item.quantity)
        work.shipping_units[line.line_no] = s_before + item.quantity
        if share:
            work.say(line.line_no, "share of the original shipping (seller's fault)", share)
        amount += share
    return amount


def check_override(amount_minor: int, reason: str, order: PaidOrder, done: Refunded) -> None:
    """An operator may set another amount, with a reason, but never more than is left of the payment."""
    if not reason.strip():
        raise RefundError("an override needs a reason")
    if amount_minor < 0:
        raise RefundError("a refund cannot be negative")
    if amount_minor > order.paid - done.total_minor:
        raise RefundError(f"at most {order.paid - done.total_minor} can still be refunded")
