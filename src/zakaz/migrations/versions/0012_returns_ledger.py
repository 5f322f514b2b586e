"""quarantined returned units can be written off (issue #6)

Revision ID: 0012_returns_ledger
Revises: 0008_return_labels
Create Date: 2026-11-27 11:00:00.000000

Continues the returns branch (it alters ``return_quarantine`` from ``0006_returns``). The new stock
movement reasons ``return_quarantine`` and ``write_off`` need nothing here: ``stock_movements.reason`` is
a plain string column, and ``refunds.kind`` ("exchange_charge") likewise.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_returns_ledger"
down_revision: str | None = "0008_return_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("return_quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_off_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("written_off_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("return_quarantine", schema=None) as batch_op:
        batch_op.drop_column("written_off_by")
        batch_op.drop_column("written_off_at")
