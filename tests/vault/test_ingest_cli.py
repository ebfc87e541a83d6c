"""`honorbound ingest FILE`: the bulk endpoint's results line by line, from a file or stdin,
and unusable input refused with exit 2 and one sentence before anything is stored."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.collection import bulk as ingest
from honorbound.config import Settings
from honorbound.runtime import Runtime
from honorbound.vault.models import Interaction
from tests.conftest import adopt_example, make_tenant
from tests.vault.test_bulk_ingest import _bodies, _post_bulk, _subject


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def _stored(runtime: Runtime) -> int:
    with runtime.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Interaction)) or 0)


def _strip(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "id"}  # new rows, new ids


def test_the_cli_answers_each_line_as_the_bulk_endpoint_does(
    client: TestClient,
    runtime: Runtime,
    cli_env: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingest, "BATCH", 5)  # several batches, refused lines inside each
    fake = Faker("en_US")
    fake.seed_instance(2224)
    tenant = make_tenant(runtime, "cli-ingest")
    adopt_example(runtime, tenant.id)
    subjects = [_subject(client, tenant) for _ in range(3)]
    lines = [
        body if isinstance(body, str) else json.dumps({**body, "subject_id": sid})
        for sid, body in _bodies(fake, subjects, 45)
    ]
    lines[0] = json.dumps({**json.loads(lines[0]), "subject_id": subjects[0]})  # a JSON start
    over_http = _post_bulk(client, tenant, lines)
    before = _stored(runtime)

    source = tmp_path / "interactions.ndjson"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results.ndjson"
    r = cli_env.invoke(cli, ["ingest", str(source), "--org", tenant.slug, "--results", str(out)])
    assert r.exit_code == 1, r.output  # some lines are refused on purpose
    from_cli = [json.loads(line) for line in out.read_text().splitlines()]
    assert [_strip(x) for x in from_cli] == [_strip(x) for x in over_http]
    stored = sum(1 for x in over_http if x["status"] == 201)
    assert 0 < stored < len(lines)
    assert _stored(runtime) == before + stored
    assert f"{stored} stored, {len(lines) - stored} refused" in r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    # Standard input, results on stdout: the same answers once more.
    good = [line for line, x in zip(lines, over_http, strict=True) if x["status"] == 201]
    r = cli_env.invoke(cli, ["ingest", "-", "--org", tenant.slug], input="\n".join(good))
    assert r.exit_code == 0, r.output
    answered = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [x["status"] for x in answered] == [201] * len(good)
    assert _stored(runtime) == before + 2 * stored


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'[{"subject_id": 1}]\n', "first line is not a JSON object"),
        (b"subject_id,channel\n1,chat\n", "first line is not a JSON object"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data"),
        (b'{"subject_id": 1,\n', "first line is not valid JSON"),
    ],
)
def test_input_that_is_not_ndjson_exits_2_and_stores_nothing(
    runtime: Runtime, cli_env: CliRunner, tmp_path: Path, content: bytes, says: str
) -> None:
    tenant = make_tenant(runtime, "cli-bad")
    source = tmp_path / "bad.ndjson"
    source.write_bytes(content)
    before = _stored(runtime)
    r = cli_env.invoke(cli, ["ingest", str(source), "--org", tenant.slug])
    assert r.exit_code == 2, r.output
    assert says in r.output and "is not NDJSON" in r.output
    assert "Traceback" not in r.output
    assert _stored(runtime) == before


def test_a_missing_file_or_organization_exits_2(
    runtime: Runtime, cli_env: CliRunner, tmp_path: Path
) -> None:
    r = cli_env.invoke(cli, ["ingest", str(tmp_path / "nowhere.ndjson"), "--org", "x"])
    assert r.exit_code == 2 and "no such file" in r.output
    source = tmp_path / "ok.ndjson"
    source.write_text('{"subject_id": 1}\n')
    r = cli_env.invoke(cli, ["ingest", str(source), "--org", "no-such-org"])
    assert r.exit_code == 2 and "no organization with slug" in r.output


def test_a_line_over_the_limit_is_refused_alone_without_being_kept(
    client: TestClient,
    runtime: Runtime,
    cli_env: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HONORBOUND_MAX_BODY_BYTES", "4096")
    tenant = make_tenant(runtime, "cli-long")
    adopt_example(runtime, tenant.id)
    body = {"subject_id": _subject(client, tenant), "channel": "chat", "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    huge = json.dumps({**body, "text": "x" * 300_000})  # several read chunks long
    source = tmp_path / "long.ndjson"
    source.write_text("\n".join([json.dumps(body), huge, json.dumps(body)]))
    r = cli_env.invoke(cli, ["ingest", str(source), "--org", tenant.slug])
    assert r.exit_code == 1, r.output
    answered = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [(x["line"], x["status"]) for x in answered] == [(1, 201), (2, 413), (3, 201)]
