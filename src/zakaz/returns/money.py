"""Refunds and exchange differences: quote (pure ``refunds.quote``) -> ledger row -> provider -> settle.

Two short transactions around the provider call (never call a payment provider with a transaction open):

1. ``prepare_refund`` locks the return, and finds the ledger row by its unique key (``<RMA>:refund``) or
   writes it as ``pending`` with the quote's explanation. A settled row means "already done": nothing more.
2. The entry point calls the provider with the row's key (providers dedupe by it).
3. ``settle_refund`` stores the outcome and moves the return to ``refunded`` (or ``exchanged``).

A crash between 2 and 3 leaves ``pending``; the next request re-sends the same key and settles. Pending
rows count as refunded when the next quote computes what is left, so two refunds can never together
exceed what was paid.

Exchanges whose replacement costs more (issue #6): ``record_charge`` writes a ledger row of kind
``exchange_charge`` (``<RMA>:charge``, a positive amount the shopper owes, ``pending``) when the
replacement is created; settling the exchange first collects it through the provider (``charge_to_collect``
-> ``provider.collect`` -> ``settle_charge``: ``recorded`` by the manual provider, ``succeeded`` by one that
takes money). Charges are never counted as refunded (``refunded_so_far``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.errors import Conflict, FieldError, ValidationFailed
from zakaz.money import MoneyFormatError, to_minor
from zakaz.orders.models import Order
from zakaz.orders.views import load_order
from zakaz.returns import refunds as policy
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.models import Refund, ReturnRequest
from zakaz.returns.payments import PaymentProvider, RefundRequest, RefundResult, provider_for
from zakaz.returns.reasons import Condition, ReturnReason
from zakaz.returns.service import lines_of, load_return, note_return, transition_return
from zakaz.returns.states import ReturnStatus

PAID_STATUSES = frozenset({"paid", "cod"})
CANCELLATION_TEXT = "cancelled posting: the goods come back to stock, nobody is refunded; close the return"
SETTLED = frozenset({"succeeded", "recorded"})
#: issue #6: a ledger row the shopper owes us (a dearer replacement), not a refund
CHARGE = "exchange_charge"
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def parse_amount(text: str, *, field: str = "amount") -> int | None:
    """Roubles as people type them ("100", "100.5", "100,50", "1 000,00") -> kopecks; None when empty.

    Refuses (422 naming ``field``) what is not a number, fractions of a kopeck and negative amounts."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    if not cleaned:
        return None
    if not _AMOUNT.fullmatch(cleaned):
        raise ValidationFailed(
            [FieldError(field, "not_an_amount", f"{text.strip()!r} is not an amount like 100,50")]
        )
    try:
        minor = to_minor(cleaned)
    except MoneyFormatError:
        raise ValidationFailed(
            [FieldError(field, "not_an_amount", f"{text.strip()!r}: at most two digits after the comma")]
        ) from None
    if minor < 0:
        raise ValidationFailed([FieldError(field, "negative", "a refund cannot be negative")])
    return minor


def paid_order(order: Order) -> policy.PaidOrder:
    return policy.PaidOrder(
        tuple(policy.PaidLine(ln.line_no, ln.sku, ln.quantity, ln.unit_price_minor) for ln in order.lines),
        order.shipping_minor,
        order.discount_minor,
    )


def refunded_so_far(session: Session, order_id: int) -> policy.Refunded:
    """What the ledger already covers (pending rows included: they may have been paid)."""
    units: Counter[int] = Counter()
    shipping: Counter[int] = Counter()
    total = 0
    rows = select(Refund).where(Refund.order_id == order_id, Refund.status != "failed", Refund.kind != CHARGE)
    for row in session.scalars(rows):
        units.update({int(k): int(v) for k, v in (row.units or {}).items()})
        shipping.update({int(k): int(v) for k, v in (row.shipping_units or {}).items()})
        total += row.amount_minor
    return policy.Refunded(dict(units), dict(shipping), total)


def _items(session: Session, ret: ReturnRequest) -> list[policy.ReturnItem]:
    return [
        policy.ReturnItem(
            ln.line_no, ln.quantity, ReturnReason(ret.reason), Condition(ln.condition or "unopened")
        )
        for ln in lines_of(session, ret.id)
    ]


@dataclass(frozen=True)
class Preview:
    """What settling the return would pay now: the quote and the explanation (nothing written)."""

    kind: str
    amount_minor: int
    quoted_minor: int
    explanation: list[dict[str, Any]]
    units: dict[int, int]
    shipping_units: dict[int, int]
    paid_minor: int
    refunded_minor: int
    charge_minor: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["units"] = {str(k): v for k, v in self.units.items()}
        out["shipping_units"] = {str(k): v for k, v in self.shipping_units.items()}
        out["remaining_minor"] = self.paid_minor - self.refunded_minor
        return out


