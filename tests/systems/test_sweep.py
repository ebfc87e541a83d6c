"""Retention in connected systems: the notice's periods, the vault's legal holds and signed
certificates; a crash between changing the system and certifying is repeated, then certified."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select
from tests.conftest import Tenant
from tests.systems.conftest import (
    CRM_MAP,
    FILES_MAP,
    OLD,
    ROOT,
    Crm,
    connect,
    customers,
    fill_crm,
    fill_files,
)
from tests.systems.test_requests import pseudonym, vault_person

from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.retention.certificates import public_key_pem
from honorbound.retention.holds import place_hold
from honorbound.runtime import Runtime
from honorbound.systems.jobs import context
from honorbound.systems.models import SystemDisposal
from honorbound.systems.sweep import sweep

ADMIN = Actor("user:1", "admin")


@pytest.fixture
def aged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Crm, Path]:
    """A CRM and exported files where three of six people were last active 7 years ago."""
    people = customers(6)
    old = {c.id for c in people[3:]}
    path = tmp_path / "aged.db"
    fill_crm(f"sqlite:///{path}", people, old=old)
    root = tmp_path / "aged-files"
    fill_files(root, people, old=old)
    stamp = OLD.timestamp()
    for c in people[3:]:
        os.utime(root / "recordings" / str(c.id) / "call-1.wav", (stamp, stamp))
    monkeypatch.setenv("TEST_CRM_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TEST_FILES_URL", f"file://{root}")
    return Crm(f"sqlite:///{path}", people, path), root


def _certificates(rt: Runtime, org: Tenant) -> list[SystemDisposal]:
    with rt.db.session() as session:
        rows = list(
            session.scalars(
                select(SystemDisposal)
                .where(SystemDisposal.organization_id == org.id)
                .order_by(SystemDisposal.id)
            )
        )
        session.expunge_all()
    return rows


def _check_signature(rt: Runtime, org: Tenant, entry: SystemDisposal) -> dict[str, object]:
    """Verified with `cryptography` directly over the canonical bytes (not the app's verifier)."""
    key = load_pem_public_key(public_key_pem(rt.keys, org.id).encode())
    assert entry.certificate and entry.signature
    key.verify(base64.b64decode(entry.signature), entry.certificate.encode())  # type: ignore[union-attr,call-arg]
    doc = json.loads(entry.certificate)
    assert (
        json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        == entry.certificate
    )
    return doc  # type: ignore[no-any-return]


def test_sweep_applies_the_notice_in_every_system_and_certifies_each_batch(
    rt: Runtime, org: Tenant, aged: tuple[Crm, Path]
) -> None:
    crm, root = aged
    connect(rt, org, CRM_MAP, FILES_MAP)
    result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN, batch=2)
    assert result.failed == {}
    old, young = crm.people[3:], crm.people[:3]
    for c in old:
        (row,) = crm.rows(
            "SELECT email, phone, full_name, note FROM customers WHERE id = :id", id=c.id
        )
        assert row == (None, pseudonym(rt, org, c.phone), "REDACTED", None)
        assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=c.id) == [(0,)]
        assert not (root / "recordings" / str(c.id) / "call-1.wav").exists()
    for c in young:
        assert crm.rows("SELECT email FROM customers WHERE id = :id", id=c.id) == [(c.email,)]
        assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=c.id) == [(2,)]
        assert (root / "recordings" / str(c.id) / "call-1.wav").exists()
    tickets = [json.loads(x) for x in (root / "tickets" / "2026.jsonl").read_text().splitlines()]
    assert [t["email"] is None for t in tickets] == [False, False, False, True, True, True]

    entries = _certificates(rt, org)
    assert all(e.status == "done" for e in entries)
    docs = [_check_signature(rt, org, e) for e in entries]
    rows_deleted = sum(int(d["rows_deleted"]) for d in docs if d["collection"] == "orders")
    assert rows_deleted == 6  # two orders each
    recordings = [d for d in docs if d["collection"] == "recordings"]
    assert sum(int(d["objects_deleted"]) for d in recordings) == 3
    assert sum(int(d["object_versions_deleted"]) for d in recordings) == 3
    customers_docs = [d for d in docs if d["collection"] == "customers"]
    assert sum(d["values_rewritten"]["email"] for d in customers_docs) == 3  # type: ignore[index]
    assert customers_docs[0]["rule"] == "client-data" and customers_docs[0]["period"] == "P6Y"
    assert all("@" not in e.certificate for e in entries if e.certificate)
    # A second sweep finds nothing left.
    again = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN, batch=2)
    assert again.batches == 0 and again.rows == 0
    assert len(_certificates(rt, org)) == len(entries)


def test_holds_keep_what_they_cover(rt: Runtime, org: Tenant, aged: tuple[Crm, Path]) -> None:
    crm, _root = aged
    held_person = crm.people[3]
    subject_id = vault_person(rt, org, held_person)
    connect(rt, org, CRM_MAP)
    with rt.db.session() as session:
        place_hold(
            session, org.id, ADMIN, reason="case 26-014", owner="legal", subject_id=subject_id
        )
        place_hold(
            session,
            org.id,
            ADMIN,
            reason="complaint review",
            owner="qa",
            category="user.contact_center.chat_log",
        )
    result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN)
    # The held person's row stays whole; the others lose every field but the held note.
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=held_person.id) == [
        (held_person.email,)
    ]
    for c in crm.people[4:]:
        (row,) = crm.rows("SELECT email, note FROM customers WHERE id = :id", id=c.id)
        assert row == (None, f"called about {c.street}")
    # Orders have no identity field to tell the held person's rows apart: all held back.
    assert any("no identity field" in v for v in result.held_back.values())
    assert crm.rows("SELECT count(*) FROM orders") == [(12,)]
    docs = [_check_signature(rt, org, e) for e in _certificates(rt, org)]
    assert docs and all(d["collection"] == "customers" for d in docs)
    assert all(len(d["hold_exclusions"]) == 1 for d in docs)  # type: ignore[arg-type]
    assert "note" not in docs[0]["fields"]  # type: ignore[operator]
    assert any("a legal hold keeps note" in v for v in result.held_back.values())


def test_a_crash_after_the_system_changed_is_repeated_and_certified(
    rt: Runtime, org: Tenant, settings: Settings, aged: tuple[Crm, Path]
) -> None:
    crm, _root = aged
    connect(rt, org, CRM_MAP)
    config = {
        "database_url": settings.database_url,
        "keystore_url": settings.keystore_url,
        "master_key": settings.master_key,
        "data_dir": str(settings.data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.systems.crash_sweep", json.dumps(config), str(org.id), "2"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    entries = _certificates(rt, org)
    assert [e.status for e in entries] == ["done", "pending"]  # batch 2 changed, not certified
    result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN, batch=1)
    assert result.resumed
    entries = _certificates(rt, org)
    assert all(e.status == "done" for e in entries)
    docs = [_check_signature(rt, org, e) for e in entries]
    assert [d["resumed"] for d in docs][:2] == [False, True]
    for c in crm.people[3:]:
        assert crm.rows("SELECT email FROM customers WHERE id = :id", id=c.id) == [(None,)]
    # Every old row's erasure is certified exactly once across the crash.
    customers_docs = [d for d in docs if d["collection"] == "customers"]
    assert sum(int(d["batch_size"]) for d in customers_docs) == 3
    assert len({d["keys_sha256"] for d in customers_docs}) == 3
