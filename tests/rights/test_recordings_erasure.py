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


def _collect_unidentified(rt: Runtime, org: Tenant, wav: Path, caller: str, transcript: bytes):
    """A call from a caller nobody has identified yet, through the collection gate."""
    from honorbound.audit import Actor
    from honorbound.recordings import collect

    with rt.db.session() as session:
        return collect.collect(
            session,
            rt.vault_keys,
            collect.Gate.from_settings(rt.settings),
            org.id,
            Actor("dialer", "agent"),
            wav,
            collect.Call(call_id="dialer-77", transcript=transcript, caller=caller),
        )


def _national(e164: str) -> str:
    """The number as a dialer's CDR may write it (not the vault's E.164 form)."""
    import phonenumbers

    return phonenumbers.format_number(
        phonenumbers.parse(e164, "US"), phonenumbers.PhoneNumberFormat.NATIONAL
    )


def test_unidentified_callers_calls_are_found_later_by_their_number(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, tmp_path: Path
) -> None:
    import io
    import json
    import zipfile

    from sqlalchemy import text

    s = seed(rt, org.id)
    other = seed(rt, org.id)
    b = synth.Builder(noise=0.01)
    b.say(0, "please read me your card number")
    b.digits(1, "4111111111111111", "card")
    call = b.build()
    wav = call.write(tmp_path / "c.wav")
    tr = call.aws_json().encode()
    p = s.person
    mine = _collect_unidentified(rt, org, wav, _national(p.phone), tr)
    theirs = _collect_unidentified(rt, org, wav, other.person.phone, tr)
    # The manifest holds the blind index the vault keeps for that phone (read by raw SQL),
    # never the number itself (checked in the bytes on disk).
    with rt.db.session() as session:
        index = session.execute(
            text(
                "SELECT blind_index FROM vault_identities WHERE subject_id = :s AND kind = 'phone'"
            ),
            {"s": s.subject_id},
        ).scalar_one()
    raw = (mine.path / "manifest.json").read_bytes()
    assert json.loads(raw)["caller_index"] == index and json.loads(raw)["subject_id"] is None
    digits = "".join(ch for ch in p.phone if ch.isdigit())
    assert digits[-10:].encode() not in raw and digits[-7:].encode() not in raw
    # Access: the person's package carries the call matched by their number, not the other's.
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
    # Deletion: the call goes with the person; the other caller's call stays.
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email, 3)[2], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True, done.text
    assert not mine.path.exists() and theirs.path.exists()
