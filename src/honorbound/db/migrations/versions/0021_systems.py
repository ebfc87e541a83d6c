"""systems: connected systems' dataset maps, per-request executions and tasks, retention sweeps
and their certified disposals, drift scans

Revision ID: 0021
Revises: 0017 (main's head when written; the lead re-chains)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import honorbound.db.base

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "system_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("started_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_scans_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_scans")),
    )
    with op.batch_alter_table("system_scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_scans_org_started", ["organization_id", "started_at"], unique=False
        )

    op.create_table(
        "system_sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("policy_version_id", sa.Integer(), nullable=False),
        sa.Column("as_of", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_sweeps_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_sweeps")),
    )
    with op.batch_alter_table("system_sweeps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_sweeps_org_status", ["organization_id", "status"], unique=False
        )

    op.create_table(
        "systems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("map_text", sa.Text(), nullable=False),
        sa.Column("map_sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_systems_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_systems")),
        sa.UniqueConstraint("organization_id", "key", name="uq_systems_org_key"),
    )
    op.create_table(
        "system_disposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=400), nullable=False),
        sa.Column("system_key", sa.String(length=100), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disposed_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_disposals_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sweep_id"],
            ["system_sweeps.id"],
            name=op.f("fk_system_disposals_sweep_id_system_sweeps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_disposals")),
    )
    with op.batch_alter_table("system_disposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_disposals_org_sweep", ["organization_id", "sweep_id"], unique=False
        )

    op.create_table(
        "system_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("result_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("callback_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_executions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_system_executions_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_executions")),
        sa.UniqueConstraint("request_id", "system_key", "action", name="uq_system_exec"),
    )
    with op.batch_alter_table("system_executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_exec_org_status", ["organization_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_system_executions_callback_hash"), ["callback_hash"], unique=False
        )

    op.create_table(
        "system_request_identities",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_request_identities_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_system_request_identities_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_system_request_identities")),
    )
    op.create_table(
        "system_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("instructions_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("evidence_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("evidence_name", sa.String(length=200), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("evidence_size", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", honorbound.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["system_executions.id"],
            name=op.f("fk_system_tasks_execution_id_system_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_system_tasks_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_system_tasks_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_tasks")),
    )
    with op.batch_alter_table("system_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_tasks_org_status", ["organization_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("system_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_system_tasks_org_status")

    op.drop_table("system_tasks")
    op.drop_table("system_request_identities")
    with op.batch_alter_table("system_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_executions_callback_hash"))
        batch_op.drop_index("ix_system_exec_org_status")

    op.drop_table("system_executions")
    with op.batch_alter_table("system_disposals", schema=None) as batch_op:
        batch_op.drop_index("ix_system_disposals_org_sweep")

    op.drop_table("system_disposals")
    op.drop_table("systems")
    with op.batch_alter_table("system_sweeps", schema=None) as batch_op:
        batch_op.drop_index("ix_system_sweeps_org_status")

    op.drop_table("system_sweeps")
    with op.batch_alter_table("system_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_system_scans_org_started")

    op.drop_table("system_scans")
