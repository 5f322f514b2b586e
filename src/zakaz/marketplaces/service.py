"""Apply one marketplace posting to our orders: import it once, then follow its status. Never commits.

``apply_posting`` is the single entry for the sync, the push handler and the outbound jobs' re-reads, so
a posting seen twice (a repeated sync, a push plus a poll, out-of-order pushes) converges on one order:

* first sight: terminal postings (cancelled / already handed over / delivered) are recorded but not
  imported; everything else goes through ``orders.intake.receive`` (dedupes on (channel, external_id));
* later: status changes are written to the order's timeline; a marketplace cancellation cancels the
  order (releasing its stock; the parent of a split never does); a new ship-by date is taken. For a
  posting Ozon delivers, its status moves the posting's shipment (``delivery.follow``: handed over, in
  transit, delivered) and the order follows its shipments; any other shipped order is completed
  directly on ``delivered``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.config import Settings
from zakaz.inventory import service as stock
from zakaz.marketplaces import delivery
from zakaz.marketplaces.base import MarketplaceOrder
from zakaz.marketplaces.convert import to_order_create
from zakaz.marketplaces.mappings import Lookups
from zakaz.marketplaces.models import MarketplacePosting
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.notifications.models import Preference
from zakaz.orders import service as orders
from zakaz.orders.intake import IntakeConfig, receive
from zakaz.orders.models import Order
from zakaz.orders.rules import Hold, HoldPolicy, HoldReason
from zakaz.orders.states import OrderStatus
from zakaz.orders.timeline import Timeline, transition
from zakaz.orders.views import load_order

ACTOR = "ozon"
S = OrderStatus
#: First seen in one of these: nothing left for us to do, record the posting but import no order.
NOT_IMPORTED = frozenset({S.cancelled, S.shipped, S.delivered})
#: Our order has left the warehouse: a marketplace cancellation can no longer simply cancel it.
LEFT_WAREHOUSE = frozenset({S.partially_shipped, S.shipped, S.delivered})
#: Ozon statuses of a cancelled posting.
CANCELLED_STATUSES = frozenset({"cancelled", "cancelled_from_split_pending"})
#: The parent of a split posting: cancelled on Ozon, its children carry on (never cancels our order).
SPLIT_STATUSES = frozenset({"cancelled_from_split_pending"})

Outcome = Literal["created", "updated", "unchanged", "skipped"]


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    order_id: int | None
    detail: str = ""


def intake_config(settings: Settings) -> IntakeConfig:
    """Intake for marketplace orders: unknown SKUs hold (never reject), and no value holds.

    The value holds screen a web shop's customers for fraud; a marketplace has already taken the payment
    and bears that risk, and FBS orders share one placeholder customer whose "history" means nothing.
    """
    config = IntakeConfig.from_settings(settings, unknown_sku_holds=True)
    off = HoldPolicy(first_order_hold_above_minor=2**62, history_multiplier=1, history_min_orders=2**31)
    return dataclasses.replace(config, holds=off)


def fingerprint(order: MarketplaceOrder) -> tuple[str, str | None, datetime | None, str | None]:
    """What, when unchanged, lets a sync skip a posting without a transaction."""
    return order.external_status, order.external_substatus, order.ship_by, order.tracking_number


def posting_lines(order: MarketplaceOrder) -> list[dict[str, Any]]:
    return [
        {"offer_id": ln.offer_id, "marketplace_sku": ln.marketplace_sku, "quantity": ln.quantity}
        for ln in order.lines
    ]


def apply_posting(
    session: Session,
    *,
    connection_id: int,
    posting: MarketplaceOrder,
    lookups: Lookups,
    config: IntakeConfig,
    settings: MarketplaceSettings,
    phone_region: str = "RU",
) -> Applied:
    row = session.scalar(
        select(MarketplacePosting)
        .where(
            MarketplacePosting.connection_id == connection_id,
            MarketplacePosting.external_id == posting.external_id,
        )
        .with_for_update()
    )
    if row is None:
        return _first_sight(session, connection_id, posting, lookups, config, settings, phone_region)
    return _follow(session, row, posting)


# -------------------------------------------------------------------------------------------- first sight


def _new_row(connection_id: int, posting: MarketplaceOrder, order_id: int | None) -> MarketplacePosting:
    now = utcnow()
    return MarketplacePosting(
        connection_id=connection_id,
        external_id=posting.external_id,
        order_id=order_id,
        external_status=posting.external_status,
        external_substatus=posting.external_substatus,
        warehouse_external_id=posting.warehouse_id,
        fulfilment_scheme=posting.fulfilment_scheme,
        lines=posting_lines(posting),
        ship_by=posting.ship_by,
        tracking_number=posting.tracking_number,
        needs_attention=posting.needs_attention,
        note="",
        created_at=now,
        updated_at=now,
    )


def _first_sight(
    session: Session,
    connection_id: int,
    posting: MarketplaceOrder,
    lookups: Lookups,
    config: IntakeConfig,
    settings: MarketplaceSettings,
    phone_region: str,
) -> Applied:
    if posting.status_hint in NOT_IMPORTED:
        row = _new_row(connection_id, posting, None)
        row.note = f"not imported: first seen as {posting.external_status}"
        session.add(row)
        session.flush()
        return Applied("skipped", None, row.note)
    conversion = to_order_create(
        posting,
        lookups,
        phone_region=phone_region,
        placeholder_name=settings.placeholder_name,
        placeholder_email=settings.placeholder_email,
    )
    result = receive(session, conversion.data, actor=ACTOR, config=config)
    row = _new_row(connection_id, posting, result.order_id)
    session.add(row)
    session.flush()
    if result.created:
        customer_id = result.order["customer_id"] if result.order else None
        if conversion.placeholder_contact and customer_id is not None and customer_id not in lookups.muted:
            _mute(session, customer_id)
            lookups.muted.add(customer_id)  # once per run; a rolled-back unit just mutes again next run
        if conversion.warehouse is None:
            _hold_unknown_warehouse(session, result.order_id, posting.warehouse_id)
        elif result.order and result.order.get("allocation"):
            _check_leg(session, row, result.order["allocation"], conversion.warehouse.code)
    return Applied("created" if result.created else "updated", result.order_id)


def _mute(session: Session, customer_id: int) -> None:
    """The placeholder customer is not a person: no e-mail/SMS/push for it (Ozon owns buyer contact)."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [
        {"customer_id": customer_id, "channel": channel, "enabled": False, "updated_at": utcnow()}
        for channel in ("email", "sms", "push")
    ]
    session.execute(module.insert(Preference).values(rows).on_conflict_do_nothing())


