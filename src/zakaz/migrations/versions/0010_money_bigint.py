"""money: BIGINT for the amounts of orders, lines, products and customer totals on PostgreSQL

A 32-bit INTEGER overflows at 21,474,836.47 roubles: one large order, or a customer's running total,
made intake fail. SQLite's INTEGER is 64-bit already, so nothing changes there.

Revision ID: 0010_money_bigint
Revises: 0001
Create Date: 2026-11-27 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_money_bigint"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "orders": ("subtotal_minor", "shipping_minor", "discount_minor", "total_minor"),
    "order_lines": ("unit_price_minor", "line_total_minor"),
    "products": ("price_minor",),
    "customers": ("total_spent_minor",),
}


def _alter(to: sa.types.TypeEngine[int], from_: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to, existing_type=from_)


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
