"""homes.changed_at, so the processors' home directory reloads only what changed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_homes_changed_at", ["changed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.drop_index("ix_homes_changed_at")
        batch.drop_column("changed_at")
