"""consent: event ledger, company and national do-not-call, call attempts, SMS dedupe

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_call_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("identity_index", sa.String(length=64), nullable=False),
        sa.Column("match_key", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("called_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_call_attempts_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_call_attempts")),
    )
    op.create_index(
        "ix_consent_call_attempts_org_key_at",
        "consent_call_attempts",
        ["organization_id", "match_key", "called_at"],
        unique=False,
    )
    op.create_table(
        "consent_company_dnc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("identity_index", sa.String(length=64), nullable=False),
        sa.Column("match_key", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("requested_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_company_dnc_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_company_dnc")),
    )
    op.create_index(
        op.f("ix_consent_company_dnc_identity_index"),
        "consent_company_dnc",
        ["identity_index"],
        unique=False,
    )
    op.create_index(
        "ix_consent_company_dnc_org_id",
        "consent_company_dnc",
        ["organization_id", "id"],
        unique=False,
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("identity_kind", sa.String(length=16), nullable=False),
        sa.Column("identity_index", sa.String(length=64), nullable=False),
        sa.Column("match_key", sa.BigInteger(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("occurred_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("actor_id", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
        sa.UniqueConstraint(
            "organization_id",
            "external_ref",
            name=op.f("uq_consent_events_organization_id_external_ref"),
        ),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_consent_events_receipt_id")),
    )
    op.create_index(
        "ix_consent_events_org_id", "consent_events", ["organization_id", "id"], unique=False
    )
    op.create_index(
        "ix_consent_events_org_identity",
        "consent_events",
        ["organization_id", "identity_index"],
        unique=False,
    )
    op.create_index(
        op.f("ix_consent_events_subject_id"), "consent_events", ["subject_id"], unique=False
    )
    op.create_table(
        "consent_national_dnc",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_national_dnc_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "number", name=op.f("pk_consent_national_dnc")),
    )
    op.create_table(
        "consent_national_dnc_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("registry_date", sa.Date(), nullable=False),
        sa.Column("imported_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("rejected_lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_national_dnc_imports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_national_dnc_imports")),
    )
    op.create_index(
        op.f("ix_consent_national_dnc_imports_organization_id"),
        "consent_national_dnc_imports",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "consent_sms_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_consent_sms_inbound_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_sms_inbound")),
        sa.UniqueConstraint(
            "organization_id",
            "message_id",
            name=op.f("uq_consent_sms_inbound_organization_id_message_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("consent_sms_inbound")
    op.drop_index(
        op.f("ix_consent_national_dnc_imports_organization_id"),
        table_name="consent_national_dnc_imports",
    )
    op.drop_table("consent_national_dnc_imports")
    op.drop_table("consent_national_dnc")
    op.drop_index(op.f("ix_consent_events_subject_id"), table_name="consent_events")
    op.drop_index("ix_consent_events_org_identity", table_name="consent_events")
    op.drop_index("ix_consent_events_org_id", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_consent_company_dnc_org_id", table_name="consent_company_dnc")
    op.drop_index(op.f("ix_consent_company_dnc_identity_index"), table_name="consent_company_dnc")
    op.drop_table("consent_company_dnc")
    op.drop_index("ix_consent_call_attempts_org_key_at", table_name="consent_call_attempts")
    op.drop_table("consent_call_attempts")
