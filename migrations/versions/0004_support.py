"""Support: topics per customer, conversations, relayed message pairs.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "support_topics",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("card_message_id", sa.Integer(), nullable=True),
        sa.Column("creating_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_support_topics_customer_id_customers")),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_support_topics")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_support_topics_customer_id")),
    )
    op.create_index(op.f("ix_support_topics_thread_id"), "support_topics", ["thread_id"])
    op.create_table(
        "support_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_name", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_sessions")),
    )
    op.create_index(op.f("ix_support_sessions_telegram_id"), "support_sessions", ["telegram_id"])
    op.create_index("ix_support_sessions_waiting_since", "support_sessions", ["waiting_since"])
    op.create_table(
        "support_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("peer_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("peer_message_id", sa.Integer(), nullable=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_links")),
        sa.UniqueConstraint("chat_id", "message_id",
                            name=op.f("uq_support_links_chat_id_message_id")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("support_links")
    op.drop_index("ix_support_sessions_waiting_since", table_name="support_sessions")
    op.drop_index(op.f("ix_support_sessions_telegram_id"), table_name="support_sessions")
    op.drop_table("support_sessions")
    op.drop_index(op.f("ix_support_topics_thread_id"), table_name="support_topics")
    op.drop_table("support_topics")
