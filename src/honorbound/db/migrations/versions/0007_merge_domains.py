"""merge the domain branches (vault, consent, policy, rights, retention/disclosures)

Each domain's first migration was written in parallel on top of the foundation; this revision
joins them so the schema has a single head again. It changes nothing by itself.

Revision ID: 0007
Revises: 0003, 0004, 0005, 0006 (0006 builds on 0002)
Create Date: 2026-11-24
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = ("0003", "0004", "0005", "0006")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
