"""The recording store on an object store, through fsspec. No S3 service runs on this machine:
fsspec's in-process `memory://` filesystem stands in for one (the same code path as s3://,
gcs://, sftp://: everything that is not the local disk). The checks read the store's bytes
with fsspec directly, not through RecordingStore: the redacted copy is the same bytes as on
disk, the original is only there sealed, a failed upload leaves no object, deletion leaves
no object."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from honorbound.policy.jurisdictions import load_rules
from honorbound.recordings import report
from honorbound.recordings.errors import RecordingError
from honorbound.recordings.ingest import OriginalKey, ingest
from honorbound.recordings.store import RecordingStore, open_sealed_file
from tests.recordings import synth


def _bucket() -> tuple[str, str]:
    name = f"hb-test-{uuid.uuid4().hex}"
    return f"memory://{name}", f"/{name}"


def objects(prefix: str) -> dict[str, bytes]:
    fs = fsspec.filesystem("memory")
    return {p: bytes(fs.cat_file(p)) for p in fs.find(prefix)} if fs.exists(prefix) else {}


@pytest.fixture
def bucket() -> Any:
    url, prefix = _bucket()
    yield url, prefix
    fs = fsspec.filesystem("memory")
    if fs.exists(prefix):
        fs.rm(prefix, recursive=True)


def test_a_call_on_the_object_store_is_the_call_on_disk_with_its_original_sealed(
    tmp_path: Path, card_call: synth.Call, bucket: tuple[str, str]
) -> None:
    url, prefix = bucket
    src = card_call.write(tmp_path / "call.wav")
    key = os.urandom(32)
    on_disk = ingest(
        RecordingStore(tmp_path / "disk"), src, card_call.aws_json().encode(),
        original_key=OriginalKey(key, b"org1:k1"), recording_id="r1",
    )  # fmt: skip
    local = tmp_path / "local"
    store = RecordingStore.for_organization(url, 7, local)
    done = ingest(
        store, src, card_call.aws_json().encode(),
        original_key=OriginalKey(key, b"org1:k1"), recording_id="r1",
    )  # fmt: skip
    assert done.path is None and done.uri == f"memory://{prefix}/org-7/r1"
    got = objects(f"{prefix}/org-7/r1")
    names = {p.rsplit("/", 1)[1] for p in got}
    assert names == {"manifest.json", "redacted.wav", "transcript.json", "original.sealed"}
    base = f"{prefix}/org-7/r1/"
    # The redacted copy and transcript: the bytes the local store wrote (checked on the audio
    # itself by test_redaction.py).
    for name in ("redacted.wav", "transcript.json"):
        assert got[base + name] == (on_disk.path / name).read_bytes()
    # The original: sealed, never in clear (a run of its samples is not in the object), and it
    # opens with the person's key to the exact input.
    raw = got[base + "original.sealed"]
    original = src.read_bytes()
    assert original[1000:1064] not in raw
    sealed = tmp_path / "fetched.sealed"
    sealed.write_bytes(raw)
    out = io.BytesIO()
    open_sealed_file(sealed, out, key, b"org1:k1")
    assert out.getvalue() == original
    # Nothing of the call stays on the local disk (staging emptied, no recording folder).
    assert [p for p in local.rglob("*") if p.is_file()] == []
    assert store.recording_ids() == ["r1"] and store.exists("r1")
    r = report.build(store, load_rules(None)).as_dict()
    assert r["recordings_scanned"] == 1 and r["originals_kept"] == 1
    assert r["findings"] == {"CREDIT_CARD": 1}
    # Deleting it deletes every object under its prefix.
    assert store.delete("r1") is True
    assert objects(f"{prefix}/org-7") == {} and store.recording_ids() == []
    assert store.delete("r1") is False


class _FailingMemory(MemoryFileSystem):
    """A memory store whose third upload fails (a network error part-way through a recording)."""

    protocol = "hbfailing"
    puts = 0

    def put_file(self, lpath: Any, rpath: Any, *args: Any, **kwargs: Any) -> None:
        type(self).puts += 1
        if type(self).puts == 3:
            raise ConnectionResetError("connection reset by the store")
        super().put_file(lpath, rpath, *args, **kwargs)


def test_a_failed_upload_stores_nothing(tmp_path: Path, card_call: synth.Call) -> None:
    fsspec.register_implementation("hbfailing", _FailingMemory, clobber=True)
    _FailingMemory.puts = 0
    name = f"hb-fail-{uuid.uuid4().hex}"
    store = RecordingStore.for_organization(f"hbfailing://{name}", 7, tmp_path / "local")
    src = card_call.write(tmp_path / "call.wav")
    with pytest.raises(RecordingError, match="could not be written.*nothing was stored"):
        ingest(
            store, src, card_call.aws_json().encode(),
            original_key=OriginalKey(os.urandom(32), b"k"), recording_id="r1",
        )  # fmt: skip
    assert _FailingMemory.puts == 3  # two objects were written before the failure
    fs = fsspec.filesystem("memory")  # the same in-process store
    assert not fs.exists(f"/{name}/org-7/r1") or fs.find(f"/{name}/org-7/r1") == []
    assert store.recording_ids() == [] and not store.exists("r1")
    assert [p for p in (tmp_path / "local").rglob("*") if p.is_file()] == []


def test_objects_without_a_manifest_are_no_recording(bucket: tuple[str, str]) -> None:
    url, prefix = bucket
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{prefix}/org-7/half/redacted.wav", b"RIFF")
    store = RecordingStore.for_organization(url, 7)
    assert store.recording_ids() == [] and not store.exists("half")


def test_an_unknown_protocol_is_a_sentence() -> None:
    with pytest.raises(RecordingError, match="HONORBOUND_RECORDINGS_URL cannot be opened"):
        RecordingStore.for_organization("nosuchproto://x", 1)
