"""Processed updates keep their turn's replies (sent again when Telegram redelivers the update)
and are pruned by age.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("replies", sa.JSON(), nullable=False, server_default="[]"))
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("replies")
