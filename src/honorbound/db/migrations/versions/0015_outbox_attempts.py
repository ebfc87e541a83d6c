"""outbox: one Message-ID per message, the send attempt's owner and lease, the SMTP outcome

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_by", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("attempt_until", honorbound.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("attempt_until")
        batch_op.drop_column("attempt_by")
        batch_op.drop_column("message_id")
