"""consent: per-organization contact overrides (calling hours stricter than the law);
disclosures: the sub-processor register per client

Revision ID: 0037
Revises: 0031
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0037"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_contact_overrides",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("calling_start", sa.String(length=5), nullable=False),
        sa.Column("calling_end", sa.String(length=5), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("updated_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_contact_overrides_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_consent_contact_overrides")),
    )

    op.create_table(
        "subprocessors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("added_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_subprocessors_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subprocessors")),
    )
    with op.batch_alter_table("subprocessors") as batch:
        batch.create_index(
            batch.f("ix_subprocessors_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subprocessors") as batch:
        batch.drop_index(batch.f("ix_subprocessors_organization_id"))
    op.drop_table("subprocessors")
    op.drop_table("consent_contact_overrides")
