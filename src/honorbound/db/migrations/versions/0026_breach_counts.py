"""breach: the counts by state stored with the selection; no (incident, state) index

A wide selection (a million people) paid more to keep the (incident_id, state) index than to
insert the rows themselves, and again to delete them when the selection was run anew. The
counts by state are now taken once, when the selection is stored, and kept on the incident.

Revision ID: 0026
Revises: 0016 (main's head when written)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("breach_incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("affected_by_state", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("breach_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_affected_incident_state")
    # Incidents selected before this revision: their counts from the rows.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT incident_id, state, COUNT(*) FROM breach_affected "
            "GROUP BY incident_id, state ORDER BY incident_id, state"
        )
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for incident_id, state, n in rows:
        counts.setdefault(int(incident_id), {})[str(state)] = int(n)
    table = sa.table(
        "breach_incidents", sa.column("id", sa.Integer()), sa.column("affected_by_state", sa.JSON())
    )
    for incident_id, by_state in counts.items():
        bind.execute(
            table.update().where(table.c.id == incident_id).values(affected_by_state=by_state)
        )


def downgrade() -> None:
    with op.batch_alter_table("breach_affected", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_affected_incident_state", ["incident_id", "state"], unique=False
        )
    with op.batch_alter_table("breach_incidents", schema=None) as batch_op:
        batch_op.drop_column("affected_by_state")
