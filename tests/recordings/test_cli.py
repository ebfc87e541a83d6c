"""`honorbound recordings ingest|decide` on the real command line: the store under data_dir,
exit 2 with a sentence for bad input, the original sealed with the person's own key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from honorbound.audit import Actor
from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.crypto.aead import DecryptionError
from honorbound.policy.store import adopt_text
from honorbound.recordings.store import open_sealed_file
from honorbound.runtime import Runtime
from honorbound.vault.erasure import erase_subject
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CollectionRules
from honorbound.vault.sealing import associated_data
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant, adopt_example
from tests.recordings import synth
from tests.recordings.test_retention import KEEP_ORIGINALS
from tests.support.people import person


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def _json(output: str) -> dict:
    return json.loads(output[output.index("{") :])


def test_ingest_stores_under_data_dir(
    cli: CliRunner, settings: Settings, tenant: Tenant, tmp_path: Path, call: synth.Call
) -> None:
    wav = call.write(tmp_path / "call.wav")
    tr = tmp_path / "call.json"
    tr.write_text(call.aws_json())
    r = cli.invoke(
        build_app(), ["recordings", "ingest", "--call-id", "c-1", str(wav), "--transcript", str(tr)]
    )
    assert r.exit_code == 0, r.output
    manifest = _json(r.output)
    where = settings.data_dir / "recordings" / f"org-{tenant.id}" / manifest["recording_id"]
    assert (where / "redacted.wav").exists() and manifest["dtmf_tones_removed"] == 16
    assert json.loads((where / "manifest.json").read_text()) == {
        k: v for k, v in manifest.items() if k != "uri"
    }


def test_bad_input_exits_2_with_a_sentence(
    cli: CliRunner, tenant: Tenant, tmp_path: Path, call
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(64))
    r = cli.invoke(build_app(), ["recordings", "ingest", "--call-id", "c-1", str(bad)])
    assert r.exit_code == 2 and "bad.wav: the WAV file is corrupt" in r.output
    wav = call.write(tmp_path / "call.wav")
    r = cli.invoke(
        build_app(),
        ["recordings", "ingest", "--call-id", "c-1", str(wav), "--speaker-channel", "x"],
    )
    assert r.exit_code == 2 and "SPEAKER=CHANNEL" in r.output
    r = cli.invoke(
        build_app(), ["recordings", "ingest", "--call-id", "c-1", str(tmp_path / "missing.wav")]
    )
    assert r.exit_code == 2 and "cannot be read" in r.output


def test_keeping_the_original_needs_the_person_and_seals_it_with_their_key(
    cli: CliRunner,
    runtime: Runtime,
    tenant: Tenant,
    tmp_path: Path,
    card_call: synth.Call,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HONORBOUND_RECORDINGS_KEEP_ORIGINAL", "true")
    wav = card_call.write(tmp_path / "call.wav")
    # No person named: the call is stored, the original is not (no key to seal it with).
    r = cli.invoke(build_app(), ["recordings", "ingest", "--call-id", "c-1", str(wav)])
    assert r.exit_code == 0, r.output
    assert "no subject" in _json(r.output)["original_not_kept"]
    rules = CollectionRules(None, {}, frozenset({"customer"}), None)
    with runtime.db.session() as session:
        subject = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, person().email)],
            Actor("test", "system"),
            rules,
        ).subject
        subject_id, key_id = subject.id, subject.key_id
    ingest = ["recordings", "ingest", "--call-id", "c-1", str(wav), "--subject", str(subject_id)]
    # The setting is half of it: the notice must say originals are kept, and for how long.
    r = cli.invoke(build_app(), ingest)
    assert r.exit_code == 0, r.output
    manifest = _json(r.output)
    assert manifest["original_kept"] is False and "no notice" in manifest["original_not_kept"]
    folder = runtime.settings.data_dir / "recordings" / f"org-{tenant.id}"
    assert not (folder / manifest["recording_id"] / "original.sealed").exists()
    adopt_example(runtime, tenant.id)  # lists call recordings, says nothing of originals
    r = cli.invoke(build_app(), ingest)
    assert _json(r.output)["original_kept"] is False
    assert "does not say originals" in _json(r.output)["original_not_kept"]
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, KEEP_ORIGINALS, Actor("test", "system"))
    r = cli.invoke(build_app(), ingest)
    assert r.exit_code == 0, r.output
    manifest = _json(r.output)
    assert manifest["original_kept"] is True and manifest["original_period"] == "P30D"
    folder = runtime.settings.data_dir / "recordings" / f"org-{tenant.id}"
    sealed = folder / manifest["recording_id"] / "original.sealed"
    key = runtime.vault_keys.data_key(tenant.id, key_id)
    out = io.BytesIO()
    open_sealed_file(sealed, out, key, associated_data(tenant.id, key_id, "recording:original"))
    assert out.getvalue() == wav.read_bytes()
    with pytest.raises(DecryptionError):  # bound to this person
        open_sealed_file(sealed, io.BytesIO(), key, associated_data(tenant.id, "other", "x"))
    r = cli.invoke(build_app(), [*ingest[:-1], "999999"])
    assert r.exit_code == 2 and "no vault subject" in r.output
    # Erasing the person shreds their key: the sealed original can no longer be opened by
    # anyone (read back from the bytes on disk with the only key there ever was).
    sealed_bytes = sealed.read_bytes()
    with runtime.db.session() as session:
        erase_subject(session, runtime.vault_keys, tenant.id, subject_id, Actor("t", "s"), "t")
    with pytest.raises(LookupError):
        runtime.vault_keys.data_key(tenant.id, key_id)
    assert sealed.read_bytes() == sealed_bytes  # still there, unreadable without the key


def test_decide(cli: CliRunner) -> None:
    r = cli.invoke(build_app(), ["recordings", "decide", "--state", "TX", "--state", "WA"])
    assert r.exit_code == 0 and _json(r.output)["action"] == "announce_first"
    r = cli.invoke(
        build_app(), ["recordings", "decide", "--state", "TX", "--state", "NY", "--not-announced"]
    )
    assert _json(r.output)["may_record"] is True
    r = cli.invoke(build_app(), ["recordings", "decide", "--state", "Texas", "--state", "NY"])
    assert r.exit_code == 2 and "two-letter" in r.output


def test_cli_ingest_runs_the_gate(
    cli: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path, call: synth.Call
) -> None:
    from sqlalchemy import select

    from honorbound.audit.models import AuditEntry

    wav = call.write(tmp_path / "call.wav")
    store = runtime.settings.data_dir / "recordings" / f"org-{tenant.id}"
    for args, needle in [
        ([], "--call-id is missing"),
        (["--call-id", "a b"], "--call-id must be"),
        (["--call-id", "c-5", "--caller", "12"], "not a valid phone number"),
        (["--call-id", "c-5", "--subject", "424242"], "no vault subject"),
    ]:
        r = cli.invoke(build_app(), ["recordings", "ingest", str(wav), *args])
        assert r.exit_code == 2 and needle in r.output, (args, r.output)
        assert not store.exists() or [p.name for p in store.iterdir() if p.name[0] != "."] == []
    r = cli.invoke(
        build_app(),
        ["recordings", "ingest", str(wav), "--call-id", "c-5", "--caller", person().phone],
    )
    assert r.exit_code == 0, r.output
    manifest = _json(r.output)
    assert manifest["call_id"] == "c-5" and len(manifest["caller_index"]) == 64
    with runtime.db.session() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "recordings.ingested", AuditEntry.organization_id == tenant.id
            )
        )
        assert entry is not None and entry.object_id == manifest["recording_id"]
        assert entry.details["call_id"] == "c-5" and entry.actor == "cli"
