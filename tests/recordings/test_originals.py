"""Originals kept per the notice's category: `originals: {keep, period}` on the call recording
category (and on the categories of what a call holds) AND the setting; the sweep deletes an
original when its period ends, with a signed certificate. Checked on the bytes on disk."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select

from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.policy.schema import Category
from honorbound.policy.store import AdoptionError, adopt_text, current
from honorbound.recordings import collect, retention
from honorbound.recordings.store import RecordingStore
from honorbound.retention.certificates import public_key_pem
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.recordings import synth
from tests.recordings.test_retention import KEEP_ORIGINALS
from tests.support.people import person

ACTOR = Actor("test", "system")


def _subject(runtime: Runtime, tenant: Tenant) -> int:
    rules = CollectionRules(None, {}, frozenset({"customer"}), None)
    with runtime.db.session() as session:
        return upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, person().email)],
            ACTOR,
            rules,
        ).subject.id


def _collect(
    runtime: Runtime, tenant: Tenant, wav: Path, subject: int, transcript: bytes | None, keep: bool
) -> dict:
    gate = collect.Gate(runtime.settings.resolved_recordings_dir, keep_original=keep)
    with runtime.db.session() as session:
        done = collect.collect(
            session,
            runtime.vault_keys,
            gate,
            tenant.id,
            ACTOR,
            wav,
            collect.Call(call_id="c-9", transcript=transcript, subject_id=subject),
        )
    return done.manifest


def test_originals_follow_the_notice_and_are_deleted_when_their_period_ends(
    runtime: Runtime, tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, KEEP_ORIGINALS, ACTOR)
    subject = _subject(runtime, tenant)
    wav = card_call.write(tmp_path / "c.wav")
    # The setting off: no original, whatever the notice says.
    off = _collect(runtime, tenant, wav, subject, card_call.aws_json().encode(), keep=False)
    assert off["original_kept"] is False and "KEEP_ORIGINAL is off" in off["original_not_kept"]
    # With a card number said: the card category's 7 days, shorter than the recording's 30.
    card = _collect(runtime, tenant, wav, subject, card_call.aws_json().encode(), keep=True)
    plain = _collect(runtime, tenant, wav, subject, None, keep=True)
    assert (card["original_kept"], card["original_period"]) == (True, "P7D")
    assert (plain["original_kept"], plain["original_period"]) == (True, "P30D")
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    card_dir, plain_dir = store.root / card["recording_id"], store.root / plain["recording_id"]
    assert (card_dir / "original.sealed").stat().st_size > wav.stat().st_size
    assert not (store.root / off["recording_id"] / "original.sealed").exists()
    with runtime.db.session() as session:
        declaration = current(session, tenant.id).declaration  # type: ignore[union-attr]
    now = dt.datetime.now(dt.UTC)
    early = retention.sweep(store, declaration, now + dt.timedelta(days=6))
    assert early.originals_deleted == [] and (card_dir / "original.sealed").exists()
    as_of = now + dt.timedelta(days=8)
    swept = retention.sweep(store, declaration, as_of)
    with runtime.db.session() as session:
        retention.record_sweep(session, runtime.keys, tenant.id, ACTOR, swept, as_of)
    assert swept.originals_deleted == [card["recording_id"]] and swept.deleted == 0
    # On disk: the card call's original is gone, its redacted copy and transcript stay; the
    # other call's original stays until its own period ends.
    assert sorted(p.name for p in card_dir.iterdir()) == [
        "manifest.json",
        "redacted.wav",
        "transcript.json",
    ]
    on_disk = json.loads((card_dir / "manifest.json").read_bytes())
    assert on_disk["original_kept"] is False and on_disk["original_deleted_at"]
    assert (plain_dir / "original.sealed").exists()
    later = retention.sweep(store, declaration, now + dt.timedelta(days=31))
    assert later.originals_deleted == [plain["recording_id"]]
    assert not (plain_dir / "original.sealed").exists()
    # The certificate: signed with the organization's disposal key, checked here with the
    # public key and canonical JSON built by this test.
    with runtime.db.session() as session:
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "recordings.originals_disposed")
        )
        assert entry is not None
        doc = entry.details
    cert = doc["certificate"]
    assert cert["objects_deleted"] == 1 and cert["scope"] == "recording_originals"
    body = json.dumps(cert, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    key = load_pem_public_key(public_key_pem(runtime.keys, tenant.id).encode())
    key.verify(base64.b64decode(doc["signature"]), body)  # type: ignore[union-attr]
    assert card["recording_id"] not in json.dumps(doc)  # a hash of the ids, not the ids


def test_a_category_saying_no_keeps_no_original(
    runtime: Runtime, tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    refusing = KEEP_ORIGINALS.replace(
        "originals: {keep: true, period: P7D}", "originals: {keep: false}"
    )
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, refusing, ACTOR)
    subject = _subject(runtime, tenant)
    wav = card_call.write(tmp_path / "c.wav")
    m = _collect(runtime, tenant, wav, subject, card_call.aws_json().encode(), keep=True)
    assert m["original_kept"] is False and "user.financial.credit_card" in m["original_not_kept"]
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    assert not (store.root / m["recording_id"] / "original.sealed").exists()
    # Nothing said by the card: the recording category's own rule applies.
    assert _collect(runtime, tenant, wav, subject, None, keep=True)["original_kept"] is True


def test_keep_without_a_period_is_refused_at_adoption(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(ValueError, match="no period"):
        Category.model_validate({"key": "x", "originals": {"keep": True}})
    broken = KEEP_ORIGINALS.replace(
        "originals: {keep: true, period: P30D}", "originals: {keep: true}"
    )
    with runtime.db.session() as session, pytest.raises(AdoptionError, match="period"):
        adopt_text(session, tenant.id, broken, ACTOR)
