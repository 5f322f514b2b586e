"""push subscriptions: one row per (order, browser endpoint) instead of one per endpoint

Pushes go only to the browsers subscribed on the order's own tracking page (customers are matched by e-mail
or phone, so a customer-wide subscription leaked other shoppers' orders); a browser that follows two orders
needs a row for each.

Revision ID: 0014_push_per_order
Revises: 0003_notifications
Create Date: 2026-11-27 11:58:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_push_per_order"
down_revision: str | None = "0003_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_push_subscriptions_endpoint", type_="unique")
        batch_op.create_unique_constraint("uq_push_subscriptions_order_id_endpoint", ["order_id", "endpoint"])


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_push_subscriptions_order_id_endpoint", type_="unique")
        batch_op.create_unique_constraint("uq_push_subscriptions_endpoint", ["endpoint"])
