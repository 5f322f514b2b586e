"""Outbound actions on Ozon, run by outbox handlers: ship, labels, cancel, tracking numbers, rFBS statuses.

Each is retry-safe: it first reads what we already did (``shipped_at``, ``label_fetched_at``,
``cancel_sent_at``, ``tracking_sent``) and treats Ozon's "already done" answers as success. No database
transaction is held across a network call. Transient marketplace errors propagate (the worker retries
with backoff); refusals are recorded in the sync errors, flag the posting, and raise ``Permanent`` (the
outbox row goes to dead, visible and replayable with ``zakaz outbox``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.marketplaces import delivery
from zakaz.marketplaces.base import (
    CancelReason,
    MarketplaceOrder,
    MarketplaceRejected,
    MarketplaceUnavailable,
    ShipmentPackage,
)
from zakaz.marketplaces.connections import AdapterFactory, Connection, load_connection, open_adapter
from zakaz.marketplaces.delivery import RfbsStep
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.ozon.adapter import OzonAdapter
from zakaz.marketplaces.ozon.errors import LabelsNotReady
from zakaz.marketplaces.service import ACTOR, CANCELLED_STATUSES
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error
from zakaz.orders.timeline import Timeline
from zakaz.orders.views import load_order
from zakaz.outbox import add_messages, outbox_row
from zakaz.worker.types import Defer, Permanent

LABEL_TOPIC = "marketplace.label_requested"
#: Ozon statuses from which the ship call is allowed.
SHIPPABLE = frozenset({"awaiting_packaging"})
#: Seller reason that needs a free-text message (notes 2.9).
REASON_NEEDS_MESSAGE = "402"
#: Give up waiting for a label this long after assembly.
LABEL_PATIENCE = timedelta(hours=2)


@dataclass(frozen=True)
class PostingRef:
    id: int
    connection_id: int
    external_id: str
    order_id: int | None
    external_status: str
    external_substatus: str | None
    fulfilment_scheme: str | None
    lines: list[Any]
    shipped_at: Any
    label_fetched_at: Any
    cancel_sent_at: Any
    tracking_sent: str | None


def _ref(p: MarketplacePosting) -> PostingRef:
    return PostingRef(
        p.id,
        p.connection_id,
        p.external_id,
        p.order_id,
        p.external_status,
        p.external_substatus,
        p.fulfilment_scheme,
        list(p.lines),
        p.shipped_at,
        p.label_fetched_at,
        p.cancel_sent_at,
        p.tracking_sent,
    )


def _load(
    engine: Engine,
    settings: MarketplaceSettings,
    *,
    order_id: int | None = None,
    posting_id: int | None = None,
) -> tuple[PostingRef, Connection] | None:
    with unit_of_work(engine, read_only=True) as session:
        stmt = select(MarketplacePosting)
        stmt = (
            stmt.where(MarketplacePosting.order_id == order_id)
            if order_id is not None
            else stmt.where(MarketplacePosting.id == posting_id)
        )
        row = session.scalar(stmt.order_by(MarketplacePosting.id).limit(1))
        if row is None:
            return None
        return _ref(row), load_connection(session, row.connection_id, settings)


def _refuse(
    engine: Engine, ref: PostingRef, what: str, exc: Exception, settings: MarketplaceSettings
) -> NoReturn:
    message = f"{what} {ref.external_id}: {type(exc).__name__}: {exc}"

    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id)
        if row is not None:
            row.needs_attention, row.note = True, message[:500]
        record_error(
            session,
            ref.connection_id,
            "outbound",
            message,
            external_id=ref.external_id,
            keep=settings.keep_errors,
        )

    run_in_transaction(engine, work)
    raise Permanent(message) from exc


def _on_order(session: Session, order_id: int | None, type_: str, **data: Any) -> None:
    if order_id is None:
        return
    timeline = Timeline()
    timeline.record(load_order(session, order_id), type_, actor=ACTOR, data=data)
    timeline.flush(session)


# ---------------------------------------------------------------------------------------------------- ship


def ship_posting(
    engine: Engine, order_id: int, *, factory: AdapterFactory, settings: MarketplaceSettings
) -> str:
    """Our order is packed: confirm assembly on Ozon (``/v4/posting/fbs/ship``, items by Ozon SKU).

    Issue #7: one package per live shipment with what was packed in it (several split the posting on
    Ozon into one posting per parcel); the posting numbers Ozon answers become the shipments' tracking
    numbers (packed -> label_created) and a label download is queued for each. Retry-safe: a posting we
    shipped is skipped, Ozon's "already shipped" counts as success and storing is idempotent.
    """
    loaded = _load(engine, settings, order_id=order_id)
    if loaded is None:
        return "not a marketplace order"
    ref, connection = loaded
    if ref.shipped_at is not None or ref.external_status not in SHIPPABLE:
        return f"nothing to do (Ozon status {ref.external_status})"
    try:
        with unit_of_work(engine, read_only=True) as session:
            plan = delivery.ship_plan(
                session, order_id=order_id, connection_id=ref.connection_id, posting_lines=ref.lines
            )
    except MarketplaceRejected as exc:
        _refuse(engine, ref, "ship", exc, settings)
    if plan.waiting:
        return f"waiting for {', '.join(plan.waiting)} to be packed"
    numbers: tuple[str, ...] = ()
    with open_adapter(factory, connection) as adapter:
        try:
            numbers = adapter.ship(ref.external_id, plan.packages)
        except MarketplaceRejected as exc:
            if "ALREADY_SHIPPED" not in str(exc):
                _refuse(engine, ref, "ship", exc, settings)
            again = _load(engine, settings, posting_id=ref.id)
            if again is not None and again[0].shipped_at is not None:
                return "already shipped on Ozon"  # another run of this job stored it meanwhile
        # HTTP 200 does not guarantee assembly (notes 2.6): re-read the posting's status.
        posting = adapter.get(ref.external_id)
        split = len(plan.packages) > 1
        if split and len(numbers) != len(plan.packages):
            message = f"Ozon answered postings {list(numbers)} for {len(plan.packages)} packages"
            _refuse(engine, ref, "ship", MarketplaceRejected(message), settings)
        children = [adapter.get(number) for number in numbers] if split else []
    if not split and (posting.external_status in SHIPPABLE or posting.external_substatus == "ship_failed"):
        # Assembly not confirmed (``ship_failed``: Ozon asks for another ship call): retry with backoff.
        raise MarketplaceUnavailable(
            f"Ozon has not confirmed the assembly of {ref.external_id} "
            f"({posting.external_status}/{posting.external_substatus})"
        )
    parcels = list(zip(plan.shipment_ids, numbers if split else (ref.external_id,), strict=False))

    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id, with_for_update=True)
        assert row is not None
        row.shipped_at = utcnow()
        row.external_status, row.external_substatus = posting.external_status, posting.external_substatus
        row.needs_attention = row.needs_attention or posting.needs_attention
        row.updated_at = utcnow()
        _on_order(
            session,
            row.order_id,
            "marketplace_shipped",
            posting=ref.external_id,
            status=posting.external_status,
            postings=list(numbers) if split else [ref.external_id],
        )
        label_ids = [_child_row(session, row, child, plan.packages[i]) for i, child in enumerate(children)]
        delivery.store_shipped(session, order_id=order_id, numbers=parcels, actor=ACTOR)
        add_messages(
            session,
            [
                outbox_row(LABEL_TOPIC, "marketplace_posting", pid, {"posting_id": pid})
                for pid in (label_ids or [ref.id])
            ],
        )

    run_in_transaction(engine, work)
    shown = ", ".join(numbers) if split else posting.external_status
    return f"shipped on Ozon ({shown})"


def _child_row(
    session: Session, parent: MarketplacePosting, child: MarketplaceOrder, package: ShipmentPackage
) -> int:
    """A posting our split created: kept under the same order (the sync then follows it, never imports)."""
    row = session.scalar(
        select(MarketplacePosting).where(
            MarketplacePosting.connection_id == parent.connection_id,
            MarketplacePosting.external_id == child.external_id,
        )
    )
    now = utcnow()
    if row is None:
        row = MarketplacePosting(
            connection_id=parent.connection_id,
            external_id=child.external_id,
            order_id=parent.order_id,
            fulfilment_scheme=child.fulfilment_scheme or parent.fulfilment_scheme,
            warehouse_external_id=child.warehouse_id or parent.warehouse_external_id,
            lines=[{"marketplace_sku": i.marketplace_sku, "quantity": i.quantity} for i in package.items],
            ship_by=child.ship_by or parent.ship_by,
            needs_attention=child.needs_attention,
            note=f"split from {parent.external_id}",
            created_at=now,
        )
        session.add(row)
    row.external_status, row.external_substatus = child.external_status, child.external_substatus
    row.tracking_number = child.tracking_number
    row.shipped_at = row.updated_at = now
    session.flush()
    return row.id


# -------------------------------------------------------------------------------------------------- labels


def fetch_label(
    engine: Engine, posting_id: int, *, factory: AdapterFactory, settings: MarketplaceSettings
) -> str:
    """Download the package label; while Ozon says "not ready" the message is deferred (no attempt used)."""
    loaded = _load(engine, settings, posting_id=posting_id)
    if loaded is None:
        return "no such posting"
    ref, connection = loaded
    if ref.label_fetched_at is not None:
        return "already fetched"
    with open_adapter(factory, connection) as adapter:
        try:
            pdf = adapter.client.get_package_labels([ref.external_id], attempts=1)
        except LabelsNotReady as exc:
            if ref.shipped_at is not None and utcnow() - ref.shipped_at > LABEL_PATIENCE:
                _refuse(engine, ref, "label", exc, settings)
            raise Defer(
                utcnow() + timedelta(seconds=settings.label_retry_seconds), "label not ready yet"
            ) from exc
        except MarketplaceRejected as exc:
            _refuse(engine, ref, "label", exc, settings)

    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id, with_for_update=True)
        assert row is not None
        row.label_pdf, row.label_fetched_at = pdf, utcnow()
        # Issue #7: the label is the shipment's label too (the fulfilment download and print paths).
        shipment = delivery.store_label(session, posting_number=ref.external_id, pdf=pdf, actor=ACTOR)
        _on_order(
            session,
            row.order_id,
            "marketplace_label",
            posting=ref.external_id,
            bytes=len(pdf),
            **({"shipment": shipment} if shipment else {}),
        )

    run_in_transaction(engine, work)
    return f"label fetched ({len(pdf)} bytes)"


# -------------------------------------------------------------------------------------------------- cancel


def choose_reason(reasons: tuple[CancelReason, ...], wanted: int) -> CancelReason | None:
    """The configured reason when Ozon offers it for cancellation, else the first available seller one."""
    usable = [r for r in reasons if r.available]
    for reason in usable:
        if reason.id == str(wanted):
            return reason
    seller = [r for r in usable if r.initiator == "seller" and r.id != REASON_NEEDS_MESSAGE]
    candidates = seller or usable
    return candidates[0] if candidates else None


def cancel_posting(
    engine: Engine, order_id: int, *, factory: AdapterFactory, settings: MarketplaceSettings
) -> str:
    """We cancelled an Ozon order: cancel the posting with a reason from Ozon's list."""
    loaded = _load(engine, settings, order_id=order_id)
    if loaded is None:
        return "not a marketplace order"
    ref, connection = loaded
    if ref.cancel_sent_at is not None or ref.external_status in CANCELLED_STATUSES:
        return "already cancelled on Ozon"
    with open_adapter(factory, connection) as adapter:
        reason = choose_reason(adapter.list_cancel_reasons(), settings.cancel_reason_id)
        if reason is None:
            _refuse(engine, ref, "cancel", MarketplaceRejected("Ozon offers no cancel reason"), settings)
        comment = "Отменён продавцом" if reason.id == REASON_NEEDS_MESSAGE else ""
        try:
            adapter.cancel(ref.external_id, reason_id=reason.id, comment=comment)
        except MarketplaceRejected as exc:
            if "ALREADY_CANCELLED" not in str(exc):
                _refuse(engine, ref, "cancel", exc, settings)

    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id, with_for_update=True)
        assert row is not None
        row.cancel_sent_at, row.external_status = utcnow(), "cancelled"
        row.updated_at = utcnow()
        _on_order(
            session,
            row.order_id,
            "marketplace_cancelled",
            posting=ref.external_id,
            reason_id=reason.id,
            reason=reason.title,
        )

    run_in_transaction(engine, work)
    return f"cancelled on Ozon with reason {reason.id}"


