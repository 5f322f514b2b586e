"""Stock: read availability, reserve, release and adjust. Every change writes stock-movement rows.

Reservations never read-modify-write: each is one guarded ``UPDATE ... WHERE on_hand - reserved >= :q``
whose row count says whether it won. Rows are updated in primary-key order so that concurrent
transactions on PostgreSQL cannot deadlock, and callers do this last in their transaction so the row
lock is held as briefly as possible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.clock import utcnow
from zakaz.db import RetryableConflict
from zakaz.errors import Conflict, NotFound, ValidationFailed
from zakaz.errors import FieldError as FE
from zakaz.inventory.models import (
    MovementReason,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Warehouse,
)

LEVELS = cast(Table, StockLevel.__table__)
WAREHOUSES = cast(Table, Warehouse.__table__)
RESERVATIONS = cast(Table, Reservation.__table__)
MOVEMENTS = cast(Table, StockMovement.__table__)


@dataclass(frozen=True)
class WarehouseInfo:
    id: int
    code: str
    priority: int
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class StockRow:
    stock_level_id: int
    warehouse_id: int
    product_id: int
    available: int


@dataclass(frozen=True)
class ReserveItem:
    order_line_id: int
    stock_level_id: int
    warehouse_id: int
    product_id: int
    quantity: int


def active_warehouses(session: Session) -> list[WarehouseInfo]:
    rows = session.execute(
        select(
            Warehouse.id, Warehouse.code, Warehouse.priority, Warehouse.latitude, Warehouse.longitude
        ).where(Warehouse.active.is_(True))
    ).all()
    return [WarehouseInfo(r.id, r.code, r.priority, r.latitude, r.longitude) for r in rows]


def stock_for(session: Session, product_ids: Iterable[int]) -> list[StockRow]:
    ids = sorted(set(product_ids))
    if not ids:
        return []
    rows = session.execute(
        select(
            StockLevel.id,
            StockLevel.warehouse_id,
            StockLevel.product_id,
            StockLevel.on_hand,
            StockLevel.reserved,
        ).where(StockLevel.product_id.in_(ids))
    ).all()
    return [StockRow(r.id, r.warehouse_id, r.product_id, r.on_hand - r.reserved) for r in rows]


_w, _s = WAREHOUSES.c, LEVELS.c
_CANDIDATES = (
    select(
        _w.id,
        _w.code,
        _w.priority,
        _w.latitude,
        _w.longitude,
        _s.id.label("stock_level_id"),
        _s.product_id,
        _s.on_hand,
        _s.reserved,
    )
    .select_from(
        WAREHOUSES.outerjoin(
            LEVELS,
            and_(_s.warehouse_id == _w.id, _s.product_id.in_(bindparam("product_ids", expanding=True))),
        )
    )
    .where(_w.active.is_(True))
    .order_by(_w.id)
)


def candidates(session: Session, product_ids: Iterable[int]) -> tuple[list[WarehouseInfo], list[StockRow]]:
    """The active warehouses and their stock rows of ``product_ids``, in one query (allocation's read)."""
    warehouses: dict[int, WarehouseInfo] = {}
    rows: list[StockRow] = []
    for r in session.execute(_CANDIDATES, {"product_ids": sorted(set(product_ids))}):
        if r.id not in warehouses:
            warehouses[r.id] = WarehouseInfo(r.id, r.code, r.priority, r.latitude, r.longitude)
        if r.stock_level_id is not None:
            rows.append(StockRow(r.stock_level_id, r.id, r.product_id, r.on_hand - r.reserved))
    return list(warehouses.values()), rows


# The guarded reservation: one statement whose row count says whether it won.
_RESERVE = (
    update(LEVELS)
    .where(_s.id == bindparam("stock_level_id"), _s.on_hand - _s.reserved >= bindparam("qty"))
    .values(reserved=_s.reserved + bindparam("qty"), updated_at=bindparam("now", type_=_s.updated_at.type))
)
_INSERT_RESERVATIONS = insert(RESERVATIONS)
_INSERT_MOVEMENTS = insert(MOVEMENTS)


def reserve(
    session: Session, items: Sequence[ReserveItem], *, order_id: int, reference: str, actor: str
) -> None:
    """Reserve every item or raise :class:`RetryableConflict` (the caller's unit of work is then retried)."""
    if not items:
        return
    per_row: dict[int, int] = {}
    for item in items:
        per_row[item.stock_level_id] = per_row.get(item.stock_level_id, 0) + item.quantity
    now = utcnow()
    for stock_level_id in sorted(per_row):
        qty = per_row[stock_level_id]
        result = session.execute(_RESERVE, {"stock_level_id": stock_level_id, "qty": qty, "now": now})
        if getattr(result, "rowcount", 0) != 1:
            raise RetryableConflict(f"stock row {stock_level_id} no longer has {qty} available")
    session.execute(
        _INSERT_RESERVATIONS,
        [
            {
                "order_id": order_id,
                "order_line_id": i.order_line_id,
                "stock_level_id": i.stock_level_id,
                "warehouse_id": i.warehouse_id,
                "product_id": i.product_id,
                "quantity": i.quantity,
                "status": ReservationStatus.active.value,
                "created_at": now,
            }
            for i in items
        ],
    )
    session.execute(
        _INSERT_MOVEMENTS,
        [
            {
                "stock_level_id": i.stock_level_id,
                "warehouse_id": i.warehouse_id,
                "product_id": i.product_id,
                "on_hand_delta": 0,
                "reserved_delta": i.quantity,
                "reason": MovementReason.reservation.value,
                "reference": reference,
                "actor": actor,
                "created_at": now,
            }
            for i in items
        ],
    )


def release_order(session: Session, *, order_id: int, reference: str, actor: str, note: str = "") -> int:
    """Release every active reservation of an order; returns the units released."""
    rows = session.execute(
        select(
            Reservation.id,
            Reservation.stock_level_id,
            Reservation.warehouse_id,
            Reservation.product_id,
            Reservation.quantity,
        )
        .where(Reservation.order_id == order_id, Reservation.status == ReservationStatus.active.value)
        .order_by(Reservation.stock_level_id)
    ).all()
    if not rows:
        return 0
    now = utcnow()
    per_row: dict[int, int] = {}
    for r in rows:
        per_row[r.stock_level_id] = per_row.get(r.stock_level_id, 0) + r.quantity
    for stock_level_id in sorted(per_row):
        session.execute(
            update(StockLevel)
            .where(StockLevel.id == stock_level_id)
            .values(reserved=StockLevel.reserved - per_row[stock_level_id], updated_at=now)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(Reservation)
        .where(Reservation.id.in_([r.id for r in rows]))
        .values(status=ReservationStatus.released.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        insert(StockMovement),
        [
            {
                "stock_level_id": r.stock_level_id,
                "warehouse_id": r.warehouse_id,
                "product_id": r.product_id,
                "on_hand_delta": 0,
                "reserved_delta": -r.quantity,
                "reason": MovementReason.release.value,
                "reference": reference,
                "note": note or None,
                "actor": actor,
                "created_at": now,
            }
            for r in rows
        ],
    )
    return sum(r.quantity for r in rows)


def reserved_by_line(session: Session, order_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Reservation.order_line_id, Reservation.quantity).where(
            Reservation.order_id == order_id, Reservation.status == ReservationStatus.active.value
        )
    ).all()
    out: dict[int, int] = {}
    for r in rows:
        out[r.order_line_id] = out.get(r.order_line_id, 0) + r.quantity
    return out


@dataclass(frozen=True)
class Adjusted:
    stock_level_id: int
    warehouse_code: str
    sku: str
    product_id: int
    on_hand: int
    reserved: int
    delta: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def adjust(
    session: Session,
    *,
    warehouse_code: str,
    sku: str,
    delta: int | None = None,
    set_on_hand: int | None = None,
    reason: MovementReason = MovementReason.adjustment,
    note: str = "",
    actor: str,
    reference: str | None = None,
    bin_location: str | None = None,
) -> Adjusted:
    """Change on_hand by ``delta`` (or to ``set_on_hand``). Never below what is reserved."""
    if (delta is None) == (set_on_hand is None):
        raise ValidationFailed([FE("delta", "one_of", "give exactly one of delta or set_on_hand")])
    warehouse = session.execute(
        select(Warehouse.id, Warehouse.code).where(Warehouse.code == warehouse_code)
    ).first()
    if warehouse is None:
        raise NotFound(f"no warehouse {warehouse_code!r}", field="warehouse")
    product_id = session.scalar(select(Product.id).where(Product.sku == sku))
    if product_id is None:
        raise NotFound(f"no product with SKU {sku!r}", field="sku")
    level = session.scalar(
        select(StockLevel).where(StockLevel.warehouse_id == warehouse.id, StockLevel.product_id == product_id)
    )
    if level is None:
        level = StockLevel(warehouse_id=warehouse.id, product_id=product_id, on_hand=0, reserved=0)
        session.add(level)
        session.flush()
    change = delta if delta is not None else (set_on_hand or 0) - level.on_hand
    if set_on_hand is not None and set_on_hand < 0:
        raise ValidationFailed([FE("set_on_hand", "negative", "on hand cannot be negative")])
    now = utcnow()
    values: dict[str, object] = {"on_hand": StockLevel.on_hand + change, "updated_at": now}
    if bin_location is not None:
        values["bin_location"] = bin_location
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id, StockLevel.on_hand + change >= StockLevel.reserved)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.refresh(level)
        if level.on_hand + change < 0:
            raise Conflict(
                f"on hand would become {level.on_hand + change}; there are only {level.on_hand}",
                field="delta",
                on_hand=level.on_hand,
                reserved=level.reserved,
            )
        raise Conflict(
            f"cannot reduce on hand below the {level.reserved} units reserved for orders",
            field="delta",
            on_hand=level.on_hand,
            reserved=level.reserved,
        )
    if change:
        session.execute(
            insert(StockMovement),
            [
                {
                    "stock_level_id": level.id,
                    "warehouse_id": warehouse.id,
                    "product_id": product_id,
                    "on_hand_delta": change,
                    "reserved_delta": 0,
                    "reason": reason.value,
                    "reference": reference,
                    "note": note or None,
                    "actor": actor,
                    "created_at": now,
                }
            ],
        )
    session.refresh(level)
    return Adjusted(level.id, warehouse.code, sku, product_id, level.on_hand, level.reserved, change)


