"""References the database does not check itself, checked on demand (``zakaz db check``).

Order lines, timeline events and reservations point at their order (and a reservation at its line) without
a foreign-key constraint (migration 0015: the checks were the largest share of PostgreSQL's CPU per order
under concurrent intake). Those rows are written in the order's own transaction by the order services and
never outlive it: orders are not deleted, and an edit that replaces the lines deletes the order's
reservations first. This module looks for any row that breaks that rule, so that a bug or a hand-made
change in the database is found instead of trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from zakaz.inventory.models import Reservation
from zakaz.orders.models import Order, OrderEvent, OrderLine

SAMPLE = 20  # row ids listed per problem


@dataclass(frozen=True)
class Problem:
    """Rows of one table whose reference points nowhere (or at another order's line)."""

    table: str
    rule: str
    count: int
    sample_ids: list[int]


def _missing_order(model: type[OrderLine] | type[OrderEvent] | type[Reservation]) -> Select[int]:
    return (
        select(model.id)
        .outerjoin(Order, Order.id == model.order_id)
        .where(Order.id.is_(None))
        .order_by(model.id)
    )


def _reservation_line_mismatch() -> Select[int]:
    return (
        select(Reservation.id)
        .outerjoin(
            OrderLine,
            and_(OrderLine.id == Reservation.order_line_id, OrderLine.order_id == Reservation.order_id),
        )
        .where(OrderLine.id.is_(None))
        .order_by(Reservation.id)
    )


CHECKS: list[tuple[str, str, Select[int]]] = [
    ("order_lines", "order_id names no order", _missing_order(OrderLine)),
    ("order_events", "order_id names no order", _missing_order(OrderEvent)),
    ("reservations", "order_id names no order", _missing_order(Reservation)),
    ("reservations", "order_line_id names no line of that order", _reservation_line_mismatch()),
]


def find_problems(session: Session) -> list[Problem]:
    """Every broken reference, with how many rows and the first few ids; empty when all is well."""
    problems = []
    for table, rule, query in CHECKS:
        count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        if count:
            ids = list(session.scalars(query.limit(SAMPLE)))
            problems.append(Problem(table, rule, count, ids))
    return problems
