from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from honorbound.audit import Actor, append, head, verify
from honorbound.runtime import Runtime
from tests.conftest import Tenant


def _fill(runtime: Runtime, tenant: Tenant, n: int = 6) -> None:
    with runtime.db.session() as session:
        for i in range(n):
            append(
                session,
                tenant.id,
                Actor("user:1", "admin"),
                "test.action",
                "thing",
                i,
                {"index": i, "note": "ünïcode ok"},
            )


def test_intact_chain_verifies(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant)
    with runtime.db.session() as session:
        result = verify(session, tenant.id)
        seq, digest = head(session, tenant.id)
    assert result.ok, result.problems
    assert result.entries >= 6
    assert seq == result.entries and len(digest) == 64


def _first_problem(runtime: Runtime, tenant: Tenant) -> str:
    with runtime.db.session() as session:
        result = verify(session, tenant.id)
    assert not result.ok
    return str(result.problems[0])


def _seq_of(runtime: Runtime, tenant: Tenant, index: int) -> int:
    with runtime.db.session() as session:
        return int(
            session.execute(
                text(
                    "SELECT seq FROM audit_entries WHERE organization_id=:o AND object_id=:i "
                    "AND action='test.action'"
                ),
                {"o": tenant.id, "i": str(index)},
            ).scalar_one()
        )


def test_edit_is_detected(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant)
    target = _seq_of(runtime, tenant, 3)
    with runtime.db.session() as session:
        session.execute(
            text("UPDATE audit_entries SET actor='user:999' WHERE organization_id=:o AND seq=:s"),
            {"o": tenant.id, "s": target},
        )
    problem = _first_problem(runtime, tenant)
    assert f"seq {target}" in problem and "edited" in problem


def test_delete_is_detected(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant)
    target = _seq_of(runtime, tenant, 2)
    with runtime.db.session() as session:
        session.execute(
            text("DELETE FROM audit_entries WHERE organization_id=:o AND seq=:s"),
            {"o": tenant.id, "s": target},
        )
    problem = _first_problem(runtime, tenant)
    assert "missing" in problem and f"seq {target + 1}" in problem


def test_reorder_is_detected(runtime: Runtime, tenant: Tenant) -> None:
    _fill(runtime, tenant)
    a, b = _seq_of(runtime, tenant, 1), _seq_of(runtime, tenant, 4)
    with runtime.db.session() as session:
        params = {"o": tenant.id, "a": a, "b": b}
        session.execute(
            text("UPDATE audit_entries SET seq=-1 WHERE organization_id=:o AND seq=:a"), params
        )
        session.execute(
            text("UPDATE audit_entries SET seq=:a WHERE organization_id=:o AND seq=:b"), params
        )
        session.execute(
            text("UPDATE audit_entries SET seq=:b WHERE organization_id=:o AND seq=-1"), params
        )
    problem = _first_problem(runtime, tenant)
    assert f"seq {a}" in problem


def test_cli_verify_exit_codes(runtime: Runtime, tenant: Tenant, settings) -> None:  # type: ignore[no-untyped-def]
    _fill(runtime, tenant)
    env = {
        **os.environ,
        "HONORBOUND_DATABASE_URL": settings.database_url,
        "HONORBOUND_MASTER_KEY": settings.master_key,
        "HONORBOUND_DATA_DIR": str(settings.data_dir),
    }
    ok = subprocess.run(
        [sys.executable, "-m", "honorbound", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    head_out = subprocess.run(
        [sys.executable, "-m", "honorbound", "audit", "head", "--org", tenant.slug],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    seq, digest = head_out.stdout.split()
    with runtime.db.session() as session:
        assert (int(seq), digest) == head(session, tenant.id)
    target = _seq_of(runtime, tenant, 5)
    with runtime.db.session() as session:
        session.execute(
            text("UPDATE audit_entries SET details='{}' WHERE organization_id=:o AND seq=:s"),
            {"o": tenant.id, "s": target},
        )
    bad = subprocess.run(
        [sys.executable, "-m", "honorbound", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1
    assert f"seq {target}" in bad.stderr


def test_chains_are_per_organization(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    _fill(runtime, tenant)
    with runtime.db.session() as session:
        session.execute(
            text("UPDATE audit_entries SET actor='x' WHERE organization_id=:o AND seq=2"),
            {"o": tenant.id},
        )
        assert verify(session, other_tenant.id).ok
        assert not verify(session, tenant.id).ok