def stock_levels(
    session: Session,
    *,
    warehouse_code: str | None = None,
    sku: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, object]]:
    stmt = (
        select(
            StockLevel.id,
            Warehouse.code.label("warehouse"),
            Product.sku,
            Product.name,
            StockLevel.on_hand,
            StockLevel.reserved,
            StockLevel.bin_location,
            StockLevel.updated_at,
        )
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Product, Product.id == StockLevel.product_id)
        .order_by(Product.sku, Warehouse.code)
        .limit(limit)
        .offset(offset)
    )
    if warehouse_code:
        stmt = stmt.where(Warehouse.code == warehouse_code)
    if sku:
        stmt = stmt.where(Product.sku == sku)
    return [
        {
            "warehouse": r.warehouse,
            "sku": r.sku,
            "name": r.name,
            "on_hand": r.on_hand,
            "reserved": r.reserved,
            "available": r.on_hand - r.reserved,
            "bin_location": r.bin_location,
            "updated_at": r.updated_at.isoformat(),
        }
        for r in session.execute(stmt)
    ]


def movements(
    session: Session, *, warehouse_code: str | None = None, sku: str | None = None, limit: int = 100
) -> list[dict[str, object]]:
    stmt = (
        select(StockMovement, Warehouse.code, Product.sku)
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .join(Product, Product.id == StockMovement.product_id)
        .order_by(StockMovement.id.desc())
        .limit(limit)
    )
    if warehouse_code:
        stmt = stmt.where(Warehouse.code == warehouse_code)
    if sku:
        stmt = stmt.where(Product.sku == sku)
    return [
        {
            "id": m.id,
            "warehouse": code,
            "sku": product_sku,
            "on_hand_delta": m.on_hand_delta,
            "reserved_delta": m.reserved_delta,
            "reason": m.reason,
            "reference": m.reference,
            "note": m.note,
            "actor": m.actor,
            "at": m.created_at.isoformat(),
        }
        for m, code, product_sku in session.execute(stmt)
    ]
