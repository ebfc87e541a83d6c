"""Verification walks the chain in batches of short read transactions: a writer never waits
for it (SQLite), an edit on either side of a batch boundary is still found, and the API,
console and CLI all verify through `verify_chain` (full or from the checkpoint)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, append, head
from honorbound.audit.checkpoints import verify_chain, walk_in_batches
from honorbound.db.engine import Database, Limits
from honorbound.runtime import Runtime
from tests.conftest import Tenant

ACTOR = Actor("user:1", "admin")


def _fill(db: Database, organization_id: int, n: int) -> None:
    with db.session() as session:
        for i in range(n):
            append(session, organization_id, ACTOR, "test.action", "thing", i, {"index": i})


def _edit(db: Database, organization_id: int, seq: int) -> None:
    with db.session() as session:
        session.execute(
            text(
                "UPDATE audit_entries SET object_id='tampered' WHERE organization_id=:o AND seq=:s"
            ),
            {"o": organization_id, "s": seq},
        )


class WritesDuringEachBatch(Database):
    """The real database; while each batch's read transaction is still open (its rows read),
    another connection appends to the chain with a short busy timeout, as a busy server
    would. A verification holding the write lock makes that append fail."""

    def __init__(self, url: str, organization_id: int) -> None:
        super().__init__(url)
        self.writer = Database(url, Limits(lock_timeout=0.5))
        self.organization_id = organization_id
        self.writes = 0

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with super().read_session() as session:
            yield session
            started = time.monotonic()
            with self.writer.session() as other:
                append(other, self.organization_id, ACTOR, "test.during_verification")
            assert time.monotonic() - started < 0.5
            self.writes += 1


def test_a_write_succeeds_inside_every_batch_of_a_verification(
    runtime: Runtime, tenant: Tenant
) -> None:
    if runtime.db.dialect != "sqlite":
        pytest.skip("the write lock at BEGIN is SQLite's")
    _fill(runtime.db, tenant.id, 40)
    with runtime.db.read_session() as session:
        before = head(session, tenant.id)[0]
    probe = WritesDuringEachBatch(runtime.settings.database_url, tenant.id)
    try:
        status = verify_chain(probe, tenant.id, full=True, batch=7)
    finally:
        probe.writer.dispose()
        probe.dispose()
    # One read for the checkpoint, then the batches: each wrote an entry the walk reached later.
    assert probe.writes >= 1 + before // 7
    assert status.ok and status.through_seq == before + probe.writes - 1
    with runtime.db.read_session() as session:
        assert head(session, tenant.id)[0] == before + probe.writes


def test_writers_keep_going_while_a_long_verification_runs(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime.db, tenant.id, 3000)
    writer = Database(runtime.settings.database_url, Limits(lock_timeout=1.0))
    result: dict[str, Any] = {}

    def verify() -> None:
        result["status"] = verify_chain(runtime.db, tenant.id, full=True, batch=100)

    thread = threading.Thread(target=verify)
    thread.start()
    during, slowest = 0, 0.0
    try:
        while thread.is_alive():
            started = time.monotonic()
            with writer.session() as session:  # raises "database is locked" past 1 s
                append(session, tenant.id, ACTOR, "test.during_verification")
            slowest = max(slowest, time.monotonic() - started)
            during += thread.is_alive()
    finally:
        thread.join()
        writer.dispose()
    assert during >= 1 and slowest < 1.0
    assert result["status"].ok


@pytest.mark.parametrize("seq", [6, 7, 8, 9])  # last of batch 2, first of batch 3, and around
def test_an_edit_at_a_batch_boundary_is_found(runtime: Runtime, tenant: Tenant, seq: int) -> None:
    # Batches of 4 are seq 1-4, 5-8, 9-12, ... (the fixture's own entries come first)
    _fill(runtime.db, tenant.id, 15)
    _edit(runtime.db, tenant.id, seq)
    found = walk_in_batches(runtime.db, tenant.id, batch=4)
    assert found.problem is not None and found.problem.seq == seq
    assert "edited" in found.problem.reason and found.seq == seq - 1 == found.entries
    status = verify_chain(runtime.db, tenant.id, full=True, batch=4)
    assert not status.ok and f"seq {seq} " in (status.problem or "")
    assert status.through_seq == seq - 1


def test_an_edit_after_the_checkpoint_is_found_by_the_incremental_walk(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime.db, tenant.id, 8)
    first = verify_chain(runtime.db, tenant.id, batch=3)  # no checkpoint yet: full
    base = first.through_seq
    assert first.ok and first.entries == base
    _fill(runtime.db, tenant.id, 8)
    _edit(runtime.db, tenant.id, base + 5)  # the middle of the second batch after the checkpoint
    later = verify_chain(runtime.db, tenant.id, batch=3)
    assert not later.ok and f"seq {base + 5} " in (later.problem or "")
    assert later.new_entries == 4
    # Broken stays broken for the incremental walk; a full walk says the same.
    assert not verify_chain(runtime.db, tenant.id).ok
    assert f"seq {base + 5} " in (verify_chain(runtime.db, tenant.id, full=True).problem or "")


def test_the_api_verifies_in_full_or_from_the_checkpoint(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    headers = tenant.headers(Role.AUDITOR)
    full = client.get("/v1/audit/verify", headers=headers).json()
    assert full["ok"] and full["new_entries"] == 0 and full["through_seq"] == full["head_seq"]
    _fill(runtime.db, tenant.id, 5)
    new = client.get("/v1/audit/verify", params={"full": "false"}, headers=headers).json()
    assert new["ok"] and new["new_entries"] == 5 and new["through_seq"] == full["head_seq"] + 5
    _edit(runtime.db, tenant.id, 2)  # before the checkpoint: only the full walk sees it
    assert client.get("/v1/audit/verify", params={"full": "false"}, headers=headers).json()["ok"]
    broken = client.get("/v1/audit/verify", headers=headers).json()
    assert not broken["ok"] and "seq 2 " in broken["problem"]


def test_the_canonical_form_is_the_documented_json(runtime: Runtime, tenant: Tenant) -> None:
    """The bytes hashed are json.dumps of the entry (sorted keys, no spaces, UTF-8) with the
    time as %Y-%m-%dT%H:%M:%S.%fZ in UTC: spelled here independently of `chain.canonical`."""
    import datetime as dt
    import hashlib
    import json

    from sqlalchemy import select

    from honorbound.audit import AuditEntry

    moments = [
        dt.datetime(2026, 3, 1, 4, 5, 6, tzinfo=dt.UTC),  # no microseconds
        dt.datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    with runtime.db.session() as session:
        for at in moments:
            append(
                session, tenant.id, ACTOR, "test.ünïcode", "thing", "x", {"b": "é", "a": [1]}, at
            )
    with runtime.db.read_session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.organization_id == tenant.id)
        ).all()
    for e in entries:
        document = {
            "organization_id": e.organization_id, "seq": e.seq, "actor": e.actor,
            "at": e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "role": e.role,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "details": e.details, "prev_hash": e.prev_hash,
        }  # fmt: skip
        raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(raw.encode()).hexdigest() == e.hash
    assert verify_chain(runtime.db, tenant.id, full=True).ok


def test_the_cli_verifies_in_full_or_only_what_is_new(
    runtime: Runtime, tenant: Tenant, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from honorbound.cli import app as cli

    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    runner = CliRunner()
    full = runner.invoke(cli, ["audit", "verify", "--org", tenant.slug])
    assert full.exit_code == 0 and "intact" in full.output, full.output
    _fill(runtime.db, tenant.id, 3)
    new = runner.invoke(cli, ["audit", "verify", "--org", tenant.slug, "--new"])
    assert new.exit_code == 0 and "3 new entries" in new.output, new.output
    _edit(runtime.db, tenant.id, 1)  # before the checkpoint: only the full walk sees it
    assert runner.invoke(cli, ["audit", "verify", "--org", tenant.slug, "--new"]).exit_code == 0
    broken = runner.invoke(cli, ["audit", "verify", "--org", tenant.slug])
    assert broken.exit_code == 1 and "entry seq 1 " in broken.output, broken.output