# ------------------------------------------------------------------------------------------------ tracking

#: Ozon accepts tracking numbers only for postings the seller (or a non-integrated carrier) delivers.
TRACKABLE = delivery.SELLER_DELIVERS


def send_tracking(
    engine: Engine,
    order_id: int,
    tracking_number: str,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
) -> str:
    loaded = _load(engine, settings, order_id=order_id)
    if loaded is None or not tracking_number:
        return "nothing to do"
    ref, connection = loaded
    if ref.fulfilment_scheme not in TRACKABLE:
        return f"Ozon delivers this posting ({ref.fulfilment_scheme}); no tracking number to send"
    if ref.tracking_sent == tracking_number:
        return "already sent"
    with open_adapter(factory, connection) as adapter:
        try:
            adapter.set_tracking(ref.external_id, tracking_number)
        except MarketplaceRejected as exc:
            _refuse(engine, ref, "tracking", exc, settings)

    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id, with_for_update=True)
        assert row is not None
        row.tracking_sent = tracking_number
        _on_order(
            session, row.order_id, "marketplace_tracking", posting=ref.external_id, tracking=tracking_number
        )

    run_in_transaction(engine, work)
    return "tracking number sent"


# ------------------------------------------------------------------------------ rFBS statuses (issue #7)

RFBS_STATUS_TOPIC = "marketplace.delivery_status_requested"
#: Our shipments' topics that can move an rFBS posting on Ozon (their payload names the order).
RFBS_SHIPMENT_TOPICS = (
    "shipment.in_transit",
    "shipment.out_for_delivery",
    "shipment.delivery_failed",
    "shipment.delivered",
)
_SETTERS = {
    RfbsStep.delivering: OzonAdapter.mark_delivering,
    RfbsStep.last_mile: OzonAdapter.mark_last_mile,
    RfbsStep.delivered: OzonAdapter.mark_delivered,
}


