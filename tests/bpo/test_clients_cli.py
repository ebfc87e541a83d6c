"""`honorbound clients`: the same onboarding from the command line; bad input exits 2 with one
sentence and changes nothing; the offboarding certificate verifies offline with the
retention commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def _orgs(runtime: Runtime) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM organizations")).scalar_one())


def test_cli_walk(runtime: Runtime, tenant: Tenant, cli_env: CliRunner, tmp_path: Path) -> None:
    notice = EXAMPLE_POLICIES / "contact-center-1-2024.yaml"
    add = ["clients", "add", "--bpo", tenant.slug, "--slug", "acme", "--name", "Acme",
           "--contact", "privacy@acme.example"]  # fmt: skip
    r = cli_env.invoke(cli, [*add, "--notice", str(notice)])
    assert r.exit_code == 0, r.output
    before = _orgs(runtime)
    for bad, words in (
        (add, "taken"),
        ([*add[:5], "Not A Slug", *add[6:]], "slug must"),
        ([*add[:7], "x" * 201, *add[8:]], "under 200"),
        ([*add[:9], "nobody"], "email address"),
        (["clients", "add", "--bpo", "no-such-bpo", *add[4:]], "no organization"),
        ([*add[:5], "beta", *add[6:], "--notice", str(tmp_path / "missing.yaml")], "no such file"),
    ):
        r = cli_env.invoke(cli, bad)
        assert r.exit_code == 2 and words in r.output, (bad, r.output)
    assert _orgs(runtime) == before
    r = cli_env.invoke(cli, ["clients", "list", "--bpo", tenant.slug])
    assert "acme\tactive\tAcme" in r.output
    r = cli_env.invoke(cli, ["clients", "key", "--bpo", tenant.slug, "--client", "acme",
                             "--role", "client", "--name", "CRM"])  # fmt: skip
    assert r.exit_code == 0 and "hb_" in r.output, r.output
    r = cli_env.invoke(cli, ["clients", "key", "--bpo", tenant.slug, "--client", "nope",
                             "--role", "client", "--name", "CRM"])  # fmt: skip
    assert r.exit_code == 2 and "no client with slug 'nope'" in r.output
    r = cli_env.invoke(cli, ["clients", "invite", "--bpo", tenant.slug, "--client", "acme",
                             "--email", "new.user@acme.example", "--role", "agent"])  # fmt: skip
    assert r.exit_code == 0 and "/invite/" in r.output, r.output
    r = cli_env.invoke(cli, ["clients", "grant", "--bpo", tenant.slug, "--client", "acme",
                             "--username", "new.user@acme.example", "--role", "agent"])  # fmt: skip
    assert r.exit_code == 2 and "already a member" in r.output
    out = tmp_path / "handover"
    r = cli_env.invoke(cli, ["clients", "offboard", "--bpo", tenant.slug, "--client", "acme",
                             "--out", str(out)])  # fmt: skip
    assert r.exit_code == 2 and "Disable the client" in r.output and not out.exists()
    r = cli_env.invoke(cli, ["clients", "disable", "--bpo", tenant.slug, "--client", "acme"])
    assert r.exit_code == 0 and "1 API key(s) revoked" in r.output, r.output
    r = cli_env.invoke(cli, ["clients", "offboard", "--bpo", tenant.slug, "--client", "acme",
                             "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    certificate = out / "acme-offboarding-certificate.json"
    r = cli_env.invoke(cli, ["retention", "public-key", "--org", "acme"])
    (tmp_path / "acme.pem").write_text(r.output)
    r = cli_env.invoke(cli, ["retention", "verify-certificate", str(certificate),
                             "--public-key", str(tmp_path / "acme.pem")])  # fmt: skip
    assert r.exit_code == 0 and "valid: client acme offboarded by org-a" in r.output, r.output
    # Changed by a byte: the offline check says so.
    certificate.write_text(certificate.read_text().replace('"subjects": 0', '"subjects": 1'))
    r = cli_env.invoke(cli, ["retention", "verify-certificate", str(certificate),
                             "--public-key", str(tmp_path / "acme.pem")])  # fmt: skip
    assert r.exit_code == 1 and "INVALID" in r.output
