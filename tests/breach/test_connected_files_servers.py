"""The `systems` leg of a breach selection reading files whole: the same exports as
test_connected_files.py, on an S3-compatible store (moto's server on loopback, versioning on)
and on an SFTP server (asyncssh on loopback), read through the same files connector."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.breach.conftest import Resident, resident
from tests.breach.test_connected_files import FILE_CAP, FILES, fill, incident
from tests.conftest import Tenant
from tests.support.smtp import free_port
from tests.systems.conftest import connect

pytestmark = pytest.mark.systems
LOCAL = "connection: {type: files, url_env: BREACH_FILES_URL}"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def on_s3(endpoint: str, local: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    monkeypatch.setenv("BREACH_S3_KEY", "testing")
    monkeypatch.setenv("BREACH_S3_SECRET", "testing")
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )  # fmt: skip
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in local.rglob("*"):
        if path.is_file():
            key = f"cc/{path.relative_to(local)}"
            client.put_object(Bucket=bucket, Key=key, Body=b"an older version")
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    monkeypatch.setenv("BREACH_FILES_URL", f"s3://{bucket}/cc")
    return FILES.replace(
        LOCAL,
        "connection: {type: files, url_env: BREACH_FILES_URL, "
        f"options: {{endpoint_url: '{endpoint}'}}, "
        "secret_options: {key: {env: BREACH_S3_KEY}, secret: {env: BREACH_S3_SECRET}}}",
    )


@pytest.fixture
def sftp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An SFTP server on loopback serving tmp_path/sftp (chrooted); yields that folder."""
    import asyncssh

    root = tmp_path / "sftp"
    root.mkdir()
    password = "sftp-test-password"
    port = free_port()
    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")

    class Server(asyncssh.SSHServer):  # type: ignore[misc]
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == "exports" and given == password

    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(
            asyncssh.listen(
                "127.0.0.1", port, server_host_keys=[key], server_factory=Server,
                sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
            )
        )  # fmt: skip
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(20)
    monkeypatch.setenv("BREACH_FILES_URL", f"sftp://exports@127.0.0.1:{port}/")
    monkeypatch.setenv("BREACH_SFTP_PASSWORD", password)
    yield root
    loop.call_soon_threadsafe(holder["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


SFTP_CONNECTION = (
    "connection: {type: files, url_env: BREACH_FILES_URL, "
    "options: {look_for_keys: false, allow_agent: false}, "
    "secret_options: {password: {env: BREACH_SFTP_PASSWORD}}}"
)


def select_and_check(
    api: TestClient, org: Tenant, people: list[Resident], sizes: dict[str, int]
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = incident(api, h)
    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact", "user.contact_center"],
              "connected_systems": ["exports"], "read_files": True,
              "file_cap_bytes": FILE_CAP, "notify_unknown": True},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    sel = r.json()
    assert sel["by_state"] == {"": 2, "CA": 1, "NY": 1, "TX": 2}
    (x,) = sel["connected_search"]
    assert x["in_vault"] == 2 and x["not_in_vault"] == 4 and x["files_read"] == 3
    assert x["bytes_read"] == sum(n for f, n in sizes.items() if f != "people/huge.jsonl")
    why = {n["file"]: n["why"] for n in x["not_read"]}
    assert set(why) == {
        "people/binary.jsonl", "people/latin1.jsonl", "people/broken.jsonl", "people/huge.jsonl",
    }  # fmt: skip
    assert why["people/latin1.jsonl"].startswith("not UTF-8")
    assert why["people/huge.jsonl"].endswith(f"over the cap of {FILE_CAP} bytes per file")


def test_s3_files_are_read_whole_within_the_caps(
    rt: Runtime,
    org: Tenant,
    api: TestClient,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = [resident(rt, org.id, "NY"), resident(rt, org.id, "TX")]
    folder, _ = fill(tmp_path / "local", people)
    connect(rt, org, on_s3(s3_endpoint, folder.root, monkeypatch))
    select_and_check(api, org, people, folder.sizes)


def test_sftp_files_are_read_whole_within_the_caps(
    rt: Runtime, org: Tenant, api: TestClient, sftp_server: Path
) -> None:
    people = [resident(rt, org.id, "NY"), resident(rt, org.id, "TX")]
    folder, _ = fill(sftp_server, people)
    connect(rt, org, FILES.replace(LOCAL, SFTP_CONNECTION))
    select_and_check(api, org, people, folder.sizes)
