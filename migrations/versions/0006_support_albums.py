"""Support: the album (media group) of a relayed message, so an album is copied as one.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("support_links", sa.Column("media_group_id", sa.String(length=64),
                                             nullable=True))
    op.create_index("ix_support_links_album", "support_links", ["chat_id", "media_group_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_support_links_album", table_name="support_links")
    with op.batch_alter_table("support_links") as batch:
        batch.drop_column("media_group_id")
