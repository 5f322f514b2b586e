"""return labels, return tracking and marketplace returns linked to after-sales (issue #6, with #7)

Revision ID: 0008_return_labels
Revises: 0006_returns
Create Date: 2026-12-03 10:00:00.000000

It continues the returns branch (it alters ``returns`` and ``return_events`` from ``0006_returns``, which
branches off ``0001``) rather than starting a new branch off ``0001``: a sibling of ``0006`` could run
before it and find no table to alter. It also points at ``marketplace_returns`` (``0005_marketplaces``), so
it names that in ``depends_on``: Alembic runs it first without merging the branches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_return_labels"
down_revision: str | None = "0006_returns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0005_marketplaces"


def upgrade() -> None:
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_code", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("booking_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("label_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("label_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("label_attempt", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_returns_carrier_tracking", ["carrier_code", "tracking_number"], unique=False
        )

    with op.batch_alter_table("return_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.String(length=128), nullable=True))
        batch_op.create_index("ux_return_events_event_id", ["event_id"], unique=True)

    op.create_table(
        "return_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace_return_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("problem", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("applied_status", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["marketplace_return_id"],
            ["marketplace_returns.id"],
            name=op.f("fk_return_sources_marketplace_return_id_marketplace_returns"),
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_sources_return_id_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_sources")),
        sa.UniqueConstraint("marketplace_return_id", name=op.f("uq_return_sources_marketplace_return_id")),
    )
    with op.batch_alter_table("return_sources", schema=None) as batch_op:
        batch_op.create_index("ix_return_sources_return", ["return_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("return_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_return_sources_return")
    op.drop_table("return_sources")
    with op.batch_alter_table("return_events", schema=None) as batch_op:
        batch_op.drop_index("ux_return_events_event_id")
        batch_op.drop_column("event_id")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index("ix_returns_carrier_tracking")
        for column in (
            "arrived_at",
            "last_event_at",
            "label_attempt",
            "label_error",
            "label_status",
            "booking_id",
            "service_code",
        ):
            batch_op.drop_column(column)
