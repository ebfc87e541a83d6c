"""The recording store on an S3 API with versioning on: moto's server mode on loopback (an S3
implementation run in-process, as in tests/systems/test_servers.py; no real S3 service runs
here), reached through s3fs with the AWS SDK's own environment (AWS_ENDPOINT_URL, keys). The
bucket is read with boto3, not through the store: after the kept original is deleted on
schedule, and after the recording is deleted, no version and no delete marker of it is left
(on a versioned bucket an ordinary delete leaves the old bytes as a noncurrent version)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from honorbound.recordings.ingest import OriginalKey, ingest
from honorbound.recordings.store import RecordingStore
from tests.recordings import synth
from tests.support.smtp import free_port

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    import boto3

    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_endpoint}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    name = f"recordings-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name, client


def versions(client: Any, bucket: str, prefix: str) -> list[tuple[str, bool]]:
    """(key, is a delete marker) of every stored version under `prefix`."""
    page = client.list_object_versions(Bucket=bucket, Prefix=prefix)
    return [(v["Key"], False) for v in page.get("Versions", [])] + [
        (m["Key"], True) for m in page.get("DeleteMarkers", [])
    ]


def test_deletion_on_a_versioned_bucket_leaves_no_version(
    tmp_path: Path, card_call: synth.Call, bucket: tuple[str, Any]
) -> None:
    name, client = bucket
    store = RecordingStore.for_organization(f"s3://{name}/calls", 7, tmp_path / "local")
    src = card_call.write(tmp_path / "call.wav")
    key = os.urandom(32)
    done = ingest(
        store, src, card_call.aws_json().encode(), original_key=OriginalKey(key, b"k"),
        recording_id="r1",
    )  # fmt: skip
    assert done.uri == f"s3://{name}/calls/org-7/r1"
    base = "calls/org-7/r1/"
    stored = {k for k, _ in versions(client, name, base)}
    assert stored == {base + n for n in ("manifest.json", "redacted.wav", "transcript.json",
                                         "original.sealed")}  # fmt: skip
    sealed = client.get_object(Bucket=name, Key=base + "original.sealed")["Body"].read()
    assert src.read_bytes()[1000:1064] not in sealed
    assert store.recording_ids() == ["r1"]
    # The kept original's period ends: it goes, every version of it.
    assert store.delete_original("r1", dt.datetime.now(dt.UTC)) is True
    assert [v for v in versions(client, name, base) if v[0].endswith("original.sealed")] == []
    assert store.manifest("r1")["original_kept"] is False
    # The recording goes: nothing under its prefix, not a noncurrent version, not a marker.
    assert store.delete("r1") is True
    assert versions(client, name, base) == []
    assert store.recording_ids() == []
