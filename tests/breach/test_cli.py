"""The command line walks the same steps; bad input exits 2 with one sentence."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_cli_record_select_deadlines_notify_report(
    rt: Runtime, org: Tenant, cli_env: CliRunner
) -> None:
    resident(rt, org.id, "NY")
    resident(rt, org.id, "TX", email=False)
    base = ["breach", "record", "--title", "Phishing", "--owner", "Privacy Office", "--org",
            org.slug, "--category", "user.contact"]  # fmt: skip
    r = cli_env.invoke(cli, base)
    assert r.exit_code == 2 and "discovered-at" in r.output  # the option is required
    r = cli_env.invoke(cli, [*base, "--discovered-at", "2026-11-02 15:00"])
    assert r.exit_code == 2 and "--discovered-at: needs a time zone" in r.output
    r = cli_env.invoke(cli, [*base, "--discovered-at", "2026-11-02T15:00:00Z"])
    assert r.exit_code == 0, r.output
    assert "incident 1 recorded" in r.output

    r = cli_env.invoke(cli, ["breach", "select", "1", "--system", "nowhere", "--org", org.slug])
    assert r.exit_code == 2 and "matches nobody" in r.output
    r = cli_env.invoke(cli, ["breach", "select", "1", "--category", "user.contact", "--org",
                             org.slug])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2 affected: NY 1, TX 1" in r.output

    r = cli_env.invoke(cli, ["breach", "deadlines", "1", "--org", org.slug])
    assert r.exit_code == 0, r.output
    assert "2026-12-02 15:00" in r.output  # NY: 30 days
    # Each line says whether the rule is confirmed; unverified content and contacts follow.
    ny = next(line for line in r.output.splitlines() if "residents of NY" in line)
    assert "confirmed (rules-review-2026-12.md s.1.8)" in ny
    assert "UNVERIFIED contact [NY] New York Attorney General" in r.output
    assert "confirm with counsel" in r.output

    r = cli_env.invoke(cli, ["breach", "notify", "1", "--org", org.slug, "--language", "es"])
    assert r.exit_code == 0, r.output
    assert "queued 1 email(s), 1 letter(s)" in r.output
    r = cli_env.invoke(cli, ["breach", "notify", "1", "--org", org.slug, "--language", "xx"])
    assert r.exit_code == 2 and "--language: is one of en, es" in r.output

    r = cli_env.invoke(cli, ["breach", "report", "1", "--json", "--org", org.slug])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["by_state"] == {"NY": 1, "TX": 1}
    assert any(
        d["state"] == "TX" and d["who"] == "Attorney General" and not d["required"]
        for d in data["deadlines"]
    )
    r = cli_env.invoke(cli, ["breach", "report", "7", "--org", org.slug])
    assert r.exit_code == 2 and "no incident 7" in r.output
