"""Anchors: signed chain heads kept outside the database make truncation, a deleted chain and
a full rewrite with recomputed hashes visible, which `audit verify` alone cannot see. Driven
through the real command line; the tampering is raw SQL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from honorbound.audit import Actor, append
from honorbound.audit.chain import GENESIS, entry_hash
from honorbound.audit.models import AuditEntry
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.conftest import Tenant


def _fill(runtime: Runtime, tenant: Tenant, n: int = 8) -> None:
    with runtime.db.session() as session:
        for i in range(n):
            append(session, tenant.id, Actor("user:1", "admin"), "test.action", "thing", i, {})


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HONORBOUND_DATABASE_URL": settings.database_url,
        "HONORBOUND_KEYSTORE_URL": settings.keystore_url,
        "HONORBOUND_MASTER_KEY": settings.master_key,
        "HONORBOUND_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "honorbound", "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def anchored(runtime: Runtime, tenant: Tenant, settings: Settings, tmp_path: Path) -> Path:
    _fill(runtime, tenant)
    path = tmp_path / "anchors.jsonl"
    done = _cli(settings, "anchor", "--to", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_an_intact_chain_matches_its_anchor(
    settings: Settings, anchored: Path, tenant: Tenant
) -> None:
    ok = _cli(settings, "verify", "--against", str(anchored))
    assert ok.returncode == 0, ok.stderr
    assert "matches" in ok.stdout
    line = json.loads(anchored.read_text().splitlines()[0])
    assert line["organization_id"] == tenant.id and line["seq"] >= 8
    # The key is a file outside the database, readable by its owner only.
    key_file = settings.data_dir / "audit-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(anchored.stat().st_mode) == 0o600


def test_truncation_is_detected(
    runtime: Runtime, settings: Settings, anchored: Path, tenant: Tenant
) -> None:
    with runtime.db.engine.begin() as conn:
        top = conn.execute(
            text("SELECT max(seq) FROM audit_entries WHERE organization_id = :o"), {"o": tenant.id}
        ).scalar_one()
        conn.execute(
            text("DELETE FROM audit_entries WHERE organization_id = :o AND seq > :s"),
            {"o": tenant.id, "s": top - 3},
        )
    assert _cli(settings, "verify").returncode == 0  # the chain alone looks fine
    bad = _cli(settings, "verify", "--against", str(anchored))
    assert bad.returncode == 1
    assert "truncated" in bad.stderr


def test_a_deleted_chain_is_detected(
    runtime: Runtime, settings: Settings, anchored: Path, tenant: Tenant
) -> None:
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE organization_id = :o"), {"o": tenant.id})
    assert _cli(settings, "verify").returncode == 0
    bad = _cli(settings, "verify", "--against", str(anchored))
    assert bad.returncode == 1 and "whole chain is gone" in bad.stderr


def test_a_rewrite_with_recomputed_hashes_is_detected(
    runtime: Runtime, settings: Settings, anchored: Path, tenant: Tenant
) -> None:
    # The attacker rewrites every entry and recomputes every hash and link consistently.
    with runtime.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.organization_id == tenant.id)
                .order_by(AuditEntry.seq)
            )
        )
        prev = GENESIS
        for entry in entries:
            entry.details = {"rewritten": True}
            entry.prev_hash = prev
            entry.hash = entry_hash(entry)
            prev = entry.hash
    assert _cli(settings, "verify").returncode == 0  # consistent: the chain alone cannot tell
    bad = _cli(settings, "verify", "--against", str(anchored))
    assert bad.returncode == 1 and "rewritten" in bad.stderr


def test_an_edited_anchor_is_refused(settings: Settings, anchored: Path) -> None:
    line = json.loads(anchored.read_text().splitlines()[0])
    line["seq"] = 2
    anchored.write_text(json.dumps(line) + "\n")
    bad = _cli(settings, "verify", "--against", str(anchored))
    assert bad.returncode == 2 and "signature does not match" in bad.stderr


def test_signed_head_and_public_key(settings: Settings, anchored: Path, tenant: Tenant) -> None:
    signed = _cli(settings, "head", "--org", tenant.slug, "--sign")
    assert signed.returncode == 0, signed.stderr
    other = Path(str(anchored) + ".2")
    other.write_text(signed.stdout)
    public = _cli(settings, "public-key").stdout.strip()
    assert len(public) == 64
    ok = _cli(settings, "verify", "--against", str(other), "--public-key", public)
    assert ok.returncode == 0, ok.stderr
    wrong = _cli(settings, "verify", "--against", str(other), "--public-key", "00" * 32)
    assert wrong.returncode == 2