def queue_rfbs_status(engine: Engine, order_id: int) -> str:
    """A shipment of the order moved with our carrier: queue the Ozon status its posting now calls for.

    One read for orders of other channels, FBS postings (Ozon delivers and knows) and ``3pl_tracking``
    ones; a job ``{posting_id, status}`` only when the target is ahead of Ozon's status as we know it.
    """
    with unit_of_work(engine, read_only=True) as session:
        row = session.scalar(
            select(MarketplacePosting)
            .where(MarketplacePosting.order_id == order_id)
            .order_by(MarketplacePosting.id)
            .limit(1)
        )
        if row is None or row.fulfilment_scheme not in delivery.STATUS_SETTABLE:
            return "not an rFBS posting"
        if row.external_status in CANCELLED_STATUSES:
            return "cancelled on Ozon"
        target = delivery.rfbs_target(delivery.shipment_states(session, order_id))
        reached = delivery.rfbs_reached(row.external_status, row.external_substatus)
        posting_id = row.id
    if not delivery.rfbs_calls(target, reached) or target is None:
        return "nothing to send"
    payload = {"posting_id": posting_id, "order_id": order_id, "status": target.value}
    run_in_transaction(
        engine,
        lambda s: add_messages(
            s, [outbox_row(RFBS_STATUS_TOPIC, "marketplace_posting", posting_id, payload)]
        ),
    )
    return f"queued {target.value}"


