"""marketplaces: connections, mappings, postings, sync state, push inbox, stocks, returns (issue #7)

Revision ID: 0005_marketplaces
Revises: 0001
Create Date: 2026-11-27 07:36:36.588414
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_marketplaces"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketplace_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=False),
        sa.Column("api_key_last4", sa.String(length=4), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_connections")),
        sa.UniqueConstraint(
            "channel", "client_id", name=op.f("uq_marketplace_connections_channel_client_id")
        ),
    )
    op.create_table(
        "marketplace_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_sku", sa.String(length=32), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_products_connection_id_marketplace_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_marketplace_products_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_products")),
        sa.UniqueConstraint(
            "connection_id", "offer_id", name=op.f("uq_marketplace_products_connection_id_offer_id")
        ),
    )
    with op.batch_alter_table("marketplace_products", schema=None) as batch_op:
        batch_op.create_index("ix_marketplace_products_product", ["product_id"], unique=False)

    op.create_table(
        "marketplace_push_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("message_type", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_push_inbox_connection_id_marketplace_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_push_inbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_marketplace_push_inbox_dedupe_key")),
    )
    with op.batch_alter_table("marketplace_push_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_marketplace_push_inbox_status", ["status", "id"], unique=False)

    op.create_table(
        "marketplace_stocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_external_id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("pushed_quantity", sa.Integer(), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_stocks_connection_id_marketplace_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_stocks")),
        sa.UniqueConstraint(
            "connection_id",
            "warehouse_external_id",
            "offer_id",
            name=op.f("uq_marketplace_stocks_connection_id_warehouse_external_id_offer_id"),
        ),
    )
    op.create_table(
        "marketplace_sync_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_sync_errors_connection_id_marketplace_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_sync_errors")),
    )
    with op.batch_alter_table("marketplace_sync_errors", schema=None) as batch_op:
        batch_op.create_index("ix_marketplace_sync_errors_connection", ["connection_id", "id"], unique=False)

    op.create_table(
        "marketplace_sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cursor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_sync_state_connection_id_marketplace_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_sync_state")),
        sa.UniqueConstraint(
            "connection_id", "kind", name=op.f("uq_marketplace_sync_state_connection_id_kind")
        ),
    )
    op.create_table(
        "marketplace_warehouses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("push_stock", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_warehouses_connection_id_marketplace_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_marketplace_warehouses_warehouse_id_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_warehouses")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_marketplace_warehouses_connection_id_external_id")
        ),
    )
    op.create_table(
        "marketplace_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("external_status", sa.String(length=48), nullable=False),
        sa.Column("external_substatus", sa.String(length=64), nullable=True),
        sa.Column("warehouse_external_id", sa.String(length=32), nullable=True),
        sa.Column("fulfilment_scheme", sa.String(length=32), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("ship_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tracking_sent", sa.String(length=64), nullable=True),
        sa.Column("cancel_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("label_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("label_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_postings_connection_id_marketplace_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_marketplace_postings_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_postings")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_marketplace_postings_connection_id_external_id")
        ),
    )
    with op.batch_alter_table("marketplace_postings", schema=None) as batch_op:
        batch_op.create_index("ix_marketplace_postings_order", ["order_id"], unique=False)

    op.create_table(
        "marketplace_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("posting_number", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("marketplace_sku", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("barcode", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_returns_connection_id_marketplace_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_marketplace_returns_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_returns")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_marketplace_returns_connection_id_external_id")
        ),
    )
    with op.batch_alter_table("marketplace_returns", schema=None) as batch_op:
        batch_op.create_index("ix_marketplace_returns_posting", ["posting_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("marketplace_returns", schema=None) as batch_op:
        batch_op.drop_index("ix_marketplace_returns_posting")

    op.drop_table("marketplace_returns")
    with op.batch_alter_table("marketplace_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_marketplace_postings_order")

    op.drop_table("marketplace_postings")
    op.drop_table("marketplace_warehouses")
    op.drop_table("marketplace_sync_state")
    with op.batch_alter_table("marketplace_sync_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_marketplace_sync_errors_connection")

    op.drop_table("marketplace_sync_errors")
    op.drop_table("marketplace_stocks")
    with op.batch_alter_table("marketplace_push_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_marketplace_push_inbox_status")

    op.drop_table("marketplace_push_inbox")
    with op.batch_alter_table("marketplace_products", schema=None) as batch_op:
        batch_op.drop_index("ix_marketplace_products_product")

    op.drop_table("marketplace_products")
    op.drop_table("marketplace_connections")
