"""A deletion request reaches a recording store that is an object store (fsspec's in-process
`memory://` stands in for S3: no S3 service runs here): the runtime is built with
HONORBOUND_RECORDINGS_URL, the person's calls (one with its original sealed) are ingested
through the store the runtime names, and after the request the store's objects are read with
fsspec directly: none of the person's are left, not even sealed bytes; other people's stay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fastapi.testclient import TestClient

from honorbound.config import Settings
from honorbound.recordings.ingest import ingest, original_key_for
from honorbound.recordings.store import RecordingStore
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.recordings import synth
from tests.rights.conftest import link_in, mails_to, public, seed
from tests.support.smtp import SmtpSink

BUCKET = f"hb-rights-{uuid.uuid4().hex}"


@pytest.fixture
def rt(settings: Settings, smtp: SmtpSink) -> Iterator[Runtime]:
    update = {"smtp_url": smtp.url, "recordings_url": f"memory://{BUCKET}"}
    runtime = build_runtime(settings.model_copy(update=update), immediate_jobs=True)
    yield runtime
    runtime.close()
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{BUCKET}"):
        fs.rm(f"/{BUCKET}", recursive=True)


def stored_objects(org_id: int) -> dict[str, bytes]:
    fs = fsspec.filesystem("memory")
    prefix = f"/{BUCKET}/org-{org_id}"
    return {p: bytes(fs.cat_file(p)) for p in fs.find(prefix)} if fs.exists(prefix) else {}


def test_erasure_deletes_the_persons_objects_on_the_object_store(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, tmp_path: Path
) -> None:
    s = seed(rt, org.id)
    other = seed(rt, org.id)
    b = synth.Builder(noise=0.01)
    b.say(0, "hello")
    wav = b.build().write(tmp_path / "c.wav")
    store = RecordingStore.for_organization(
        rt.settings.recordings_store, org.id, rt.settings.resolved_recordings_dir
    )
    with rt.db.session() as session:
        key = original_key_for(session, rt.vault_keys, org.id, s.subject_id)
    mine = [
        ingest(store, wav, None, subject_id=s.subject_id, original_key=key),
        ingest(store, wav, None, subject_id=s.subject_id),
    ]
    theirs = ingest(store, wav, None, subject_id=other.subject_id)
    before = stored_objects(org.id)
    sealed = before[f"/{BUCKET}/org-{org.id}/{mine[0].recording_id}/original.sealed"]
    assert mine[0].uri.startswith(f"memory:///{BUCKET}/org-{org.id}/")
    p = s.person
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True, done.text
    after = stored_objects(org.id)
    left = {path.split("/")[3] for path in after}
    assert left == {theirs.recording_id}
    assert not any(sealed in data for data in after.values())
    # Nothing of the person's calls on the local disk either (inbox and staging only).
    local = rt.settings.resolved_recordings_dir
    assert not any(p.is_file() for p in local.rglob("*")) if local.exists() else True
