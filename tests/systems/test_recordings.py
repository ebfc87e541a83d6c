"""The vault's call recordings: deleting the pointer deletes the audio object it points to,
through the connected store (here a local folder; S3 with versions in the systems leg)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink
from tests.systems.conftest import ACTOR, Crm, connect, wav_bytes
from tests.systems.test_requests import submit, the_request, vault_person

from honorbound.retention.models import DisposalEntry
from honorbound.retention.sweep import sweep as vault_sweep
from honorbound.runtime import Runtime
from honorbound.vault.collection import NewInteraction, add_interaction
from honorbound.vault.models import Channel, Direction
from honorbound.vault.rules import current_rules

STORE = """\
dataset:
  - fides_key: recordings
    name: Recording store
    meta:
      honorbound:
        connection: {type: files, url_env: TEST_STORE_URL}
        collections:
          calls: {path: "calls/*.wav", format: recording}
    collections:
      - name: calls
        fields:
          - {name: audio, data_categories: [user.contact_center.call_recording], fides_meta: {identity: external_id}}
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    (root / "calls").mkdir(parents=True)
    monkeypatch.setenv("TEST_STORE_URL", f"file://{root}")
    return root


def _call(rt: Runtime, org: Tenant, subject_id: int, uri: str, started: dt.datetime) -> None:
    with rt.db.session() as session:
        rules = current_rules(session, org.id, rt.rules)
        assert rules is not None
        add_interaction(
            session,
            rt.vault_keys,
            org.id,
            subject_id,
            NewInteraction(
                Channel.CALL,
                Direction.INBOUND,
                started,
                recording_uri=uri,
                recording_sha256=hashlib.sha256(b"x").hexdigest(),
            ),
            ACTOR,
            rules,
        )


def test_deleting_a_person_deletes_their_recordings_audio(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, crm: Crm, store: Path
) -> None:
    c = crm.people[0]
    subject_id = vault_person(rt, org, c)
    audio = store / "calls" / "c1.wav"
    audio.write_bytes(wav_bytes())
    other = store / "calls" / "c2.wav"
    other.write_bytes(wav_bytes())
    _call(rt, org, subject_id, f"file://{store}/calls/c1.wav", dt.datetime.now(dt.UTC))
    _call(rt, org, subject_id, "s3://a-bucket-nobody-connected/x.wav", dt.datetime.now(dt.UTC))
    connect(rt, org, STORE)
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "completed", [e.kind for e in events]
    assert not audio.exists() and other.exists()
    (erased,) = [e for e in events if e.kind == "subject_erased"]
    assert erased.details["recording_objects_deleted"] == 1
    assert erased.details["recording_versions_deleted"] == 1
    assert erased.details["recording_objects_unreached"] == 1  # said, not silently dropped


def test_retention_deletes_the_audio_and_the_certificate_says_so(
    rt: Runtime, org: Tenant, crm: Crm, store: Path
) -> None:
    c = crm.people[1]
    subject_id = vault_person(rt, org, c)
    audio = store / "calls" / "old.wav"
    audio.write_bytes(wav_bytes())
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * 7)
    _call(rt, org, subject_id, f"file://{store}/calls/old.wav", long_ago)
    connect(rt, org, STORE)
    # The example notice keeps everything 6 years after the last activity: the person goes.
    from honorbound.vault.models import Subject

    with rt.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        subject.last_activity_at = long_ago
    vault_sweep(rt.db, rt.keys, rt.vault_keys, org.id, ACTOR)
    assert not audio.exists()
    with rt.db.session() as session:
        docs = [json.loads(e.certificate) for e in session.scalars(select(DisposalEntry))]
    assert any(d.get("recording_objects_deleted") == 1 for d in docs), docs
