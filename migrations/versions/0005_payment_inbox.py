"""Payment inbox and refund intents: money events recorded before they are applied; refunds
with an idempotency key, called at the provider after the intent committed.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "payment_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("charge_id", sa.String(length=128), nullable=False),
        sa.Column("order_ref", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_inbox")),
        sa.UniqueConstraint("provider", "charge_id",
                            name=op.f("uq_payment_inbox_provider_charge_id")),
    )
    # Rows written before refunds had intents are all settled: no key, nothing to tell.
    op.add_column("refunds", sa.Column("idempotency_key", sa.String(length=64), nullable=True))
    op.add_column("refunds", sa.Column("notice", sa.String(length=32), nullable=False,
                                       server_default=""))
    op.create_index(op.f("ix_refunds_idempotency_key"), "refunds", ["idempotency_key"],
                    unique=True)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_refunds_idempotency_key"), table_name="refunds")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("notice")
        batch.drop_column("idempotency_key")
    op.drop_table("payment_inbox")
