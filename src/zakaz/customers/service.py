"""Find or create the customer behind an order; keep the running totals the intake holds use.

Both run on every order, so they are prebuilt Core statements (no ORM units of work, no statement
building per call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.customers.models import Customer

CUSTOMERS = cast(Table, Customer.__table__)
_c = CUSTOMERS.c


@dataclass(frozen=True)
class CustomerRef:
    id: int
    order_count: int
    total_spent_minor: int


def _match(email: bool, phone: bool) -> Any:
    conditions = []
    if email:
        conditions.append(_c.email == bindparam("email"))
    if phone:
        conditions.append(_c.phone == bindparam("phone"))
    return (
        select(_c.id, _c.email, _c.order_count, _c.total_spent_minor)
        .where(or_(*conditions))
        .order_by(_c.id)
        .limit(5)
    )


_FIND = {
    (True, True): _match(True, True),
    (True, False): _match(True, False),
    (False, True): _match(False, True),
}
_INSERT = insert(CUSTOMERS).returning(_c.id)
_COUNT_ORDER = (
    update(CUSTOMERS)
    .where(_c.id == bindparam("customer_id"))
    .values(
        order_count=_c.order_count + bindparam("orders", type_=_c.order_count.type),
        total_spent_minor=_c.total_spent_minor + bindparam("total_minor", type_=_c.total_spent_minor.type),
    )
)


def _count_matched(email: bool, phone: bool) -> Any:
    """Count an order on the customer :func:`find_or_create` would pick (e-mail match first, lowest id)."""
    conditions = []
    if email:
        conditions.append(_c.email == bindparam("match_email"))
    if phone:
        conditions.append(_c.phone == bindparam("match_phone"))
    order = (case((_c.email == bindparam("match_email"), 0), else_=1), _c.id) if email else (_c.id,)
    matched = select(_c.id).where(or_(*conditions)).order_by(*order).limit(1).scalar_subquery()
    return (
        update(CUSTOMERS)
        .where(_c.id == matched)
        .values(
            order_count=_c.order_count + 1,
            total_spent_minor=_c.total_spent_minor
            + bindparam("total_minor", type_=_c.total_spent_minor.type),
        )
        .returning(_c.id, _c.order_count, _c.total_spent_minor)
    )


_COUNT_MATCHED = {key: _count_matched(*key) for key in _FIND}


def find_and_count(
    session: Session,
    *,
    name: str,
    email: str | None,
    phone: str | None,
    locale: str = "ru",
    total_minor: int,
) -> CustomerRef:
    """:func:`find_or_create` and :func:`count_order` of a new order in one statement (the intake's path).

    Returns the customer with the totals from *before* this order, which is what the value holds compare.
    """
    if email or phone:
        row = session.execute(
            _COUNT_MATCHED[(bool(email), bool(phone))],
            {"match_email": email, "match_phone": phone, "total_minor": total_minor},
        ).first()
        if row is not None:
            return CustomerRef(row.id, row.order_count - 1, row.total_spent_minor - total_minor)
    new_id = session.execute(
        _INSERT,
        {
            "name": name,
            "email": email,
            "phone": phone,
            "locale": locale,
            "order_count": 1,
            "total_spent_minor": total_minor,
            "created_at": utcnow(),
        },
    ).scalar_one()
    return CustomerRef(new_id, 0, 0)


def find_or_create(
    session: Session, *, name: str, email: str | None, phone: str | None, locale: str = "ru"
) -> CustomerRef:
    """Match by e-mail first, then by phone (both already normalised)."""
    if email or phone:
        rows = session.execute(_FIND[(bool(email), bool(phone))], {"email": email, "phone": phone}).all()
        if rows:
            best = next((r for r in rows if email and r.email == email), rows[0])
            return CustomerRef(best.id, best.order_count, best.total_spent_minor)
    new_id = session.execute(
        _INSERT,
        {
            "name": name,
            "email": email,
            "phone": phone,
            "locale": locale,
            "order_count": 0,
            "total_spent_minor": 0,
            "created_at": utcnow(),
        },
    ).scalar_one()
    return CustomerRef(new_id, 0, 0)


def count_order(session: Session, *, customer_id: int, total_minor: int, orders: int = 1) -> None:
    """Add (or, with orders=-1 and a negative total, take back) an order in the customer's totals."""
    session.execute(_COUNT_ORDER, {"customer_id": customer_id, "total_minor": total_minor, "orders": orders})
