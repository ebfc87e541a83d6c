"""ids never reused: SQLite AUTOINCREMENT on every table an audit entry points to

SQLite without AUTOINCREMENT gives a new row the highest rowid + 1, so after the highest rows
are deleted (an erasure deletes records, identities and interactions) their ids come back for
other rows, of other organizations too, and an audit entry "record 28" then names two records.
AUTOINCREMENT needs `INTEGER PRIMARY KEY AUTOINCREMENT` in the table's definition: each table
is rebuilt (Alembic batch mode copies every row with its id, indexes and constraints) and its
counter set above every id it ever held, as far as the table and the audit log still show.
PostgreSQL identity/serial columns never hand an id out twice: nothing to do there.

Revision ID: 0022
Revises: 0021 (main's head when written)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table -> the audit object types naming its rows (written out: a migration is a snapshot).
TABLES: dict[str, tuple[str, ...]] = {
    "organizations": ("organization",),
    "users": ("user", "password"),
    "api_keys": ("apikey",),
    "policy_versions": ("policy_version",),
    "vault_subjects": ("subject",),
    "vault_identities": ("identity",),
    "vault_records": ("record",),
    "vault_interactions": ("interaction", "interaction_original", "recording_uri"),
    "vault_access_log": (),
    "consent_events": ("consent_event",),
    "consent_company_dnc": ("company_dnc",),
    "consent_national_dnc_imports": ("national_dnc_import",),
    "consent_call_attempts": ("call_attempt",),
    "disclosures": ("disclosure",),
    "retention_holds": ("legal_hold",),
    "retention_runs": ("retention_run",),
    "rights_requests": ("rights_request",),
    "outbox": ("outbox",),
    "jobs": ("job",),
    "systems": ("system",),
    "system_sweeps": ("system_sweep",),
    "system_disposals": ("system_disposal",),
}


def _highest(bind: sa.Connection, table: str, object_types: tuple[str, ...]) -> int:
    highest = int(
        bind.execute(sa.text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar() or 0
    )
    for object_type in object_types:
        named = bind.execute(
            sa.text(
                "SELECT MAX(CAST(object_id AS INTEGER)) FROM audit_entries "
                "WHERE object_type = :t AND object_id <> '' AND object_id NOT GLOB '*[^0-9]*'"
            ),
            {"t": object_type},
        ).scalar()
        highest = max(highest, int(named or 0))
    return highest


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.execute(sa.text("PRAGMA foreign_keys")).scalar():
        # Dropping a table with foreign keys on would run its ON DELETE CASCADE actions.
        raise RuntimeError(
            "migration 0022 rebuilds SQLite tables and must run with foreign keys off; "
            "run it with `honorbound db upgrade` (or `honorbound init`), which does so"
        )
    existing = set(sa.inspect(bind).get_table_names())
    for table, object_types in TABLES.items():
        if table not in existing:
            continue
        highest = _highest(bind, table, object_types)
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :n"), {"n": table})
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :s)"),
            {"n": table, "s": highest},
        )


def downgrade() -> None:
    # Keeping AUTOINCREMENT is harmless; rebuilding the tables again to drop it is not needed.
    pass
