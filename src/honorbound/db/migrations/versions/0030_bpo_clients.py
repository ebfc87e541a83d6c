"""accounts: a BPO's clients (privacy contact, disabled, offboarded, offboarding certificates);
rights: the cross-client desk's index of open requests by due date

Revision ID: 0030
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(
            sa.Column("privacy_contact", sa.String(length=320), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("disabled_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("offboarded_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_organizations_operated_by_id"), ["operated_by_id"], unique=False
        )
    op.create_table(
        "client_offboardings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("bpo_id", sa.Integer(), nullable=False),
        sa.Column("package_name", sa.String(length=200), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_client_offboardings_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["bpo_id"],
            ["organizations.id"],
            name=op.f("fk_client_offboardings_bpo_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_offboardings")),
    )
    with op.batch_alter_table("client_offboardings") as batch:
        batch.create_index(
            batch.f("ix_client_offboardings_organization_id"), ["organization_id"], unique=False
        )
    with op.batch_alter_table("rights_requests") as batch:
        batch.create_index(
            "ix_rights_requests_org_open_due",
            ["organization_id", "closed_at", "due_at", "id", "type"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.drop_index("ix_rights_requests_org_open_due")
    with op.batch_alter_table("client_offboardings") as batch:
        batch.drop_index(batch.f("ix_client_offboardings_organization_id"))
    op.drop_table("client_offboardings")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_index(batch.f("ix_organizations_operated_by_id"))
        batch.drop_column("offboarded_at")
        batch.drop_column("disabled_at")
        batch.drop_column("privacy_contact")
