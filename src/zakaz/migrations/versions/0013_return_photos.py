"""return photos: the shopper's pictures of a return request (issue #6)

Revision ID: 0013_return_photos
Revises: 0008_return_labels
Create Date: 2026-12-10 10:00:00.000000

It continues the returns branch (``return_photos`` references ``returns``, created by ``0006_returns``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_return_photos"
down_revision: str | None = "0008_return_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_return_photos_return", "return_photos", ["return_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_return_photos_return", table_name="return_photos")
    op.drop_table("return_photos")
