"""The console verifies only what was added to the audit chain since the last check; the
daily (and on-demand) full walk is what catches an edit to an old entry."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from honorbound.accounts.roles import Role
from honorbound.api.app import create_app
from honorbound.audit import Actor, AuditEntry, append, head
from honorbound.audit.checkpoints import (
    VERIFY_JOB,
    check_full,
    check_full_in_batches,
    check_new,
    full_check_pending,
)
from honorbound.audit.models import AuditCheckpoint
from honorbound.config import Settings
from honorbound.jobs.models import Job, JobStatus
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.web.test_console_verify_and_stl import _sign_in, _token

ACTOR = Actor("user:1", "admin")


def _fill(runtime: Runtime, tenant: Tenant, n: int) -> None:
    with runtime.db.session() as session:
        for i in range(n):
            append(session, tenant.id, ACTOR, "test.action", "thing", i, {"index": i})


def _edit(runtime: Runtime, tenant: Tenant, seq: int) -> None:
    with runtime.db.session() as session:
        session.execute(
            text("UPDATE audit_entries SET actor='user:999' WHERE organization_id=:o AND seq=:s"),
            {"o": tenant.id, "s": seq},
        )


def test_new_entries_only_are_checked_and_the_checkpoint_moves(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime, tenant, 5)
    with runtime.db.session() as session:
        first = check_new(session, tenant.id)  # no checkpoint yet: a full walk
        seq, digest = head(session, tenant.id)
    assert first.ok and first.through_seq == seq and first.through_hash == digest
    assert first.full_checked_at == first.checked_at
    _fill(runtime, tenant, 3)
    with runtime.db.session() as session:
        second = check_new(session, tenant.id)
    assert second.ok and second.new_entries == 3 and second.through_seq == seq + 3
    assert second.full_checked_at == first.full_checked_at  # no new full walk
    with runtime.db.session() as session:  # kept in the database (restarts keep it)
        stored = session.get(AuditCheckpoint, tenant.id)
        assert stored is not None and stored.seq == seq + 3 and stored.ok


def test_an_edit_behind_the_checkpoint_needs_the_full_walk(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime, tenant, 6)
    with runtime.db.session() as session:
        check_full(session, tenant.id)
    _edit(runtime, tenant, 2)
    with runtime.db.session() as session:
        quick = check_new(session, tenant.id)
    assert quick.ok  # by design: the incremental check reads only what is new
    with runtime.db.session() as session:
        full = check_full(session, tenant.id)
    assert not full.ok and full.problem is not None and "edited" in full.problem
    assert full.through_seq == 1  # verified only up to the entry before the broken one
    _fill(runtime, tenant, 2)
    with runtime.db.session() as session:
        later = check_new(session, tenant.id)
    assert not later.ok and "edited" in (later.problem or "")  # stays broken


def test_a_forged_new_entry_is_caught_by_the_incremental_check(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime, tenant, 3)
    with runtime.db.session() as session:
        check_full(session, tenant.id)
    _fill(runtime, tenant, 2)
    seq = _fill_and_head(runtime, tenant)
    _edit(runtime, tenant, seq)
    with runtime.db.session() as session:
        status = check_new(session, tenant.id)
    assert not status.ok and f"seq {seq}" in (status.problem or "")


def _fill_and_head(runtime: Runtime, tenant: Tenant) -> int:
    _fill(runtime, tenant, 1)
    with runtime.db.session() as session:
        return head(session, tenant.id)[0]


def test_the_daily_job_walks_every_chain_and_records_it(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant, 4)
    _edit(runtime, tenant, 3)
    handler = runtime.registry.handler(VERIFY_JOB)
    result = handler(runtime, {})
    assert result is not None and result["broken"] >= 1
    with runtime.db.session() as session:
        stored = session.get(AuditCheckpoint, tenant.id)
        assert stored is not None and not stored.ok and "edited" in (stored.problem or "")
        last = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == tenant.id)
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert last is not None and last.action == "audit.verified"
        assert last.details == {"full": True, "ok": False, "entries": last.details["entries"]}


def test_console_shows_the_checkpoint_and_verifies_on_demand(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime, tenant, 3)
    _sign_in(client, runtime, tenant, "auditor3", Role.AUDITOR)
    page = client.get("/console")
    assert page.status_code == 200 and "Intact: chain verified through entry" in page.text
    assert "Verify the whole chain now" in page.text
    with runtime.db.session() as session:
        seq = head(session, tenant.id)[0]
    _edit(runtime, tenant, 2)
    # The visit checks only new entries: the old edit is not seen yet.
    assert "Intact" in client.get("/console").text
    forged = client.post("/console/audit/verify", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    done = client.post(
        "/console/audit/verify",
        data={"csrf_token": _token(client.get("/console").text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get("/console").text
    assert "Broken:" in shown and "seq 2" in shown and "edited" in shown
    with runtime.db.session() as session:
        assert head(session, tenant.id)[0] > seq  # the verification itself was recorded


def test_agents_get_no_verify_action(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    """Agents read the dashboard (policy.read) but may not run the full walk (audit.read)."""
    _sign_in(client, runtime, tenant, "agent3", Role.AGENT)
    page = client.get("/console")
    assert page.status_code == 200 and "Verify the whole chain now" not in page.text
    refused = client.post("/console/audit/verify", data={"csrf_token": _token(page.text)})
    assert refused.status_code == 403


def test_the_checkpoint_survives_a_restart(settings: Settings, tenant: Tenant) -> None:
    """A new process on the same database resumes from the stored checkpoint."""
    first = build_runtime(settings)
    try:
        _fill(first, tenant, 4)
        with first.db.session() as session:
            walked = check_new(session, tenant.id)  # no checkpoint yet: a full walk
    finally:
        first.close()
    second = build_runtime(settings)
    try:
        _fill(second, tenant, 2)
        with second.db.session() as session:
            resumed = check_new(session, tenant.id)
    finally:
        second.close()
    assert resumed.ok and resumed.new_entries == 2
    assert resumed.through_seq == walked.through_seq + 2
    assert resumed.full_checked_at == walked.full_checked_at


def test_the_batched_walk_matches_the_single_walk(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant, 7)
    with runtime.db.session() as session:
        seq, digest = head(session, tenant.id)
    intact = check_full_in_batches(runtime.db, tenant.id, batch=3)
    assert intact.ok and (intact.through_seq, intact.through_hash) == (seq, digest)
    assert intact.entries == seq
    _edit(runtime, tenant, 5)
    broken = check_full_in_batches(runtime.db, tenant.id, batch=2)
    with runtime.db.session() as session:
        single = check_full(session, tenant.id)
    assert not broken.ok and broken.problem == single.problem and "seq 5" in (broken.problem or "")
    assert broken.through_seq == single.through_seq == 4
    assert broken.through_hash == single.through_hash


def test_a_deleted_entry_leaves_the_checkpoint_on_the_entry_before(
    runtime: Runtime, tenant: Tenant
) -> None:
    _fill(runtime, tenant, 5)
    with runtime.db.session() as session:
        session.execute(
            text("DELETE FROM audit_entries WHERE organization_id=:o AND seq=3"), {"o": tenant.id}
        )
        kept = session.scalar(
            select(AuditEntry.hash).where(
                AuditEntry.organization_id == tenant.id, AuditEntry.seq == 2
            )
        )
        status = check_full(session, tenant.id)
    assert not status.ok and "missing (deleted)" in (status.problem or "")
    assert (status.through_seq, status.through_hash) == (2, kept)


def test_batches_must_be_positive(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(ValueError, match="batch must be at least 1 entry, got 0"):
        check_full_in_batches(runtime.db, tenant.id, batch=0)


def test_the_console_queues_the_full_walk_for_a_worker(settings: Settings, tenant: Tenant) -> None:
    """With a real (not immediate) queue the request returns at once; the page says a full
    check is waiting and offers no second one until a worker has run it."""
    rt = build_runtime(settings)
    try:
        with TestClient(create_app(rt)) as client:
            _fill(rt, tenant, 3)
            _sign_in(client, rt, tenant, "officer3", Role.PRIVACY_OFFICER)
            token = _token(client.get("/console").text)
            done = client.post(
                "/console/audit/verify", data={"csrf_token": token}, follow_redirects=False
            )
            assert done.status_code == 303
            page = client.get("/console").text
            assert 'id="full-check-waiting"' in page and "Verify the whole chain now" not in page
            with rt.db.session() as session:
                waiting = full_check_pending(session, tenant.id)
                assert waiting is not None
                asked = session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.organization_id == tenant.id,
                        AuditEntry.action == "audit.verify_requested",
                    )
                ).one()
                assert asked.object_id == str(waiting[0]) and asked.actor.startswith("user:")
            assert rt.jobs.run(waiting[0]) == JobStatus.DONE.value
            with rt.db.session() as session:
                job = session.get(Job, waiting[0])
                assert job is not None and job.result == {"organizations": 1, "broken": 0}
            page = client.get("/console").text
            assert "Verify the whole chain now" in page and "full-check-waiting" not in page
    finally:
        rt.close()
