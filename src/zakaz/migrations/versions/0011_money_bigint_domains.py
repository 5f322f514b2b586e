"""money: BIGINT for the amounts of shipments, returns, refunds and marketplace returns on PostgreSQL

The same change as 0010_money_bigint for the tables of the fulfilment, returns and marketplace branches.

Revision ID: 0011_money_bigint_domains
Revises: 0010_money_bigint
Create Date: 2026-11-27 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_money_bigint_domains"
down_revision: str | None = "0010_money_bigint"
branch_labels: str | Sequence[str] | None = None
# 0008_return_labels depends on 0005_marketplaces (marketplace_returns) already
depends_on: str | Sequence[str] | None = ("0004_fulfilment", "0008_return_labels")

COLUMNS = {
    "shipments": ("price_minor",),
    "returns": ("value_minor",),
    "refunds": ("amount_minor", "quoted_minor"),
    "marketplace_returns": ("unit_price_minor",),
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
