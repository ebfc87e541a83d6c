"""The walk hashes raw rows (stored timestamp text, stored JSON, no type processing) for speed.
Its hash must be the one the entry was written with: checked here against a hash computed
independently (json.dumps with sorted keys over ORM-loaded values, hashlib), over details that
exercise the encoder (non-ASCII, quotes, backslashes, control characters, floats, nesting,
None) and timestamps with and without microseconds, on whichever database the suite runs on.
Edits the fast path could miss (a microsecond of `at`, details rewritten, details no longer
JSON) are found; the same content written with other whitespace still verifies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select, text

from honorbound.audit import Actor, append
from honorbound.audit.chain import _COLUMNS, raw_hash, walk
from honorbound.audit.models import AuditEntry
from honorbound.runtime import Runtime
from tests.conftest import Tenant

DETAILS: list[dict[str, Any]] = [
    {},
    {"index": 1},
    {"note": 'quote " backslash \\ tab \t newline \n bell \x07'},
    {"name": "José Ñandú 東京 🙂", "z": 1, "a": 2, "m": {"y": [1, 2.5, None, True], "b": "x"}},
    {"ratio": 0.1, "big": 10**20, "neg": -3.0e-7, "empty": [], "nested": {"": ""}},
    {"unicode_key_é": "\u2028\u2029", "slash": "a/b"},
]


def _independent(entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    document = {
        "organization_id": entry.organization_id,
        "seq": entry.seq,
        "at": at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _fill(runtime: Runtime, org: int) -> None:
    with runtime.db.session() as session:
        for i, details in enumerate(DETAILS):
            actor = Actor('user:"7"\\é' if i % 2 else "system", "admin")
            append(session, org, actor, "test.action", "thing", f"obj-{i}-ü", details)
    # One timestamp with no microseconds, one given in another zone.
    with runtime.db.session() as session:
        append(
            session,
            org,
            Actor.system(),
            "test.stamp",
            at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
        )
        minus5 = dt.timezone(-dt.timedelta(hours=5))
        append(
            session,
            org,
            Actor.system(),
            "test.stamp",
            at=dt.datetime(2026, 3, 1, 7, 0, 0, 1, tzinfo=minus5),
        )


def test_raw_hash_is_the_independent_hash(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant.id)
    with runtime.db.session() as session:
        entries = {e.seq: e for e in session.scalars(select(AuditEntry).where(
            AuditEntry.organization_id == tenant.id))}  # fmt: skip
        rows = session.execute(
            select(*_COLUMNS).where(AuditEntry.organization_id == tenant.id)
        ).all()
        assert rows
        for row in rows:
            entry = entries[row.seq]
            assert raw_hash(row) == _independent(entry) == entry.hash, row.seq


def _walk(runtime: Runtime, org: int) -> Any:
    with runtime.db.read_session() as session:
        return walk(session, org)


def test_walk_verifies_and_finds_what_the_fast_path_could_miss(
    runtime: Runtime, tenant: Tenant
) -> None:
    org = tenant.id
    _fill(runtime, org)
    found = _walk(runtime, org)
    assert found.problem is None and found.entries >= len(DETAILS) + 2

    def edit(sql: str, seq: int, **params: Any) -> None:
        with runtime.db.session() as session:
            session.execute(text(sql), {"o": org, "s": seq, **params})

    # Same content, other whitespace and key order: the hash covers content, not formatting.
    with runtime.db.session() as session:
        details = session.scalar(select(AuditEntry.details).where(
            AuditEntry.organization_id == org, AuditEntry.seq == 4))  # fmt: skip
    reformatted = json.dumps(dict(reversed(list(details.items()))), indent=2)
    edit(
        "UPDATE audit_entries SET details=:d WHERE organization_id=:o AND seq=:s", 4, d=reformatted
    )
    assert _walk(runtime, org).problem is None

    # One microsecond later (through the ORM: stored as the application stores it).
    with runtime.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.organization_id == org, AuditEntry.seq == 3)).one()  # fmt: skip
        entry.at = entry.at + dt.timedelta(microseconds=1)
    found = _walk(runtime, org)
    assert found.problem is not None and found.problem.seq == 3
    assert "hash does not match" in found.problem.reason


def test_details_that_are_no_longer_json_are_an_edit(runtime: Runtime, tenant: Tenant) -> None:
    org = tenant.id
    _fill(runtime, org)
    with runtime.db.session() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL's json type refuses text that is not JSON: there, a value is rewritten.
        bad = '{"index": 2}' if postgres else '{"index": '
        session.execute(
            text("UPDATE audit_entries SET details=:d WHERE organization_id=:o AND seq=2"),
            {"o": org, "d": bad},
        )
    found = _walk(runtime, org)
    assert found.problem is not None and found.problem.seq == 2
    assert "hash does not match" in found.problem.reason
