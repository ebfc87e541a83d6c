"""`POST /v1/recordings/upload`: a call uploaded as multipart is streamed to disk, redacted and
stored through the same gate as `POST /v1/recordings`; bodies over
HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES are 413; bad input is a clear 4xx after which the
store folder holds no recording and nothing in staging, and the database no ingest entry."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.config import Settings
from honorbound.recordings.store import RecordingStore
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.recordings import synth

LIMIT = 3_000_000  # the test call is about 1.4 MB of WAV


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The JSON body limit well below the upload: the body guard must let the upload through.
    return settings.model_copy(
        update={"recordings_max_upload_bytes": LIMIT, "max_body_bytes": 64 * 1024}
    )


def _store(runtime: Runtime, tenant: Tenant) -> RecordingStore:
    return RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)


def _stored(store: RecordingStore) -> list[str]:
    if not store.root.exists():
        return []
    return sorted(p.name for p in store.root.iterdir() if not p.name.startswith("."))


def _staging(store: RecordingStore) -> list[str]:
    where = store.root / ".staging"
    return sorted(p.name for p in where.iterdir()) if where.exists() else []


def _ingested(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.db.session() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    AuditEntry.action == "recordings.ingested",
                    AuditEntry.organization_id == tenant.id,
                )
            )
            or 0
        )


def test_upload_is_redacted_stored_and_audited(
    client: TestClient, runtime: Runtime, tenant: Tenant, call: synth.Call, tmp_path: Path
) -> None:
    wav = call.write(tmp_path / "call.wav").read_bytes()
    assert len(wav) > runtime.settings.max_body_bytes
    r = client.post(
        "/v1/recordings/upload",
        files={
            "audio": ("call.wav", wav, "audio/wav"),
            "transcript": ("t.json", call.deepgram_json().encode(), "application/json"),
        },
        data={"call_id": "dialer-1", "markers": "[]"},
        headers=tenant.headers(Role.AGENT),
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["call_id"] == "dialer-1" and out["findings"]["CREDIT_CARD"] == 1
    assert out["dtmf_tones_removed"] == 16
    store = _store(runtime, tenant)
    assert _stored(store) == [out["recording_id"]] and _staging(store) == []
    folder = store.root / out["recording_id"]
    # The bytes on disk: the redacted copy differs from the upload, same length and format;
    # the manifest names the upload's hash; no copy of the upload is left anywhere.
    redacted = (folder / "redacted.wav").read_bytes()
    assert len(redacted) == len(wav) and redacted != wav
    assert json.loads((folder / "manifest.json").read_bytes())["original_sha256"] == (
        __import__("hashlib").sha256(wav).hexdigest()
    )
    assert not any(p.read_bytes() == wav for p in store.root.rglob("*") if p.is_file())
    assert _ingested(runtime, tenant) == 1


def _bad_cases(call: synth.Call, tmp_path: Path) -> Iterator[tuple[dict, dict, int, str]]:
    wav = call.write(tmp_path / "ok.wav").read_bytes()
    transcript = call.deepgram_json().encode()
    corrupt = b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(64)
    aiff = io.BytesIO()
    sf.write(aiff, np.zeros((8000, 2), dtype=np.int16), 8000, format="AIFF")
    late = json.loads(transcript)
    late["metadata"].pop("duration")
    late["results"]["channels"][1]["alternatives"][0]["words"][-1]["end"] = call.duration + 30
    ok = {"call_id": "dialer-2"}

    def files(audio: bytes, tr: bytes | None = transcript) -> dict:
        out = {"audio": ("a.wav", audio, "audio/wav")}
        if tr is not None:
            out["transcript"] = ("t.json", tr, "application/json")
        return out

    yield files(corrupt), ok, 422, "corrupt"
    yield files(wav, json.dumps(late).encode()), ok, 422, "after the end of the audio"
    yield files(wav, call.deepgram_json(sha256="ab" * 32).encode()), ok, 422, "another audio file"
    yield files(aiff.getvalue(), None), ok, 422, "no supported format"
    yield files(wav), {}, 422, "`call_id` is missing"
    yield files(wav), {"call_id": "../etc"}, 422, "`call_id` must be"
    yield files(wav), {**ok, "caller": "not a number"}, 422, "not a valid phone number"
    yield files(wav), {**ok, "subject_id": "999999"}, 422, "no vault subject"
    yield files(wav), {**ok, "markers": "[{"}, 422, "must be JSON"
    yield files(wav), {**ok, "colour": "red"}, 422, "unknown part 'colour'"
    yield {"transcript": ("t.json", transcript, "application/json")}, ok, 422, "no `audio`"


def test_bad_uploads_are_refused_and_store_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, call: synth.Call, tmp_path: Path
) -> None:
    store = _store(runtime, tenant)
    for files, data, status, needle in _bad_cases(call, tmp_path):
        r = client.post(
            "/v1/recordings/upload", files=files, data=data, headers=tenant.headers(Role.AGENT)
        )
        assert r.status_code == status, (needle, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert needle in r.json()["detail"], (needle, r.json())
        assert _stored(store) == [] and _staging(store) == [], needle
        assert _ingested(runtime, tenant) == 0, needle
    # Not multipart at all; a body cut before its closing boundary.
    r = client.post(
        "/v1/recordings/upload",
        content=b"{}",
        headers={**tenant.headers(Role.AGENT), "content-type": "application/json"},
    )
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    cut = (
        b'--XyZ\r\nContent-Disposition: form-data; name="call_id"\r\n\r\nc-3\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
        + call.write(tmp_path / "c.wav").read_bytes()[:50_000]
    )
    r = client.post(
        "/v1/recordings/upload",
        content=cut,
        headers={
            **tenant.headers(Role.AGENT),
            "content-type": "multipart/form-data; boundary=XyZ",
        },
    )
    assert r.status_code == 400 and "closing boundary" in r.json()["detail"]
    assert _stored(store) == [] and _staging(store) == [] and _ingested(runtime, tenant) == 0
    # Permission: an auditor cannot collect.
    r = client.post(
        "/v1/recordings/upload",
        files={"audio": ("a.wav", b"x", "audio/wav")},
        data={"call_id": "c"},
        headers=tenant.headers(Role.AUDITOR),
    )
    assert r.status_code == 403


def test_an_upload_over_the_limit_is_413_declared_or_not(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    store = _store(runtime, tenant)
    head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="call_id"\r\n\r\nc-4\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
    )
    headers = {
        **tenant.headers(Role.AGENT),
        "content-type": "multipart/form-data; boundary=XyZ",
    }
    big = head + bytes(LIMIT) + b"\r\n--XyZ--\r\n"
    r = client.post("/v1/recordings/upload", content=big, headers=headers)  # Content-Length
    assert r.status_code == 413, r.text
    assert "HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES" in r.json()["detail"]
    assert str(LIMIT) in r.json()["detail"]
    sent = {"bytes": 0}

    def chunked() -> Iterator[bytes]:  # no Content-Length: cut off as it grows
        yield head
        for _ in range(2 * LIMIT // 65536):
            sent["bytes"] += 65536
            yield bytes(65536)

    r = client.post("/v1/recordings/upload", content=chunked(), headers=headers)
    assert r.status_code == 413 and "HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES" in r.text
    assert _stored(store) == [] and _staging(store) == [] and _ingested(runtime, tenant) == 0
