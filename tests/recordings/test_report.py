"""The PCI DSS report: totals from the store, and incidents found by checking the stored
files again (card data in a transcript, keypad tones in audio, a kept original with a code)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import soundfile as sf
from typer.testing import CliRunner

from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.policy.jurisdictions import load_rules
from honorbound.recordings import report
from honorbound.recordings.ingest import OriginalKey, ingest
from honorbound.recordings.store import RecordingStore
from tests.conftest import Tenant
from tests.recordings import synth

RULES = load_rules(None)


def test_totals_and_no_incidents_for_a_clean_store(tmp_path: Path, call, card_call) -> None:
    store = RecordingStore(tmp_path / "store")
    ingest(store, call.write(tmp_path / "a.wav"), call.aws_json().encode())
    ingest(
        store,
        card_call.write(tmp_path / "b.wav"),
        card_call.aws_json().encode(),
        original_key=OriginalKey(os.urandom(32), b""),
    )
    r = report.build(store, RULES, audio_check=True).as_dict()
    assert r["recordings_scanned"] == 2 and r["incidents"] == []
    assert r["findings"]["CREDIT_CARD"] == 2 and r["dtmf_tones_removed"] == 16
    assert r["spans_redacted"] == 5 and r["originals_kept"] == 1
    assert {q["id"] for q in r["requirements"]} >= {"3.3.1.2", "12.10.7"}
    assert r["standard"] == "PCI DSS 4.0.1"


def test_card_data_left_in_the_store_is_an_incident(tmp_path: Path, call) -> None:
    store = RecordingStore(tmp_path / "store")
    done = ingest(store, call.write(tmp_path / "a.wav"), call.aws_json().encode())
    # Card data reaching the store behind the redactor's back: the original transcript's words
    # written over the redacted one, the original audio over the redacted audio, and a sealed
    # original beside a call with a card code.
    t = done.path / "transcript.json"
    t.write_text(json.dumps({"words": [{"text": w.text} for w in call.words]}))
    sf.write(str(done.path / "redacted.wav"), call.samples, synth.SR, subtype="PCM_16")
    (done.path / "original.sealed").write_bytes(b"x")
    r = report.build(store, RULES, audio_check=True)
    got = {(i.requirement, i.what.split(":")[0]) for i in r.incidents}
    assert ("12.10.7", "card data in the stored transcript") in got
    assert ("3.3.1.2", "an original holding a card code is kept (sealed)") in got
    assert any(i.what.endswith("keypad tones in the stored audio") for i in r.incidents)
    card_digits = [w.text for w in call.words if w.tag == "card"]
    assert not any(d in json.dumps(r.as_dict()) for d in card_digits if len(d) > 4)


def test_cli_report_exits_1_on_an_incident(
    tmp_path: Path, call, settings: Settings, tenant: Tenant, monkeypatch
) -> None:
    for name in ("database_url", "keystore_url", "master_key", "data_dir"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    runner = CliRunner()
    r = runner.invoke(build_app(), ["recordings", "report"])
    assert r.exit_code == 0 and '"recordings_scanned": 0' in r.output
    store = RecordingStore.for_organization(settings.data_dir / "recordings", tenant.id)
    done = ingest(store, call.write(tmp_path / "a.wav"), call.aws_json().encode())
    r = runner.invoke(build_app(), ["recordings", "report", "--audio"])
    assert r.exit_code == 0, r.output
    sf.write(str(done.path / "redacted.wav"), call.samples, synth.SR, subtype="PCM_16")
    r = runner.invoke(build_app(), ["recordings", "report", "--audio"])
    assert r.exit_code == 1 and "12.10.7" in r.output
    # The incident is on the staff's breach list, opened once however often the report runs.
    assert '"incident_id": ' in r.output and '"incident_id": null' not in r.output
    r = runner.invoke(build_app(), ["recordings", "report", "--audio"])
    assert r.exit_code == 1
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT title, status FROM breach_incidents WHERE organization_id = :o"),
            {"o": tenant.id},
        ).all()
    engine.dispose()
    assert rows == [(f"Card data in stored call recording {done.recording_id}", "open")]