def exchange_credit(session: Session, ret: ReturnRequest, order: Order) -> int:
    """What the returned units are worth towards the replacement: the price paid after discount."""
    items = [
        policy.ReturnItem(i.line_no, i.quantity, ReturnReason.size_fit, Condition.unopened)
        for i in _items(session, ret)
    ]
    flat = policy.RefundPolicy(restocking_fee_percent=0, refund_shipping_for_seller_fault=False)
    return policy.quote(paid_order(order), items, policy.Refunded(), flat).total_minor


def preview(session: Session, ret: ReturnRequest, order: Order, settings: ReturnsSettings) -> Preview:
    paid = paid_order(order)
    done = refunded_so_far(session, order.id)
    if ret.kind == "cancellation":  # a marketplace cancellation: stock comes back, nobody is refunded
        text = [{"line_no": None, "text": CANCELLATION_TEXT, "amount_minor": 0}]
        return Preview("none", 0, 0, text, {}, {}, paid.paid, done.total_minor)
    if ret.kind == "exchange":
        replacement = load_order(session, ret.replacement_order_id) if ret.replacement_order_id else None
        credit = exchange_credit(session, ret, order)
        price = replacement.subtotal_minor if replacement else credit
        difference = min(max(credit - price, 0), paid.paid - done.total_minor)
        text = [
            {"line_no": None, "text": "returned units at the price paid", "amount_minor": credit},
            {"line_no": None, "text": "replacement at today's prices", "amount_minor": -price},
        ]
        return Preview(
            "exchange_difference",
            difference,
            difference,
            text,
            {},
            {},
            paid.paid,
            done.total_minor,
            charge_minor=max(price - credit, 0),
        )
    try:
        q = policy.quote(paid, _items(session, ret), done, settings.policy())
    except policy.RefundError as exc:
        raise Conflict(str(exc), field="items") from exc
    return Preview(
        "refund",
        q.total_minor,
        q.total_minor,
        [asdict(e) for e in q.explanation],
        {k: v - done.units.get(k, 0) for k, v in q.units.items() if v - done.units.get(k, 0)},
        {
            k: v - done.shipping_units.get(k, 0)
            for k, v in q.shipping_units.items()
            if v - done.shipping_units.get(k, 0)
        },
        paid.paid,
        done.total_minor,
    )


@dataclass(frozen=True)
class Prepared:
    refund_id: int | None
    done: bool
    request: RefundRequest | None
    provider: PaymentProvider | None


def prepare_refund(
    session: Session,
    rma: str,
    *,
    actor: str,
    settings: ReturnsSettings,
    provider: PaymentProvider,
    amount_minor: int | None = None,
    override_reason: str = "",
) -> Prepared:
    ret = load_return(session, rma, for_update=True)
    order = load_order(session, ret.order_id)
    key = f"{ret.number}:{'difference' if ret.kind == 'exchange' else 'refund'}"
    existing = session.scalar(select(Refund).where(Refund.key == key))
    chosen = provider_for(order.channel, provider)
    if existing is not None and existing.status in SETTLED:
        return Prepared(existing.id, True, None, None)
    if existing is not None and existing.status == "pending":  # sent before, outcome unknown: send again
        return Prepared(existing.id, False, _request(existing, order), chosen)
    if ret.kind == "cancellation":
        raise Conflict(f"{ret.number}: {CANCELLATION_TEXT}", field="rma")
    if ret.status != ReturnStatus.inspected.value:
        raise Conflict(
            f"{ret.number} is {ret.status}; refunds follow inspection", field="rma", current=ret.status
        )
    if order.payment_status not in PAID_STATUSES:
        raise Conflict(f"order {order.number} is not paid ({order.payment_status})", field="order")
    charge = session.scalar(select(Refund).where(Refund.key == f"{ret.number}:charge"))
    if charge is not None and charge.status not in SETTLED:
        raise Conflict(
            f"{ret.number}: the shopper still owes {charge.amount_minor / 100:.2f} {charge.currency}"
            " for the replacement; collect it first",
            field="rma",
        )
    p = preview(session, ret, order, settings)
    amount, kind, explanation = p.amount_minor, p.kind, list(p.explanation)
    if amount_minor is not None and amount_minor != p.amount_minor:
        try:
            policy.check_override(
                amount_minor, override_reason, paid_order(order), refunded_so_far(session, order.id)
            )
        except policy.RefundError as exc:
            raise ValidationFailed([FieldError("amount_minor", "override_refused", str(exc))]) from exc
        explanation.append(
            {
                "line_no": None,
                "text": f"operator override: {override_reason.strip()}",
                "amount_minor": amount_minor - p.amount_minor,
            }
        )
        amount, kind = amount_minor, "override" if ret.kind == "return" else kind
        note_return(
            session,
            ret,
            order,
            type_="refund_override",
            actor=actor,
            note=override_reason.strip(),
            data={"quoted_minor": p.amount_minor, "amount_minor": amount_minor},
        )
    if amount == 0:  # nothing to pay (all missing, or an exchange costing as much): settle without a call
        row = _write(session, key, ret, order, kind, 0, p, explanation, chosen.code, actor, status="recorded")
        _finish(session, ret, order, row, actor)
        return Prepared(row.id, True, None, None)
    row = _write(session, key, ret, order, kind, amount, p, explanation, chosen.code, actor, status="pending")
    return Prepared(row.id, False, _request(row, order), chosen)


