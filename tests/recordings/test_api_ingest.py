"""`POST /v1/recordings`: a call the dialer dropped in the organization's inbox is redacted,
stored in that organization's folder, removed from the inbox, and audited; bad input is a
422 problem and leaves the inbox file and the store as they were."""

from __future__ import annotations

import json
import stat

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.recordings.store import RecordingStore
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.recordings import synth


def _inbox(runtime: Runtime, tenant: Tenant) -> RecordingStore:
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    store.inbox.mkdir(parents=True, exist_ok=True)
    return store


def test_ingest_from_the_inbox(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, call: synth.Call
) -> None:
    store = _inbox(runtime, tenant)
    call.write(store.inbox / "call-1.wav")
    body = {"call_id": "c-1", "audio": "call-1.wav", "transcript": json.loads(call.deepgram_json())}
    # Another organization cannot reach this inbox.
    r = client.post("/v1/recordings", json=body, headers=other_tenant.headers(Role.AGENT))
    assert r.status_code == 422 and "no such file" in r.json()["detail"]
    r = client.post("/v1/recordings", json=body, headers=tenant.headers(Role.AGENT))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["findings"]["CREDIT_CARD"] == 1 and out["dtmf_tones_removed"] == 16
    where = store.root / out["recording_id"]
    assert stat.S_IMODE((where / "redacted.wav").stat().st_mode) == 0o600
    assert not (store.inbox / "call-1.wav").exists()
    with runtime.db.session() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "recordings.ingested", AuditEntry.organization_id == tenant.id
            )
        )
        assert entry is not None and entry.object_id == out["recording_id"]
        assert entry.details["dtmf_tones_removed"] == 16


def test_bad_input_is_a_problem_and_changes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, call: synth.Call
) -> None:
    store = _inbox(runtime, tenant)
    call.write(store.inbox / "call-2.wav")
    doc = json.loads(call.deepgram_json())
    doc["metadata"]["duration"] = 9999.0
    for body, needle in [
        ({"call_id": "c-2", "audio": "call-2.wav", "transcript": doc}, "another file"),
        ({"call_id": "c-2", "audio": "../call-2.wav"}, "bare name"),
        ({"call_id": "c-2", "audio": "missing.wav"}, "no such file"),
        (
            {"call_id": "c-2", "audio": "call-2.wav", "markers": [{"type": "resume", "at": 1}]},
            "without a pause",
        ),
        ({"call_id": "c-2", "audio": "call-2.wav", "transcript": {"x": 1}}, "no known shape"),
    ]:
        r = client.post("/v1/recordings", json=body, headers=tenant.headers(Role.AGENT))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert needle in r.json()["detail"]
    assert (store.inbox / "call-2.wav").exists()
    assert [p.name for p in store.root.iterdir() if not p.name.startswith(".")] == ["inbox"]
    r = client.post(
        "/v1/recordings",
        json={"call_id": "c-2", "audio": "call-2.wav"},
        headers=tenant.headers(Role.AUDITOR),
    )
    assert r.status_code == 403
