from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.retention.models import LegalHold
from honorbound.runtime import Runtime
from honorbound.vault.models import Record
from tests.conftest import Tenant
from tests.retention.factory import add_records, add_subject, adopt, days_ago

REC = "user.contact_center.call_recording"


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def _records(runtime: Runtime, org: int) -> int:
    with runtime.db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Record).where(Record.organization_id == org)
            )
            or 0
        )


def test_api_due_sweep_holds_and_certificates(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(100), days_ago(120), days_ago(1)])
    admin, auditor, agent = (tenant.headers(r) for r in (Role.ADMIN, Role.AUDITOR, Role.AGENT))

    due = client.get("/v1/retention/due", headers=auditor)
    assert due.status_code == 200
    step = next(
        s
        for s in due.json()["steps"]
        if s["rule"] == "recordings" and s["action"] == "delete_records"
    )
    assert (step["records"], step["subjects"]) == (2, 1)
    assert [n["trigger"] for n in due.json()["not_enforced"]] == ["while_necessary"]
    assert client.get("/v1/retention/due", headers=agent).status_code == 403

    bad = client.post(
        "/v1/retention/holds",
        json={"reason": "x", "owner": "o", "category": "Not A Key"},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.category"
    extra = client.post(
        "/v1/retention/holds", json={"reason": "x", "owner": "o", "colour": 1}, headers=admin
    )
    assert extra.status_code == 422
    hold = client.post(
        "/v1/retention/holds",
        json={"reason": "case 1", "owner": "legal", "subject_id": a},
        headers=admin,
    )
    assert hold.status_code == 201, hold.text
    hold_id = hold.json()["id"]
    foreign = client.post(
        f"/v1/retention/holds/{hold_id}/release",
        json={"reason": "x"},
        headers=other_tenant.headers(),
    )
    assert foreign.status_code == 404

    queued = client.post("/v1/retention/sweep", headers=admin)  # jobs run immediately in tests
    assert queued.status_code == 202
    assert _records(runtime, tenant.id) == 3
    no_reason = client.post(f"/v1/retention/holds/{hold_id}/release", json={}, headers=admin)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "body.reason"
    released = client.post(
        f"/v1/retention/holds/{hold_id}/release", json={"reason": "settled"}, headers=admin
    )
    assert released.status_code == 200 and released.json()["released_at"]
    again = client.post(
        f"/v1/retention/holds/{hold_id}/release", json={"reason": "settled"}, headers=admin
    )
    assert again.status_code == 409
    assert client.post("/v1/retention/sweep", headers=admin).status_code == 202
    assert _records(runtime, tenant.id) == 1

    log = client.get("/v1/retention/disposals", headers=auditor).json()
    assert [e["records"] for e in log] == [2]
    runs = client.get("/v1/retention/runs", headers=auditor).json()
    assert [r["status"] for r in runs] == ["finished", "finished"]
    assert runs[1]["summary"]["held_back"]["recordings:after_collection:" + REC] == 2
    assert client.get("/v1/retention/disposals", headers=other_tenant.headers()).json() == []
    pem = client.get("/v1/retention/public-key", headers=auditor).text
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_api_withdrawal(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    s = add_subject(runtime, tenant.id, "job-applicant")
    ok = client.post(
        "/v1/retention/withdrawals",
        json={"subject_id": s, "source": "email"},
        headers=tenant.headers(),
    )
    assert ok.status_code == 201 and ok.json()["created"] is True
    bad = client.post(
        "/v1/retention/withdrawals",
        json={"subject_id": s, "source": "fax"},
        headers=tenant.headers(),
    )
    assert bad.status_code == 422 and "source" in json.dumps(bad.json()["errors"])
    foreign = client.post(
        "/v1/retention/withdrawals", json={"subject_id": s}, headers=other_tenant.headers()
    )
    assert foreign.status_code == 404


def test_cli_dry_run_sweep_holds_and_offline_certificate_check(
    cli_env: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(100), days_ago(200)])
    org = ["--org", tenant.slug]

    dry = cli_env.invoke(cli, ["retention", "sweep", "--dry-run", *org])
    assert dry.exit_code == 0, dry.output
    assert "recordings" in dry.output and "2 record(s) due" in dry.output
    assert "while_necessary" in dry.output
    assert _records(runtime, tenant.id) == 2

    bad = cli_env.invoke(
        cli,
        [
            "retention",
            "holds",
            "place",
            "--reason",
            "x",
            "--owner",
            "o",
            "--collected-from",
            "yesterday",
            *org,
        ],
    )
    assert bad.exit_code == 2 and "--collected-from" in bad.output
    placed = cli_env.invoke(
        cli,
        [
            "retention",
            "holds",
            "place",
            "--reason",
            "case 9",
            "--owner",
            "legal",
            "--category",
            "user.contact_center",
            *org,
        ],
    )
    assert placed.exit_code == 0, placed.output
    done = cli_env.invoke(cli, ["retention", "sweep", *org])
    assert "disposed of 0 record(s)" in done.output and "held back by legal holds: 2" in done.output
    with runtime.db.session() as session:
        hold_id = session.scalar(select(LegalHold.id))
    released = cli_env.invoke(
        cli, ["retention", "holds", "release", str(hold_id), "--reason", "closed", *org]
    )
    assert released.exit_code == 0, released.output
    done = cli_env.invoke(cli, ["retention", "sweep", *org])
    assert done.exit_code == 0 and "disposed of 2 record(s)" in done.output

    log = cli_env.invoke(cli, ["retention", "log", *org])
    entry_id = log.output.split("\n")[3].split()[1]
    cert = tmp_path / "cert.json"
    key = tmp_path / "org.pem"
    assert (
        cli_env.invoke(
            cli, ["retention", "certificate", entry_id, "--out", str(cert), *org]
        ).exit_code
        == 0
    )
    key.write_text(cli_env.invoke(cli, ["retention", "public-key", *org]).output)

    # Offline: no database settings at all.
    offline = CliRunner()
    ok = offline.invoke(
        cli,
        ["retention", "verify-certificate", str(cert), "--public-key", str(key)],
        env={"HONORBOUND_DATABASE_URL": "sqlite:////nonexistent/x.db"},
    )
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output and "2 record(s)" in ok.output
    doc = json.loads(cert.read_text())
    doc["certificate"]["records"] = 1
    cert.write_text(json.dumps(doc))
    tampered = offline.invoke(
        cli, ["retention", "verify-certificate", str(cert), "--public-key", str(key)]
    )
    assert tampered.exit_code == 1 and "INVALID" in tampered.output
    cert.write_text("{not json")
    broken = offline.invoke(
        cli, ["retention", "verify-certificate", str(cert), "--public-key", str(key)]
    )
    # rich wraps a long path at the terminal's width
    assert broken.exit_code == 2 and "cert.json:1" in broken.output.replace("\n", "")
