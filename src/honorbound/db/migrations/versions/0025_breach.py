"""breach: incidents, the people each affected, and every notice sent or prepared

Revision ID: 0025
Revises: 0021 (main's head when written)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = honorbound.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "breach_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("discovered_at", TS, nullable=False),
        sa.Column("occurred_from", TS, nullable=True),
        sa.Column("occurred_to", TS, nullable=True),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("clients", sa.JSON(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("key_compromised", sa.Boolean(), nullable=False),
        sa.Column("health_data_covered", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("selected_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_breach_incidents_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_incidents")),
    )
    with op.batch_alter_table("breach_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_incidents_org_status", ["organization_id", "status"], unique=False
        )
    op.create_table(
        "breach_affected",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["breach_incidents.id"],
            name=op.f("fk_breach_affected_incident_id_breach_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "subject_id", name=op.f("pk_breach_affected")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("breach_affected", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_affected_incident_state", ["incident_id", "state"], unique=False
        )
    op.create_table(
        "breach_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_breach_notices_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["breach_incidents.id"],
            name=op.f("fk_breach_notices_incident_id_breach_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_notices")),
    )
    with op.batch_alter_table("breach_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_notices_incident", ["incident_id", "audience"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("breach_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_notices_incident")
    op.drop_table("breach_notices")
    with op.batch_alter_table("breach_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_affected_incident_state")
    op.drop_table("breach_affected")
    with op.batch_alter_table("breach_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_incidents_org_status")
    op.drop_table("breach_incidents")
