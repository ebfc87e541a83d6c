"""Kill the sweep with SIGKILL in the middle of a batch, run it again: nothing is disposed of
twice, nothing due is left, and the disposal log adds up to exactly what went."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.retention.models import DisposalEntry, RetentionRun
from honorbound.retention.sweep import sweep
from honorbound.runtime import Runtime
from honorbound.vault.models import Record, Subject
from honorbound.vault.subjects import record_lifecycle
from tests.conftest import Tenant
from tests.retention.factory import ADMIN, add_records, add_subject, adopt, days_ago

ROOT = Path(__file__).resolve().parents[2]
REC = "user.contact_center.call_recording"


def _kill_during_batch(settings: Settings, org: int, batch: int) -> None:
    config = {
        "database_url": settings.database_url,
        "keystore_url": settings.keystore_url,
        "master_key": settings.master_key,
        "data_dir": str(settings.data_dir),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.retention.crash_sweep",
            json.dumps(config),
            str(org),
            str(batch),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def _log(runtime: Runtime, org: int) -> tuple[list[int], int, int]:
    with runtime.db.session() as session:
        batches = list(
            session.scalars(
                select(DisposalEntry.batch)
                .where(DisposalEntry.organization_id == org)
                .order_by(DisposalEntry.batch)
            )
        )
        records, subjects = session.execute(
            select(func.sum(DisposalEntry.records), func.sum(DisposalEntry.subjects)).where(
                DisposalEntry.organization_id == org
            )
        ).one()
    return batches, int(records or 0), int(subjects or 0)


def test_record_sweep_resumes_after_sigkill(
    runtime: Runtime, settings: Settings, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    b = add_subject(runtime, tenant.id)
    due = add_records(runtime, tenant.id, a, REC, [days_ago(100 + i) for i in range(23)])
    due += add_records(runtime, tenant.id, b, REC, [days_ago(91 + i) for i in range(17)])
    kept = add_records(runtime, tenant.id, b, REC, [days_ago(i) for i in range(5)])

    _kill_during_batch(settings, tenant.id, 3)
    batches, records, _ = _log(runtime, tenant.id)
    assert (batches, records) == ([1, 2], 10)  # batch 3 rolled back with the process
    with runtime.db.session() as session:
        left = set(session.scalars(select(Record.id).where(Record.organization_id == tenant.id)))
        run = session.scalar(select(RetentionRun))
        assert run is not None and run.status == "running" and run.records == 10
    assert len(left) == 35 and set(kept) <= left

    result = sweep(
        runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system(), record_batch=5
    )
    assert result.resumed and result.records == 40 and result.batches == 8
    batches, records, _ = _log(runtime, tenant.id)
    assert batches == list(range(1, 9)) and records == 40 == len(due)
    with runtime.db.session() as session:
        left = set(session.scalars(select(Record.id).where(Record.organization_id == tenant.id)))
        run = session.scalar(select(RetentionRun))
        assert run is not None and (run.status, run.resumed, run.records) == ("finished", 1, 40)
    assert left == set(kept)


def test_erasure_sweep_resumes_after_sigkill(
    runtime: Runtime, settings: Settings, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    dormant = [
        add_subject(runtime, tenant.id, "prospect", last_activity=days_ago(400 + i))
        for i in range(3)
    ]
    active = add_subject(runtime, tenant.id, "prospect", last_activity=days_ago(3))
    for subject in [*dormant, active]:
        add_records(runtime, tenant.id, subject, "user.contact.email", [days_ago(500)])

    # Batch 2 dies after the key store destroyed the second subject's key, before the rows go.
    _kill_during_batch(settings, tenant.id, 2)
    assert _log(runtime, tenant.id)[2] == 1
    with runtime.db.session() as session:
        second = session.get(Subject, dormant[1])
        assert second is not None and second.status == "active"
        key_id = second.key_id
    assert not runtime.vault_keys.has_data_key(tenant.id, key_id)  # shredded already

    result = sweep(
        runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system(), subject_batch=1
    )
    assert result.resumed and result.subjects == 3
    batches, records, subjects = _log(runtime, tenant.id)
    assert (batches, records, subjects) == ([1, 2, 3], 3, 3)
    with runtime.db.session() as session:
        status = [session.get(Subject, s).status for s in [*dormant, active]]  # type: ignore[union-attr]
        left = session.scalar(
            select(func.count()).select_from(Record).where(Record.organization_id == tenant.id)
        )
    assert status == ["erased", "erased", "erased", "active"] and left == 1


def test_account_closure_sweep_resumes_after_sigkill(
    runtime: Runtime, settings: Settings, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)  # customers: contact and health records go at closure (P0D)
    closed = []
    for _ in range(4):
        subject = add_subject(runtime, tenant.id, created_at=days_ago(400))
        with runtime.db.session() as session:
            record_lifecycle(
                session, tenant.id, subject, {"account_closed_at": days_ago(10)}, ADMIN
            )
        add_records(runtime, tenant.id, subject, "user.contact.email", [days_ago(300)] * 3)
        closed.append(subject)
    still_open = add_subject(runtime, tenant.id, created_at=days_ago(400))
    kept = add_records(runtime, tenant.id, still_open, "user.contact.email", [days_ago(300)])

    _kill_during_batch(settings, tenant.id, 3)  # one subject per batch
    batches, records, _ = _log(runtime, tenant.id)
    assert (batches, records) == ([1, 2], 6)

    result = sweep(
        runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system(), subject_batch=1
    )
    assert result.resumed and result.records == 12 and result.batches == 4
    batches, records, _ = _log(runtime, tenant.id)
    assert (batches, records) == ([1, 2, 3, 4], 12)
    with runtime.db.session() as session:
        left = set(session.scalars(select(Record.id).where(Record.organization_id == tenant.id)))
        status = {session.get(Subject, s).status for s in closed}  # type: ignore[union-attr]
    assert left == set(kept) and status == {"active"}
