"""A deletion request reaches the recording store: the calls stored under the person's vault
subject are deleted (checked on disk), other people's calls stay, and the timeline counts it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from honorbound.recordings.ingest import ingest
from honorbound.recordings.store import RecordingStore
from honorbound.rights.timeline import events
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.recordings import synth
from tests.rights.conftest import link_in, mails_to, public, seed
from tests.rights.test_requests_flow import _request
from tests.support.smtp import SmtpSink


def test_deletion_deletes_the_persons_stored_calls(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, tmp_path: Path
) -> None:
    s = seed(rt, org.id)
    other = seed(rt, org.id)
    b = synth.Builder(noise=0.01)
    b.say(0, "hello")
    wav = b.build().write(tmp_path / "c.wav")
    store = RecordingStore.for_organization(rt.settings.resolved_recordings_dir, org.id)
    mine = [ingest(store, wav, None, subject_id=s.subject_id) for _ in range(2)]
    theirs = ingest(store, wav, None, subject_id=other.subject_id)
    unnamed = ingest(store, wav, None)
    p = s.person
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True, done.text
    assert not any(r.path.exists() for r in mine)
    assert theirs.path.exists() and unnamed.path.exists()
    with rt.db.session() as session:
        erased = [e for e in events(session, _request(rt, org)) if e.kind == "subject_erased"]
        assert erased and erased[0].details["stored_recordings_deleted"] == 2


def test_access_package_holds_the_persons_redacted_transcripts(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, tmp_path: Path
) -> None:
    import io
    import json
    import zipfile

    s = seed(rt, org.id)
    other = seed(rt, org.id)
    b = synth.Builder(noise=0.01)
    b.say(0, "please read me your card number")
    b.digits(1, "4111111111111111", "card")
    call = b.build()
    wav = call.write(tmp_path / "c.wav")
    store = RecordingStore.for_organization(rt.settings.resolved_recordings_dir, org.id)
    mine = ingest(store, wav, call.aws_json().encode(), subject_id=s.subject_id)
    ingest(store, wav, call.aws_json().encode(), subject_id=other.subject_id)
    p = s.person
    api.post(public(org), json={"type": "access_specific", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"),
        json={
            "token": token,
            "data_points": {"phone": p.phone, "birth_date": p.birth_date},
            "declaration": {"typed_name": f"{p.first_name} {p.last_name}", "agreed": True},
        },
    )
    assert done.json()["verified"] is True, done.text
    ready = mails_to(smtp, p.email, 2)[1]
    package = api.get(public(org, "/download"), params={"token": link_in(ready, "download")})
    data = json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("data.json"))
    assert [r["recording_id"] for r in data["recordings"]] == [mine.recording_id]
    texts = [w["text"] for w in data["recordings"][0]["transcript"]]
    assert "[CREDIT_CARD]" in texts and "please" in texts and "four" not in texts
    assert data["recordings"][0]["redacted"] == {"CREDIT_CARD": 1}
