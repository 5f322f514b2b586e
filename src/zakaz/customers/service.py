"""Find or create the customer behind an order; keep the running totals the intake holds use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.customers.models import Customer


@dataclass(frozen=True)
class CustomerRef:
    id: int
    order_count: int
    total_spent_minor: int


def find_or_create(
    session: Session, *, name: str, email: str | None, phone: str | None, locale: str = "ru"
) -> CustomerRef:
    """Match by e-mail first, then by phone (both already normalised)."""
    conditions = []
    if email:
        conditions.append(Customer.email == email)
    if phone:
        conditions.append(Customer.phone == phone)
    if conditions:
        rows = session.execute(
            select(Customer.id, Customer.email, Customer.order_count, Customer.total_spent_minor)
            .where(or_(*conditions))
            .order_by(Customer.id)
            .limit(5)
        ).all()
        if rows:
            best = next((r for r in rows if email and r.email == email), rows[0])
            return CustomerRef(best.id, best.order_count, best.total_spent_minor)
    new_id = session.execute(
        insert(Customer)
        .values(
            name=name,
            email=email,
            phone=phone,
            locale=locale,
            order_count=0,
            total_spent_minor=0,
            created_at=utcnow(),
        )
        .returning(Customer.id)
    ).scalar_one()
    return CustomerRef(new_id, 0, 0)


def count_order(session: Session, *, customer_id: int, total_minor: int, orders: int = 1) -> None:
    """Add (or, with orders=-1 and a negative total, take back) an order in the customer's totals."""
    session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(
            order_count=Customer.order_count + orders,
            total_spent_minor=Customer.total_spent_minor + total_minor,
        )
        .execution_options(synchronize_session=False)
    )
