"""Checkouts paid through Telegram's own form: what each invoice buys until it is placed.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "checkout_forms",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("checkout_key", sa.String(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("from_cart", sa.Boolean(), nullable=False),
        sa.Column("subtotal", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_checkout_forms_customer_id_customers")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_checkout_forms")),
        sa.UniqueConstraint("checkout_key", name=op.f("uq_checkout_forms_checkout_key")),
    )
    op.create_index(op.f("ix_checkout_forms_customer_id"), "checkout_forms", ["customer_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_checkout_forms_customer_id"), table_name="checkout_forms")
    op.drop_table("checkout_forms")
