"""Ids are never handed out twice (issue 14, defect 13): after an erasure deletes the highest
rows, the next rows (of another organization here) get new ids, so an audit entry "record 28"
names one record for ever. On SQLite that needs AUTOINCREMENT (migration 0022); the migration
itself keeps every row (no cascade fires while tables are rebuilt) and sets the counters above
every id the audit log names."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.db import migrate
from honorbound.runtime import Runtime, build_runtime
from honorbound.vault import erasure
from honorbound.vault.models import Identity, Interaction, Record, Subject
from tests.conftest import PG_URL, Tenant, adopt_example, make_tenant
from tests.support.people import person

ACTOR = Actor("test", "system")


def _collect(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    """A subject with two identities, a record and an interaction, through the API."""
    who = person()
    headers = tenant.headers(Role.AGENT)
    made = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "jurisdiction": "CA",
            "identities": [
                {"kind": "email", "value": who.email},
                {"kind": "phone", "value": who.phone},
            ],
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    record = client.post(
        f"/v1/subjects/{sid}/records",
        json={
            "category": "user.contact.email",
            "value": who.email,
            "purposes": ["support"],
            "source": "web",
        },
        headers=headers,
    )
    assert record.status_code == 201, record.text
    chat = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z",
            "text": "hello, about my order",
        },
        headers=headers,
    )
    assert chat.status_code == 201, chat.text
    return {
        "subject": {sid},
        "identity": set(made.json()["identity_ids"]),
        "record": {record.json()["id"]},
        "interaction": {chat.json()["id"]},
    }


def test_ids_of_erased_rows_are_not_given_to_another_organization(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    adopt_example(runtime, tenant.id)
    adopt_example(runtime, other_tenant.id)
    first = _collect(client, tenant)
    with runtime.db.session() as session:
        erasure.erase_subjects(
            session, runtime.vault_keys, tenant.id, sorted(first["subject"]), ACTOR, "test"
        )
    with runtime.db.session() as session:  # the rows are gone, the tombstone stays
        for model in (Identity, Record, Interaction):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    second = _collect(client, other_tenant)
    for kind, ids in first.items():
        assert not ids & second[kind], (kind, ids, second[kind])
        assert min(second[kind]) > max(ids), kind


def test_a_merged_away_subject_id_is_not_reused(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt_example(runtime, tenant.id)
    one, two = _collect(client, tenant), _collect(client, tenant)
    merged = client.post(
        "/v1/subjects/merge",
        json={
            "into_subject_id": min(one["subject"]),
            "from_subject_id": min(two["subject"]),
        },
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    assert merged.status_code == 200, merged.text
    three = _collect(client, tenant)
    assert min(three["subject"]) > min(two["subject"])


def _old_rows(path: Path) -> dict[str, list[int]]:
    """An organization with two subjects, four identities, two records and two interactions in a
    database at revision 0021, and an audit entry naming a record 900 erased long ago."""
    now = "2026-11-20 10:00:00"
    with sqlite3.connect(path) as conn:
        org = conn.execute(
            "INSERT INTO organizations (slug, name, created_at) VALUES ('old-org', 'Old', ?)",
            (now,),
        ).lastrowid
        made: dict[str, list[int]] = {"subject": [], "identity": [], "record": []}
        for n in range(2):
            sid = conn.execute(
                "INSERT INTO vault_subjects (organization_id, key_id, type, status, created_at,"
                " last_activity_at) VALUES (?, ?, 'user', 'active', ?, ?)",
                (org, f"k{n}", now, now),
            ).lastrowid
            assert sid is not None
            made["subject"].append(sid)
            for kind in ("email", "phone"):
                made["identity"].append(
                    conn.execute(
                        "INSERT INTO vault_identities (organization_id, subject_id, kind,"
                        " blind_index, value_sealed, created_at) VALUES (?, ?, ?, ?, x'00', ?)",
                        (org, sid, kind, f"{kind}{n}", now),
                    ).lastrowid
                    or 0
                )
            made["record"].append(
                conn.execute(
                    "INSERT INTO vault_records (organization_id, subject_id, category, purposes,"
                    " source, collected_at, value_sealed) VALUES (?, ?, 'user.contact.email',"
                    " '[\"support\"]', 'web', ?, x'00')",
                    (org, sid, now),
                ).lastrowid
                or 0
            )
            conn.execute(
                "INSERT INTO vault_interactions (organization_id, subject_id, channel, direction,"
                " started_at, tags, findings, created_at) VALUES (?, ?, 'chat', 'inbound', ?,"
                " '[]', '{}', ?)",
                (org, sid, now, now),
            )
        conn.execute(
            "INSERT INTO audit_entries (organization_id, seq, at, actor, role, action,"
            " object_type, object_id, details, prev_hash, hash) VALUES (?, 1, ?, 'test',"
            " 'system', 'record.deleted', 'record', '900', '{}', ?, ?)",
            (org, now, "0" * 64, "1" * 64),
        )
    return made


@pytest.mark.skipif(bool(PG_URL), reason="SQLite rowid reuse; PostgreSQL sequences never reuse")
def test_migration_0022_keeps_every_row_and_starts_above_audited_ids(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "0021")
    # Rows written as 0021's schema holds them (raw SQL: today's code expects today's schema).
    made = _old_rows(path)
    with sqlite3.connect(path) as conn:
        before = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in (
                Subject.__tablename__,
                Identity.__tablename__,
                Record.__tablename__,
                Interaction.__tablename__,
            )
        }
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        keystore_url=f"sqlite:///{tmp_path / 'keys.db'}",
        master_key="ab" * 32,
        base_url="http://testserver",
    )
    with sqlite3.connect(path) as conn:
        assert (
            "AUTOINCREMENT"
            not in conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'vault_records'"
            ).fetchone()[0]
        )
    migrate.upgrade(url)
    with sqlite3.connect(path) as conn:
        for table, count in before.items():
            sql = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
            assert "AUTOINCREMENT" in sql, table
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == count, table
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        seq = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    assert seq["vault_records"] == 900
    assert seq["vault_identities"] == max(made["identity"])
    runtime = build_runtime(settings, immediate_jobs=True)
    try:
        from honorbound.api.app import create_app

        with TestClient(create_app(runtime)) as client:
            tenant = make_tenant(runtime, "new-org")
            adopt_example(runtime, tenant.id)
            again = _collect(client, tenant)
    finally:
        runtime.close()
    assert min(again["record"]) == 901
