"""support: conversations and messages of the support inbox (Ozon buyer chats, issue #7)

Revision ID: 0009_support
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000

A branch off 0001 like every domain; it references ``marketplace_connections``, so it runs after
``0005_marketplaces`` (``depends_on``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_support"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0005_marketplaces"


def upgrade() -> None:
    op.create_table(
        "support_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("chat_type", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("unread_count", sa.Integer(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_customer_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_external_message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_support_conversations_connection_id_marketplace_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_support_conversations_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversations")),
        sa.UniqueConstraint(
            "channel", "external_id", name=op.f("uq_support_conversations_channel_external_id")
        ),
    )
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_conversations_inbox", ["status", "last_message_at", "id"], unique=False
        )
        batch_op.create_index("ix_support_conversations_order", ["order_id"], unique=False)

    op.create_table(
        "support_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("author_type", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_status", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("send_attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_messages_conversation_id_support_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
        sa.UniqueConstraint(
            "conversation_id", "external_id", name=op.f("uq_support_messages_conversation_id_external_id")
        ),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_messages_conversation", ["conversation_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_support_messages_delivery", ["delivery_status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_support_messages_delivery")
        batch_op.drop_index("ix_support_messages_conversation")
    op.drop_table("support_messages")
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_support_conversations_order")
        batch_op.drop_index("ix_support_conversations_inbox")
    op.drop_table("support_conversations")
