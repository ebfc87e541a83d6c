"""The `systems` leg: connectors against real servers started for the run.

- PostgreSQL and MariaDB (scripts/with-postgres.sh, scripts/with-mariadb.sh: Debian packages);
- an S3-compatible object store on loopback: moto's server mode (`moto[server]`, an S3 API
  implementation run in-process; no real S3 service can run here), with versioning on;
- an SFTP server on loopback: asyncssh's server, serving a temporary folder.

`make test-systems` runs them (and `make test`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink, free_port
from tests.systems.conftest import (
    CRM_MAP,
    FILES_MAP,
    Crm,
    connect,
    customers,
    fill_crm,
    fill_files,
    wav_bytes,
)
from tests.systems.test_requests import pseudonym, submit, the_request, vault_person
from tests.systems.test_sweep import ADMIN

from honorbound.runtime import Runtime
from honorbound.systems.check import check_text
from honorbound.systems.connectors import ConnectorSettings, open_connector
from honorbound.systems.errors import ConnectionFailed
from honorbound.systems.jobs import context
from honorbound.systems.maps import load_text
from honorbound.systems.sweep import sweep

pytestmark = pytest.mark.systems

SERVERS = {
    "postgresql": os.environ.get("HONORBOUND_TEST_DATABASE_URL", ""),
    "mariadb": os.environ.get("HONORBOUND_TEST_MARIADB_URL", ""),
}


@pytest.fixture(params=["postgresql", "mariadb"])
def server_crm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    """A CRM database of its own on the PostgreSQL or MariaDB server."""
    admin_url = SERVERS[request.param]
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the systems leg needs a {request.param} server (see Makefile)")
        pytest.skip(f"no {request.param} server (run through scripts/with-*.sh)")
    name = f"crm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    people = customers(6)
    fill_crm(url, people, old={people[-1].id})
    monkeypatch.setenv("TEST_CRM_URL", url)
    yield Crm(url, people)
    with admin.connect() as conn:
        if request.param == "postgresql":
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


def test_deletion_and_access_on_a_real_server(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, server_crm: Crm
) -> None:
    crm = server_crm
    assert check_text(CRM_MAP, "crm.yaml", live=True) == []
    c, other = crm.people[0], crm.people[1]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP)
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "completed", [(e.kind, e.details) for e in events]
    (row,) = crm.rows("SELECT email, phone, full_name, note FROM customers WHERE id = :id", id=c.id)
    assert row == (None, pseudonym(rt, org, c.phone), "REDACTED", None)
    assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=c.id) == [(0,)]
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=other.id) == [(other.email,)]
    # Retention on the same server: the person last active 7 years ago.
    old = crm.people[-1]
    result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN, batch=1)
    assert result.failed == {} and result.batches >= 2
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=old.id) == [(None,)]
    assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=old.id) == [(0,)]


def test_wrong_credentials_name_the_system(
    server_crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (The PostgreSQL test server trusts loopback: an unknown user is what fails there.)
    url = make_url(server_crm.url).set(username="nobody", password="wrong-password")
    monkeypatch.setenv("TEST_CRM_URL", url.render_as_string(hide_password=False))
    system = load_text(CRM_MAP)[0]
    connector = open_connector(system, ConnectorSettings())
    with pytest.raises(ConnectionFailed) as caught:
        connector.find(system.collections[0], {"email": {"x@example.org"}})
    message = str(caught.value)
    assert message.startswith("system 'crm', connection: cannot connect to ")
    assert "wrong-password" not in message
    problems = check_text(CRM_MAP, "crm.yaml", live=True)
    assert problems and "cannot connect" in problems[0].message


def test_a_statement_that_runs_too_long_is_stopped(
    server_crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = load_text(
        CRM_MAP.replace("url_env: TEST_CRM_URL}", "url_env: TEST_CRM_URL, timeout_seconds: 1}")
    )[0]
    connector = open_connector(system, ConnectorSettings())
    backend = connector.backend
    sleep = "SELECT pg_sleep(5)" if backend == "postgresql" else "SELECT SLEEP(5)"
    with (
        pytest.raises(ConnectionFailed) as caught,
        connector._guard("collection 'customers'"),
        connector.engine.connect() as conn,
    ):
        conn.execute(text(sleep))
    assert str(caught.value) == "system 'crm', collection 'customers': did not answer within 1 s"


# -- S3-compatible object store --------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


S3_OPTIONS = (
    "connection: {type: files, url_env: TEST_FILES_URL, "
    "options: {endpoint_url: ENDPOINT}, "
    "secret_options: {key: {env: TEST_S3_KEY}, secret: {env: TEST_S3_SECRET}}}"
)


@pytest.fixture
def s3_files(
    s3_endpoint: str, crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    import boto3

    monkeypatch.setenv("TEST_S3_KEY", "testing")
    monkeypatch.setenv("TEST_S3_SECRET", "testing")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    local = tmp_path / "local"
    fill_files(local, crm.people)
    for path in local.rglob("*"):
        if path.is_file():
            key = f"cc/{path.relative_to(local)}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            if path.suffix == ".wav":  # a second version of every recording (re-encoded)
                client.put_object(Bucket=bucket, Key=key, Body=wav_bytes(0.3))
    monkeypatch.setenv("TEST_FILES_URL", f"s3://{bucket}/cc")
    files_map = FILES_MAP.replace(
        "connection: {type: files, url_env: TEST_FILES_URL}",
        S3_OPTIONS.replace("ENDPOINT", s3_endpoint),
    )
    return {"client": client, "bucket": bucket, "map": files_map}


def _versions(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    page = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]


def test_s3_recordings_are_deleted_with_every_version(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, crm: Crm, s3_files: dict[str, Any]
) -> None:
    client, bucket = s3_files["client"], s3_files["bucket"]
    c, other = crm.people[0], crm.people[1]
    mine = f"cc/recordings/{c.id}/call-1.wav"
    assert len(_versions(client, bucket, mine)) == 2
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, s3_files["map"])
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "completed", [(e.kind, e.details) for e in events]
    assert _versions(client, bucket, mine) == []  # no version, no delete marker left
    assert len(_versions(client, bucket, f"cc/recordings/{other.id}/call-1.wav")) == 2
    (erased,) = [
        e for e in events if e.kind == "system_erased" and e.details["system"] == "exports"
    ]
    recordings = erased.details["collections"]["recordings"]
    assert recordings == {
        "rows_deleted": 0,
        "fields": {},
        "objects_deleted": 1,
        "versions_deleted": 2,
    }
    # The rewritten JSONL file: one version left, the new one, without the person.
    tickets = "cc/tickets/2026.jsonl"
    assert len(_versions(client, bucket, tickets)) == 1
    body = client.get_object(Bucket=bucket, Key=tickets)["Body"].read().decode()
    assert c.email not in body and other.email in body


def test_s3_retention_deletes_old_recordings_and_certifies_versions(
    rt: Runtime, org: Tenant, crm: Crm, s3_files: dict[str, Any]
) -> None:
    client, bucket = s3_files["client"], s3_files["bucket"]
    connect(rt, org, CRM_MAP, s3_files["map"])
    # Every object was written just now; a sweep "as of" eight years ahead finds them all due.
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 8)
    result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org.id, ADMIN, as_of=future)
    assert result.failed == {}
    for c in crm.people:
        assert _versions(client, bucket, f"cc/recordings/{c.id}/call-1.wav") == []
    from sqlalchemy import select

    from honorbound.systems.models import SystemDisposal

    with rt.db.session() as session:
        docs = [
            json.loads(e.certificate or "{}")
            for e in session.scalars(
                select(SystemDisposal).where(SystemDisposal.collection == "recordings")
            )
        ]
    assert sum(d["objects_deleted"] for d in docs) == len(crm.people)
    assert sum(d["object_versions_deleted"] for d in docs) == 2 * len(crm.people)


# -- SFTP ---------------------------------------------------------------------------------------
@pytest.fixture
def sftp_root(tmp_path: Path, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    import asyncssh

    root = tmp_path / "sftp"
    fill_files(root, crm.people)
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

    def chrooted(chan: Any) -> Any:
        return asyncssh.SFTPServer(chan, chroot=str(root).encode())

    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(
            asyncssh.listen(
                "127.0.0.1",
                port,
                server_host_keys=[key],
                server_factory=Server,
                sftp_factory=chrooted,
            )
        )
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(20)
    monkeypatch.setenv("TEST_FILES_URL", f"sftp://exports@127.0.0.1:{port}/")
    monkeypatch.setenv("TEST_SFTP_PASSWORD", password)
    yield root
    loop.call_soon_threadsafe(holder["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_sftp_files_are_read_and_erased(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, crm: Crm, sftp_root: Path
) -> None:
    sftp_map = FILES_MAP.replace(
        "connection: {type: files, url_env: TEST_FILES_URL}",
        "connection: {type: files, url_env: TEST_FILES_URL, options: {look_for_keys: false, allow_agent: false}, "
        "secret_options: {password: {env: TEST_SFTP_PASSWORD}}}",
    )
    c, other = crm.people[2], crm.people[3]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, sftp_map)
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "completed", [(e.kind, e.details) for e in events]
    tickets = (sftp_root / "tickets" / "2026.jsonl").read_text()
    assert c.email not in tickets and other.email in tickets
    assert not (sftp_root / "recordings" / str(c.id) / "call-1.wav").exists()
    assert (sftp_root / "recordings" / str(other.id) / "call-1.wav").exists()
