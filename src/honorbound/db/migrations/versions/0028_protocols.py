"""protocols: DRP agents, tokens and requests; OpenDSR requests; controller contracts;
requests forwarded by the BPO to a client; signed messages already seen (replays)

Revision ID: 0028
Revises: 0020 (main's head when written)
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protocol_seen_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_seen_messages")),
        sa.UniqueConstraint("digest", name=op.f("uq_protocol_seen_messages_digest")),
    )
    with op.batch_alter_table("protocol_seen_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protocol_seen_messages_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "drp_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("web_url", sa.String(length=2048), nullable=False),
        sa.Column("identity_assurance_url", sa.String(length=2048), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_drp_agents_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drp_agents")),
        sa.UniqueConstraint(
            "organization_id", "agent_id", name=op.f("uq_drp_agents_organization_id_agent_id")
        ),
    )
    op.create_table(
        "protocol_controllers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("controller_id", sa.String(length=128), nullable=False),
        sa.Column("contract_days", sa.Integer(), nullable=False),
        sa.Column("contract_source", sa.Text(), nullable=False),
        sa.Column("notice_email", sa.String(length=320), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_protocol_controllers_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_controllers")),
        sa.UniqueConstraint(
            "organization_id", name=op.f("uq_protocol_controllers_organization_id")
        ),
    )
    op.create_table(
        "drp_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("agent_row_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("agent_request_id", sa.String(length=128), nullable=True),
        sa.Column("rights_request_id", sa.Integer(), nullable=False),
        sa.Column("exercise", sa.String(length=40), nullable=False),
        sa.Column("regime", sa.String(length=20), nullable=True),
        sa.Column("status_callback", sa.String(length=2048), nullable=True),
        sa.Column("received_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_status", sa.String(length=20), nullable=True),
        sa.Column("callback_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_row_id"],
            ["drp_agents.id"],
            name=op.f("fk_drp_requests_agent_row_id_drp_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_drp_requests_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rights_request_id"],
            ["rights_requests.id"],
            name=op.f("fk_drp_requests_rights_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drp_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_drp_requests_request_id")),
    )
    with op.batch_alter_table("drp_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drp_requests_rights_request_id"), ["rights_request_id"], unique=False
        )

    op.create_table(
        "drp_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("agent_row_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_row_id"],
            ["drp_agents.id"],
            name=op.f("fk_drp_tokens_agent_row_id_drp_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_drp_tokens_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drp_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_drp_tokens_token_hash")),
    )
    with op.batch_alter_table("drp_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drp_tokens_agent_row_id"), ["agent_row_id"], unique=False
        )

    op.create_table(
        "opendsr_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("subject_request_id", sa.String(length=36), nullable=False),
        sa.Column("rights_request_id", sa.Integer(), nullable=False),
        sa.Column("subject_request_type", sa.String(length=20), nullable=False),
        sa.Column("regulation", sa.String(length=20), nullable=False),
        sa.Column("submitted_time", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_time", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expected_completion_time",
            honorbound.db.base.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("callback_urls", sa.JSON(), nullable=False),
        sa.Column("cancelled_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_status", sa.String(length=20), nullable=True),
        sa.Column("callback_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_opendsr_requests_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rights_request_id"],
            ["rights_requests.id"],
            name=op.f("fk_opendsr_requests_rights_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendsr_requests")),
        sa.UniqueConstraint(
            "organization_id",
            "subject_request_id",
            name=op.f("uq_opendsr_requests_organization_id_subject_request_id"),
        ),
    )
    with op.batch_alter_table("opendsr_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opendsr_requests_rights_request_id"), ["rights_request_id"], unique=False
        )

    op.create_table(
        "processor_forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("bpo_organization_id", sa.Integer(), nullable=False),
        sa.Column("rights_request_id", sa.Integer(), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("forwarded_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("controller_notified", sa.Boolean(), nullable=False),
        sa.Column("consumer_told", sa.Boolean(), nullable=False),
        sa.Column(
            "completion_sent_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["bpo_organization_id"],
            ["organizations.id"],
            name=op.f("fk_processor_forwards_bpo_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_processor_forwards_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rights_request_id"],
            ["rights_requests.id"],
            name=op.f("fk_processor_forwards_rights_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_forwards")),
    )
    with op.batch_alter_table("processor_forwards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_processor_forwards_open", ["organization_id", "completion_sent_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processor_forwards_rights_request_id"),
            ["rights_request_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("processor_forwards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processor_forwards_rights_request_id"))
        batch_op.drop_index("ix_processor_forwards_open")

    op.drop_table("processor_forwards")
    with op.batch_alter_table("opendsr_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendsr_requests_rights_request_id"))

    op.drop_table("opendsr_requests")
    with op.batch_alter_table("drp_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drp_tokens_agent_row_id"))

    op.drop_table("drp_tokens")
    with op.batch_alter_table("drp_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drp_requests_rights_request_id"))

    op.drop_table("drp_requests")
    op.drop_table("protocol_controllers")
    op.drop_table("drp_agents")
    with op.batch_alter_table("protocol_seen_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protocol_seen_messages_expires_at"))

    op.drop_table("protocol_seen_messages")
