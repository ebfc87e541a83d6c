"""breach: people found only in a connected system (sealed contact per incident), and the
notice column naming them

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0038"
down_revision: str | Sequence[str] | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breach_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("blind_index", sa.String(length=64), nullable=True),
        sa.Column("value_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("found_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["breach_incidents.id"],
            name=op.f("fk_breach_contacts_incident_id_breach_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_breach_contacts_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_contacts")),
    )
    with op.batch_alter_table("breach_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_contacts_incident", ["incident_id", "blind_index"], unique=True
        )
    with op.batch_alter_table("breach_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("breach_notices", schema=None) as batch_op:
        batch_op.drop_column("contact_id")
    with op.batch_alter_table("breach_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_contacts_incident")
    op.drop_table("breach_contacts")