def _hold_unknown_warehouse(session: Session, order_id: int, warehouse_id: str | None) -> None:
    """Hold with ``unknown_warehouse`` (replacing the address hold it caused); never keep stock for it."""
    order = load_order(session, order_id, for_update=True)
    hold = Hold(
        HoldReason.unknown_warehouse,
        f"Ozon warehouse {warehouse_id or '(none)'} is not mapped to one of ours; map it and release",
        {"warehouse": warehouse_id or ""},  # structured, for the translated back office
    )
    timeline = Timeline()
    units = stock.release_order(
        session, order_id=order.id, reference=order.number, actor=ACTOR, note="unknown Ozon warehouse"
    )
    if units:
        timeline.record(order, "stock_released", actor=ACTOR, data={"units": units})
    kept = [h for h in order.hold_reasons if h.get("code") != HoldReason.address_unlocatable.value]
    order.hold_reasons = [*kept, hold.as_dict()]
    if order.status != S.on_hold.value:
        transition(order, S.on_hold, timeline=timeline, actor=ACTOR, reason=hold.detail)
    else:
        timeline.record(order, "held", actor=ACTOR, reason=hold.detail, data={"holds": [hold.code.value]})
    timeline.flush(session)


def _check_leg(session: Session, row: MarketplacePosting, allocation: dict[str, Any], expected: str) -> None:
    """The posting is tied to one marketplace warehouse: flag allocations that ship from elsewhere."""
    used = sorted({str(leg.get("warehouse")) for leg in allocation.get("legs", [])})
    if used and used != [expected]:
        row.needs_attention = True
        row.note = f"allocated from {', '.join(used)} but Ozon expects the parcel from {expected}"[:500]


