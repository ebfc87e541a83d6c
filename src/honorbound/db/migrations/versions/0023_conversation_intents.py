"""intents: requests said in conversations (opt-outs, rights requests), acted on or queued

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_reason", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("request_type", sa.String(length=40), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("occurred_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("consent_event_ids", sa.JSON(), nullable=False),
        sa.Column("rights_request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_conversation_intents_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_intents")),
        sa.UniqueConstraint(
            "organization_id",
            "fingerprint",
            name=op.f("uq_conversation_intents_organization_id_fingerprint"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_conversation_intents_org_status",
        "conversation_intents",
        ["organization_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_conversation_intents_subject_id"),
        "conversation_intents",
        ["subject_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_intents_subject_id"), table_name="conversation_intents")
    op.drop_index("ix_conversation_intents_org_status", table_name="conversation_intents")
    op.drop_table("conversation_intents")