def send_rfbs_status(
    engine: Engine,
    posting_id: int,
    status: str,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
) -> str:
    """Bring the rFBS posting to ``status`` on Ozon, sending a missing ``delivering`` first.

    Retry-safe: the steps start from Ozon's status as we stored it; a refused step is checked against a
    fresh read of the posting, and Ozon being at that step or later counts as success (a lost answer, a
    second run, a later job that went first). A refusal of a step Ozon has not reached is recorded in the
    sync errors, flags the posting and kills the job (``Permanent``). Never moves the posting backwards.
    """
    try:
        target = RfbsStep(status)
    except ValueError as exc:
        raise Permanent(f"unknown rFBS status {status!r}") from exc
    loaded = _load(engine, settings, posting_id=posting_id)
    if loaded is None:
        return "no such posting"
    ref, connection = loaded
    if ref.fulfilment_scheme not in delivery.STATUS_SETTABLE:
        return f"Ozon does not take delivery statuses for this posting ({ref.fulfilment_scheme})"
    if ref.external_status in CANCELLED_STATUSES:
        return "cancelled on Ozon; nothing to send"
    if ref.shipped_at is None and ref.external_status in SHIPPABLE:
        # Ozon refuses delivering before assembly: the ship job goes first (retried with backoff).
        waiting = f"{ref.external_id} is not assembled on Ozon yet ({ref.external_status})"
        raise MarketplaceUnavailable(waiting)
    reached = delivery.rfbs_reached(ref.external_status, ref.external_substatus)
    now_at: tuple[str, str | None] | None = None  # Ozon's status after what we did
    sent: list[str] = []
    with open_adapter(factory, connection) as adapter:
        while calls := delivery.rfbs_calls(target, reached):
            step = calls[0]
            try:
                _SETTERS[step](adapter, [ref.external_id])
                reached, now_at = step, delivery.RFBS_RESULT[step]
                sent.append(step.value)
            except MarketplaceRejected as exc:
                fresh = adapter.get(ref.external_id)
                if not delivery.at_or_after(
                    delivery.rfbs_reached(fresh.external_status, fresh.external_substatus), step
                ):
                    _refuse(engine, ref, f"rFBS {step.value}", exc, settings)
                reached = delivery.rfbs_reached(fresh.external_status, fresh.external_substatus)
                now_at = (fresh.external_status, fresh.external_substatus)
    if now_at is None:
        return f"already {target.value} on Ozon"
    _store_rfbs(engine, ref, now_at, sent)
    return f"Ozon {target.value}: sent {', '.join(sent) or 'nothing (Ozon was there already)'}"


def _store_rfbs(engine: Engine, ref: PostingRef, now_at: tuple[str, str | None], sent: list[str]) -> None:
    def work(session: Session) -> None:
        row = session.get(MarketplacePosting, ref.id, with_for_update=True)
        assert row is not None
        stored = delivery.rfbs_reached(row.external_status, row.external_substatus)
        new = delivery.rfbs_reached(*now_at)
        if new is not None and not delivery.at_or_after(stored, new):  # a sync may have gone further
            row.external_status, row.external_substatus = now_at
            row.updated_at = utcnow()
        for step in sent:
            posting = ref.external_id
            _on_order(session, row.order_id, "marketplace_delivery_status", posting=posting, status=step)

    run_in_transaction(engine, work)
