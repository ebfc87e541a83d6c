"""db: a third per-organization change counter, `requests_version`, bumped by triggers on every
write to rights_requests (the cross-client desk caches its request counts by it)

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | Sequence[str] | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of honorbound.db.changes.REQUEST_TABLES at this revision.
TABLE = "rights_requests"
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _name(operation: str) -> str:
    return f"hb_changes_{TABLE}_{operation.lower()}"


def upgrade() -> None:
    op.add_column(
        "organization_changes",
        sa.Column("requests_version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
            CREATE FUNCTION hb_bump_requests_version() RETURNS trigger AS $$
            DECLARE org integer;
            BEGIN
                IF TG_OP = 'DELETE' THEN org := OLD.organization_id;
                ELSE org := NEW.organization_id; END IF;
                INSERT INTO organization_changes
                    (organization_id, keys_version, decisions_version, requests_version)
                VALUES (org, 0, 0, 0) ON CONFLICT (organization_id) DO NOTHING;
                UPDATE organization_changes SET requests_version = requests_version + 1
                WHERE organization_id = org;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
        """)
    for operation in OPERATIONS:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {_name(operation)} AFTER {operation} ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION hb_bump_requests_version()"
            )
            continue
        row = "OLD" if operation == "DELETE" else "NEW"
        op.execute(f"""
            CREATE TRIGGER {_name(operation)} AFTER {operation} ON {TABLE} FOR EACH ROW BEGIN
                INSERT OR IGNORE INTO organization_changes
                    (organization_id, keys_version, decisions_version, requests_version)
                VALUES ({row}.organization_id, 0, 0, 0);
                UPDATE organization_changes SET requests_version = requests_version + 1
                WHERE organization_id = {row}.organization_id;
            END
        """)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for operation in OPERATIONS:
        op.execute(
            f"DROP TRIGGER IF EXISTS {_name(operation)} ON {TABLE}"
            if dialect == "postgresql"
            else f"DROP TRIGGER IF EXISTS {_name(operation)}"
        )
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hb_bump_requests_version()")
    with op.batch_alter_table("organization_changes") as batch:
        batch.drop_column("requests_version")
