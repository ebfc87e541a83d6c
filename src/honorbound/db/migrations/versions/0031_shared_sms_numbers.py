"""bpo: shared SMS numbers (the clients on each, and who last sent to whom from it)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bpo_shared_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bpo_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("routing", sa.String(length=16), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bpo_id"],
            ["organizations.id"],
            name=op.f("fk_bpo_shared_numbers_bpo_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bpo_shared_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_bpo_shared_numbers_number")),
    )
    with op.batch_alter_table("bpo_shared_numbers") as batch:
        batch.create_index(batch.f("ix_bpo_shared_numbers_bpo_id"), ["bpo_id"], unique=False)
    op.create_table(
        "bpo_shared_number_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared_number_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shared_number_id"],
            ["bpo_shared_numbers.id"],
            name=op.f("fk_bpo_shared_number_clients_shared_number_id_bpo_shared_numbers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_bpo_shared_number_clients_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bpo_shared_number_clients")),
        sa.UniqueConstraint(
            "shared_number_id",
            "organization_id",
            name="uq_bpo_shared_number_client",
        ),
    )
    with op.batch_alter_table("bpo_shared_number_clients") as batch:
        batch.create_index(
            batch.f("ix_bpo_shared_number_clients_organization_id"),
            ["organization_id"],
            unique=False,
        )
    op.create_table(
        "bpo_shared_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared_number_id", sa.Integer(), nullable=False),
        sa.Column("person_index", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shared_number_id"],
            ["bpo_shared_numbers.id"],
            name=op.f("fk_bpo_shared_sends_shared_number_id_bpo_shared_numbers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_bpo_shared_sends_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bpo_shared_sends")),
        sa.UniqueConstraint(
            "shared_number_id",
            "person_index",
            "organization_id",
            name="uq_bpo_shared_send",
        ),
    )
    with op.batch_alter_table("bpo_shared_sends") as batch:
        batch.create_index(
            "ix_bpo_shared_sends_person", ["shared_number_id", "person_index"], unique=False
        )


def downgrade() -> None:
    op.drop_table("bpo_shared_sends")
    op.drop_table("bpo_shared_number_clients")
    with op.batch_alter_table("bpo_shared_numbers") as batch:
        batch.drop_index(batch.f("ix_bpo_shared_numbers_bpo_id"))
    op.drop_table("bpo_shared_numbers")