def _write(
    session: Session,
    key: str,
    ret: ReturnRequest,
    order: Order,
    kind: str,
    amount: int,
    p: Preview,
    explanation: list[dict[str, Any]],
    provider: str,
    actor: str,
    *,
    status: str,
) -> Refund:
    row = session.scalar(select(Refund).where(Refund.key == key))  # a failed earlier attempt is reused
    if row is None:
        row = Refund(key=key)
        session.add(row)
    row.order_id, row.return_id, row.kind, row.amount_minor, row.quoted_minor = (
        order.id,
        ret.id,
        kind,
        amount,
        p.quoted_minor,
    )
    row.currency, row.provider, row.status, row.explanation = order.currency, provider, status, explanation
    row.units = {str(k): v for k, v in p.units.items()}
    row.shipping_units = {str(k): v for k, v in p.shipping_units.items()}
    row.reason, row.actor, row.created_at = ret.reason, actor, utcnow()
    session.flush()
    return row


def _request(row: Refund, order: Order) -> RefundRequest:
    return RefundRequest(row.key, order.number, row.amount_minor, row.currency)


def _finish(session: Session, ret: ReturnRequest, order: Order, row: Refund, actor: str) -> None:
    row.settled_at = utcnow()
    target = ReturnStatus.exchanged if ret.kind == "exchange" else ReturnStatus.refunded
    transition_return(
        session,
        ret,
        target,
        order=order,
        actor=actor,
        data={
            "refund_id": row.id,
            "amount_minor": row.amount_minor,
            "provider": row.provider,
            "status": row.status,
        },
    )


def settle_refund(
    session: Session, refund_id: int, result: RefundResult | None, *, actor: str, error: str = ""
) -> Refund:
    row = session.get_one(Refund, refund_id, with_for_update=True)
    if row.status in SETTLED:
        return row  # a concurrent request settled it first
    ret = session.get_one(ReturnRequest, row.return_id)
    order = load_order(session, row.order_id)
    if result is None:
        row.status = "failed"
        note_return(session, ret, order, type_="refund_failed", actor=actor, note=error[:500])
        return row
    row.status, row.provider_ref = result.status, result.provider_ref
    _finish(session, ret, order, row, actor)
    return row


def ledger(session: Session, order_id: int) -> list[Refund]:
    return list(session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)))


# ---- exchange charges (issue #6) ------------------------------------------------------------------------


def record_charge(
    session: Session,
    ret: ReturnRequest,
    order: Order,
    amount_minor: int,
    *,
    provider: str,
    actor: str,
    explanation: list[dict[str, Any]],
) -> Refund:
    """The shopper owes ``amount_minor`` for a dearer replacement: a pending ``exchange_charge`` row (once per
    exchange: its key is ``<RMA>:charge``) and an event on the return and the order timeline."""
    key = f"{ret.number}:charge"
    row = session.scalar(select(Refund).where(Refund.key == key))
    if row is not None:
        return row
    row = Refund(
        key=key,
        order_id=order.id,
        return_id=ret.id,
        kind=CHARGE,
        amount_minor=amount_minor,
        quoted_minor=amount_minor,
        currency=order.currency,
        provider=provider,
        status="pending",
        reason=ret.reason,
        explanation=explanation,
        units={},
        shipping_units={},
        actor=actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    note_return(
        session,
        ret,
        order,
        type_=CHARGE,
        actor=actor,
        note=f"the shopper owes {amount_minor / 100:.2f} {order.currency} for the replacement",
        data={"refund_id": row.id, "amount_minor": amount_minor, "status": row.status},
    )
    return row


def charge_to_collect(session: Session, rma: str) -> tuple[int, RefundRequest] | None:
    """The exchange's charge still to collect (a failed attempt is retried with the same key), if any."""
    ret = load_return(session, rma, for_update=True)
    row = session.scalar(select(Refund).where(Refund.key == f"{ret.number}:charge"))
    if row is None or row.status in SETTLED or ret.status != ReturnStatus.inspected.value:
        return None
    row.status = "pending"
    order = load_order(session, ret.order_id)
    return row.id, _request(row, order)


def settle_charge(
    session: Session,
    charge_id: int,
    result: RefundResult | None,
    *,
    actor: str,
    provider: str | None = None,
    error: str = "",
) -> Refund:
    row = session.get_one(Refund, charge_id, with_for_update=True)
    if row.status in SETTLED:
        return row
    ret = session.get_one(ReturnRequest, row.return_id)
    order = load_order(session, row.order_id)
    if result is None:
        row.status = "failed"
        note_return(session, ret, order, type_="charge_failed", actor=actor, note=error[:500])
        return row
    row.status, row.provider_ref, row.settled_at = result.status, result.provider_ref, utcnow()
    row.provider = provider or row.provider
    note_return(
        session,
        ret,
        order,
        type_="charge_collected",
        actor=actor,
        data={"refund_id": row.id, "amount_minor": row.amount_minor, "status": row.status},
    )
    return row
