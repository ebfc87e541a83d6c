"""rights_requests: a partial index of the open requests for the cross-client desk (pages in
due order on PostgreSQL instead of a sort of every open request)

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | Sequence[str] | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_rights_requests_open_due",
        "rights_requests",
        ["organization_id", "due_at", "id", "type"],
        unique=False,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_rights_requests_open_due", table_name="rights_requests")
