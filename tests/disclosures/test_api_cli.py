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
from honorbound.consent.identity import identify
from honorbound.consent.ledger import record as record_choice
from honorbound.disclosures.models import Disclosure
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.retention.factory import ADMIN, add_records, add_subject, adopt, days_ago, fake_email


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def _ledger(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Disclosure)) or 0)


def test_api_check_record_and_reports(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    email = fake_email()
    out = add_subject(runtime, tenant.id, email=email)
    ok = add_subject(runtime, tenant.id)
    with runtime.db.session() as session:
        record_choice(
            session, tenant.id, identify(runtime.vault_keys, tenant.id, email),
            "sale", "all", "opt_out", "web_form", ADMIN,
        )  # fmt: skip
    officer = tenant.headers(Role.PRIVACY_OFFICER)
    body = {"recipient": "listco", "categories": ["user.contact"], "purpose": "direct-mail",
            "subject_ids": [out, ok]}  # fmt: skip
    check = client.post("/v1/disclosures/check", json=body, headers=officer)
    assert check.status_code == 200, check.text
    assert check.json()["allowed"] == {str(ok): ["user.contact"]}
    assert check.json()["reasons"][0]["code"] == "subject_opted_out_of_sale"
    assert (
        client.post(
            "/v1/disclosures/check", json=body, headers=tenant.headers(Role.AGENT)
        ).status_code
        == 403
    )
    assert _ledger(runtime) == 0  # a check writes nothing

    refused = client.post("/v1/disclosures", json={**body, "recipient": "nobody"}, headers=officer)
    assert (
        refused.status_code == 422
        and refused.json()["reasons"][0]["code"] == "recipient_not_declared"
    )
    both = client.post("/v1/disclosures", json={**body, "aggregate_count": 3}, headers=officer)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "body.subject_ids"
    extra = client.post("/v1/disclosures", json={**body, "secret": 1}, headers=officer)
    assert extra.status_code == 422
    assert _ledger(runtime) == 0

    made = client.post("/v1/disclosures", json=body, headers=officer)
    assert made.status_code == 201, made.text
    assert (
        made.json()["disclosure"]["subject_count"] == 1
        and made.json()["disclosure"]["basis"] == "sale"
    )

    subpoena = {"recipient": "courts", "categories": ["user.contact"], "purpose": "support",
                "subject_ids": [out]}  # fmt: skip
    missing = client.post("/v1/disclosures", json=subpoena, headers=officer)
    assert (
        missing.status_code == 422
        and missing.json()["errors"][0]["field"] == "body.legal_reference"
    )
    legal = client.post(
        "/v1/disclosures", json={**subpoena, "legal_reference": "Subpoena 77"}, headers=officer
    )
    assert legal.status_code == 201, legal.text

    auditor = tenant.headers(Role.AUDITOR)
    received = client.get(f"/v1/disclosures/received?subject_id={out}", headers=auditor).json()
    assert [(r["recipient_id"], r["basis"]) for r in received] == [("courts", "legal_process")]
    log = client.get("/v1/disclosures/legal-process", headers=auditor).json()
    assert [d["legal_reference"] for d in log] == ["Subpoena 77"]
    stl = client.get(f"/v1/disclosures/shine-the-light?subject_id={ok}", headers=auditor)
    assert stl.status_code == 200 and stl.json()["recipients"] == []  # this year's, not last year's
    assert len(client.get("/v1/disclosures", headers=auditor).json()) == 2
    assert client.get("/v1/disclosures", headers=other_tenant.headers(Role.AUDITOR)).json() == []
    assert (
        client.get(
            f"/v1/disclosures/received?subject_id={out}", headers=other_tenant.headers()
        ).json()
        == []
    )


def test_cli_export_and_reports(
    cli_env: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, "user.contact.postal_address", [days_ago(2)])
    add_records(runtime, tenant.id, a, "user.biometric.health", [days_ago(2)])
    org = ["--org", tenant.slug]
    target = tmp_path / "crm.jsonl"
    done = cli_env.invoke(
        cli,
        ["export", "--to", "crm", "--categories", "user.contact,user.biometric.health",
         "--purpose", "support", "--out", str(target), *org],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["category"] for r in lines[0]["records"]} == {
        "user.contact.email", "user.contact.postal_address", "user.biometric.health",
    }  # fmt: skip
    bad = cli_env.invoke(
        cli,
        ["export", "--to", "adnet", "--categories", "user.biometric.health",
         "--purpose", "partner-marketing", "--out", str(tmp_path / "ad.jsonl"), *org],
    )  # fmt: skip
    assert bad.exit_code == 2 and "'adnet'" in bad.output and "nothing written" in bad.output
    assert not (tmp_path / "ad.jsonl").exists()
    refused = cli_env.invoke(
        cli,
        ["export", "--to", "nobody", "--categories", "user.contact", "--purpose", "support",
         "--out", str(tmp_path / "n.jsonl"), *org],
    )  # fmt: skip
    assert refused.exit_code == 2 and "not declared" in refused.output
    assert not (tmp_path / "n.jsonl").exists()
    basis = cli_env.invoke(
        cli,
        ["export", "--to", "crm", "--categories", "user.contact", "--purpose", "support",
         "--basis", "gift", "--out", str(tmp_path / "g.jsonl"), *org],
    )  # fmt: skip
    assert basis.exit_code == 2 and "--basis" in basis.output
    assert _ledger(runtime) == 1

    who = cli_env.invoke(cli, ["report", "who-received", "--subject", str(a), *org])
    assert who.exit_code == 0 and "CRM Hosting" in who.output
    stl = cli_env.invoke(cli, ["report", "shine-the-light", "--subject", str(a), *org])
    assert stl.exit_code == 0 and "did not disclose" in stl.output
    legal = cli_env.invoke(cli, ["report", "legal-process", *org])
    assert legal.exit_code == 0
