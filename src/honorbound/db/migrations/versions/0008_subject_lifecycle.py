"""vault subjects: account closure and engagement end dates (retention triggers)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vault_subjects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "account_closed_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "engagement_ended_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_subjects", schema=None) as batch_op:
        batch_op.drop_column("engagement_ended_at")
        batch_op.drop_column("account_closed_at")
