"""db: per-organization change counters bumped by triggers (API keys, decision inputs)

Revision ID: 0027
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of honorbound.db.changes.DECISION_TABLES / KEY_TABLES at this revision.
COUNTED = (
    ("decisions_version", "consent_events", ("INSERT", "UPDATE", "DELETE")),
    ("decisions_version", "consent_company_dnc", ("INSERT", "UPDATE", "DELETE")),
    ("decisions_version", "consent_national_dnc_imports", ("INSERT", "UPDATE", "DELETE")),
    ("decisions_version", "consent_call_attempts", ("INSERT", "DELETE")),
    ("decisions_version", "vault_identities", ("INSERT", "DELETE")),
    ("decisions_version", "vault_subjects", ("INSERT", "UPDATE", "DELETE")),
    ("decisions_version", "policy_versions", ("INSERT", "DELETE")),
    ("keys_version", "api_keys", ("UPDATE", "DELETE")),
)


def _name(table: str, op_name: str) -> str:
    return f"hb_changes_{table}_{op_name.lower()}"


def upgrade() -> None:
    op.create_table(
        "organization_changes",
        sa.Column("organization_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("keys_version", sa.BigInteger(), nullable=False),
        sa.Column("decisions_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organization_changes")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for column in ("keys_version", "decisions_version"):
            op.execute(f"""
                CREATE FUNCTION hb_bump_{column}() RETURNS trigger AS $$
                DECLARE org integer;
                BEGIN
                    IF TG_OP = 'DELETE' THEN org := OLD.organization_id;
                    ELSE org := NEW.organization_id; END IF;
                    INSERT INTO organization_changes
                        (organization_id, keys_version, decisions_version)
                    VALUES (org, 0, 0) ON CONFLICT (organization_id) DO NOTHING;
                    UPDATE organization_changes SET {column} = {column} + 1
                    WHERE organization_id = org;
                    RETURN NULL;
                END $$ LANGUAGE plpgsql
            """)
    for column, table, operations in COUNTED:
        for operation in operations:
            name = _name(table, operation)
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION hb_bump_{column}()"
                )
                continue
            row = "OLD" if operation == "DELETE" else "NEW"
            op.execute(f"""
                CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW BEGIN
                    INSERT OR IGNORE INTO organization_changes
                        (organization_id, keys_version, decisions_version)
                    VALUES ({row}.organization_id, 0, 0);
                    UPDATE organization_changes SET {column} = {column} + 1
                    WHERE organization_id = {row}.organization_id;
                END
            """)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for _column, table, operations in COUNTED:
        for operation in operations:
            name = _name(table, operation)
            op.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}"
                if dialect == "postgresql"
                else f"DROP TRIGGER IF EXISTS {name}"
            )
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hb_bump_keys_version()")
        op.execute("DROP FUNCTION IF EXISTS hb_bump_decisions_version()")
    op.drop_table("organization_changes")