# ---------------------------------------------------------------------------------------------- follow-up


def _follow(session: Session, row: MarketplacePosting, posting: MarketplaceOrder) -> Applied:
    changed: list[str] = []
    order = load_order(session, row.order_id, for_update=True) if row.order_id is not None else None
    timeline = Timeline()
    if (row.external_status, row.external_substatus) != (posting.external_status, posting.external_substatus):
        changed.append("status")
        if order is not None:
            timeline.record(
                order,
                "marketplace_status",
                actor=ACTOR,
                reason=f"Ozon: {posting.external_status}"
                + (f" / {posting.external_substatus}" if posting.external_substatus else ""),
                data={
                    "channel": posting.channel,
                    "posting": posting.external_id,
                    "from": row.external_status,
                    "to": posting.external_status,
                    "substatus": posting.external_substatus,
                },
            )
        row.external_status, row.external_substatus = posting.external_status, posting.external_substatus
        row.needs_attention = row.needs_attention or posting.needs_attention
    if posting.ship_by and posting.ship_by != row.ship_by:
        changed.append("ship_by")
        row.ship_by = posting.ship_by
        if order is not None and OrderStatus(order.status) not in LEFT_WAREHOUSE | {S.cancelled}:
            previous = order.ship_by.isoformat() if order.ship_by else None
            order.ship_by = posting.ship_by
            timeline.record(
                order,
                "ship_by_changed",
                actor=ACTOR,
                data={"from": previous, "to": posting.ship_by.isoformat()},
            )
    if posting.tracking_number and posting.tracking_number != row.tracking_number:
        changed.append("tracking")
        row.tracking_number = posting.tracking_number
    if order is not None and "status" in changed:
        timeline.flush(session)  # the status event first, then what it does to the shipment and order
        delivery.follow(session, posting, actor=ACTOR)
        _apply_hint(session, row, order, posting, timeline)
    timeline.flush(session)
    if not changed:
        return Applied("unchanged", row.order_id)
    row.updated_at = utcnow()
    return Applied("updated", row.order_id, ", ".join(changed))


def _apply_hint(
    session: Session, row: MarketplacePosting, order: Order, posting: MarketplaceOrder, timeline: Timeline
) -> None:
    current = OrderStatus(order.status)
    if posting.status_hint is S.cancelled and current is not S.cancelled:
        if posting.external_status in SPLIT_STATUSES:
            # Our ship call split the posting (one package per shipment): its children carry the parcels.
            row.note = "split on Ozon into one posting per shipment"
            return
        if current in LEFT_WAREHOUSE:
            row.needs_attention = True
            row.note = f"cancelled on Ozon after our order was {current.value}: check the return"[:500]
            return
        timeline.flush(session)  # keep the timeline in order: the status event before the cancellation
        by = posting.cancelled_by or "marketplace"
        why = posting.cancel_reason or "no reason given"
        orders.cancel(session, order.id, actor=ACTOR, reason=f"cancelled on Ozon by {by}: {why}"[:500])
    elif posting.status_hint is S.delivered and current is S.shipped:
        if delivery.carried_by_marketplace(session, order.id):
            return  # issue #7: the order follows its Ozon shipments (``delivery.follow`` above)
        transition(order, S.delivered, timeline=timeline, actor=ACTOR, reason="Ozon: delivered")
