"""accounts: server-side staff sessions; rights: unguessable link ids, attempts per client

Revision ID: 0016
Revises: 0022
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_staff_sessions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("rights_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_rights_tokens_public_id"), ["public_id"])
    op.create_table(
        "rights_token_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["rights_tokens.id"],
            name=op.f("fk_rights_token_attempts_token_id_rights_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_token_attempts")),
        sa.UniqueConstraint(
            "token_id", "client_hash", name=op.f("uq_rights_token_attempts_token_id_client_hash")
        ),
    )


def downgrade() -> None:
    op.drop_table("rights_token_attempts")
    with op.batch_alter_table("rights_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_rights_tokens_public_id"), type_="unique")
        batch_op.drop_column("public_id")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))
    op.drop_table("staff_sessions")
