"""orders' own rows: no foreign-key constraints to orders / order_lines on lines, events, reservations

Order lines, timeline events and reservations are written together with their order by intake (one statement
on PostgreSQL, ``orders/intake_pg.py``) and by the order services in the order's own transaction; orders are
never deleted, and lines are replaced only by an order edit, which deletes the order's reservations first.
Checking those references cost more PostgreSQL CPU per order under concurrent intake than everything else the
order writes together (measured in docs/benchmarks.md: with 8 and 32 clients the backends' CPU per order fell
from 2.3-5.4 ms to 1.2-1.4 ms without these four constraints). The references stay indexed, and
``zakaz db check`` (``zakaz.integrity``) finds any row whose order or line is missing. References to shared
rows (customers, products, warehouses, stock levels) keep their constraints.

Revision ID: 0015_order_rows_no_fk
Revises: 0011_money_bigint_domains
Create Date: 2026-11-27 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_order_rows_no_fk"
down_revision: str | None = "0011_money_bigint_domains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = {
    "order_lines": [("fk_order_lines_order_id_orders", "order_id", "orders")],
    "order_events": [("fk_order_events_order_id_orders", "order_id", "orders")],
    "reservations": [
        ("fk_reservations_order_id_orders", "order_id", "orders"),
        ("fk_reservations_order_line_id_order_lines", "order_line_id", "order_lines"),
    ],
}


def upgrade() -> None:
    for table, constraints in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column, _parent in constraints:
                batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, constraints in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, parent in constraints:
                batch_op.create_foreign_key(name, parent, [column], ["id"])
