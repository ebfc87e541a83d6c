"""`honorbound policy ...` through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant

CC1 = EXAMPLE_POLICIES / "contact-center-1-2024.yaml"


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_check_valid_files_exit_0(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["policy", "check", *map(str, sorted(EXAMPLE_POLICIES.glob("*.yaml")))]
    )
    assert result.exit_code == 0, result.output
    assert f"{CC1}: ok" in result.output


def test_check_prints_file_line_message_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "notice.yaml"
    text = CC1.read_text(encoding="utf-8").replace(
        "use: marketing.communications.email", "use: marketing.communication.email"
    )
    bad.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    use: marketing.communication.email") + 1
    result = runner.invoke(cli, ["policy", "check", str(bad), str(CC1)])
    assert result.exit_code == 1
    assert (
        f"{bad}:{line}: data use 'marketing.communication.email' is not in the taxonomy; "
        "did you mean 'marketing.communications.email'?"
    ) in result.output
    assert f"{CC1}: ok" in result.output


def test_check_strict_fails_on_warnings(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["policy", "check", "--strict", str(CC1)])
    assert result.exit_code == 1 and "warning: recipient 'meta'" in result.output


def test_check_with_a_bad_rules_file(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("states:\n  CA:\n    respond: {days: soon, kind: calendar}\n")
    result = runner.invoke(cli, ["policy", "check", "--rules", str(rules), str(CC1)])
    assert result.exit_code == 1
    assert f"{rules}:3: states.CA.respond.days:" in result.output


def test_messages_with_brackets_are_printed_verbatim(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "notice.yaml"
    text = CC1.read_text(encoding="utf-8").replace(
        "  - id: client-data\n    categories: all\n", "  - id: client-data\n    categories: every\n"
    )
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert "must be `all` or a list; write `all` or `[key, ...]`" in result.output


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_render_to_file_and_stdout(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "notice.html"
    result = runner.invoke(
        cli, ["policy", "render", str(CC1), "--format", "html", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text().count('<table class="category"') == 12
    md = runner.invoke(cli, ["policy", "render", str(CC1), "--format", "md"])
    assert md.exit_code == 0 and md.output.startswith("# Contact Center 1 US Privacy Notice")
    bad = runner.invoke(cli, ["policy", "render", str(CC1), "--format", "pdf"])
    assert bad.exit_code == 2 and "--format must be one of html, md" in bad.output


def test_diff_lists_material_changes(runner: CliRunner, tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(CC1.read_text(encoding="utf-8").replace("minimum_age: 16", "minimum_age: 13")
                   .replace("period: P6Y", "period: P10Y"))  # fmt: skip
    result = runner.invoke(cli, ["policy", "diff", str(CC1), str(new)])
    assert result.exit_code == 0, result.output
    assert "[material] category 'user.contact' of subject type 'user' may be kept longer" in (
        result.output
    )
    assert "[minor] 'children' changed" in result.output
    same = runner.invoke(cli, ["policy", "diff", str(CC1), str(CC1)])
    assert "no changes" in same.output


def test_adopt_and_versions(
    runner: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["policy", "adopt", str(CC1), "--org", tenant.slug])
    assert result.exit_code == 0, result.output
    assert "adopted version 1" in result.output
    again = runner.invoke(cli, ["policy", "adopt", str(CC1), "--org", tenant.slug])
    assert "already adopted as version 1" in again.output
    new = tmp_path / "new.yaml"
    new.write_text(CC1.read_text(encoding="utf-8").replace("period: P6Y", "period: P10Y"))
    changed = runner.invoke(cli, ["policy", "adopt", str(new), "--org", tenant.slug])
    assert changed.exit_code == 0, changed.output
    assert "adopted version 2" in changed.output and "material change" in changed.output
    listed = runner.invoke(cli, ["policy", "versions", "--org", tenant.slug])
    lines = listed.output.strip().splitlines()
    assert lines[0].startswith("version") and lines[1].startswith("1\t2024-07-23")
    assert lines[2].startswith("2\t") and lines[2].endswith("material")
    unknown = runner.invoke(cli, ["policy", "versions", "--org", "nobody"])
    assert unknown.exit_code == 2 and "no organization with slug 'nobody'" in unknown.output


def test_adopt_invalid_file_adopts_nothing(
    runner: CliRunner, tenant: Tenant, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CC1.read_text(encoding="utf-8").replace("minimum_age: 16", "minimum_age: old"))
    result = runner.invoke(cli, ["policy", "adopt", str(bad), "--org", tenant.slug])
    assert (
        result.exit_code == 1
        and f"{bad}:" in result.output
        and "children.minimum_age" in result.output
    )
    listed = runner.invoke(cli, ["policy", "versions", "--org", tenant.slug])
    assert "no version adopted yet" in listed.output


def test_rules_command(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["policy", "rules"])
    assert result.exit_code == 0 and "23 states" in result.output
    assert "OK 2027-01-01" in result.output and "breach rules for 52 jurisdictions" in result.output
    override = tmp_path / "ours.yaml"
    override.write_text("states:\n  VA:\n    confirmed: true\n    unconfirmed: []\n")
    assert (
        "VA"
        not in runner.invoke(cli, ["policy", "rules", str(override)]).output.split("unconfirmed:")[
            1
        ]
    )


def test_adopt_prints_the_state_rule_warnings(
    runner: CliRunner, tenant: Tenant, tmp_path: Path
) -> None:
    slower = tmp_path / "slower.yaml"
    slower.write_text(
        CC1.read_text(encoding="utf-8").replace("response_days: 45", "response_days: 60", 1)
    )
    result = runner.invoke(cli, ["policy", "adopt", str(slower), "--org", tenant.slug])
    assert result.exit_code == 0, result.output
    assert "adopted version 1" in result.output
    assert f"{slower}:" in result.output and "warning: " in result.output
    assert "allows 45" in result.output


def test_check_lists_the_applicable_laws_and_unconfirmed_rules(
    runner: CliRunner, tmp_path: Path
) -> None:
    notice = tmp_path / "notice.yaml"
    notice.write_text(
        CC1.read_text(encoding="utf-8").replace(
            "\nchildren:",
            "\napplicability:\n  consumers_by_state: {CO: 150000}\n  annual_revenue_usd: 1000\n"
            "  small_business: true\n  employees: 40\n  nonprofit: false\nchildren:",
            1,
        )
    )
    result = runner.invoke(cli, ["policy", "check", "--on", "2026-12-02", str(notice)])
    assert result.exit_code == 0, result.output
    assert "laws on 2026-12-02, from the declared facts" in result.output
    assert "applies: CO Colorado Privacy Act: meets the threshold" in result.output
    assert (
        "does not apply: " in result.output and "CA" in result.output.split("does not apply: ")[1]
    )
    assert "not confirmed (verify before relying on them): CO: appeal.days" in result.output
    assert "obligations:" in result.output


def test_rules_markdown_is_the_docs_table(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["policy", "rules", "--markdown"])
    assert result.exit_code == 0
    assert result.output.startswith("<!-- rules-table:start")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "jurisdiction-rules.md").read_text()
    assert result.output in docs
