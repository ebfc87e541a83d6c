from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.rights.models import RequestType

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"HONORBOUND_{name.upper()}" not in text]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def test_readme_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# -- docs that cannot go stale (issue 18): every command, route, setting and request type ------
def _documented_path(path: str, text: str) -> bool:
    """`path` (an OpenAPI path) appears in `text`, its `{parameters}` named freely."""
    pattern = re.sub(r"\\\{[^}]*\\\}", r"[^\\s`)]*", re.escape(path))
    return re.search(pattern + r"(?![\w/.-])", text) is not None


def test_every_api_route_is_documented(app) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    paths = app.openapi()["paths"]
    missing = [
        f"{'/'.join(sorted(m.upper() for m in ops))} {path}"
        for path, ops in paths.items()
        if not _documented_path(path, text)
    ]
    assert len(paths) > 50 and not missing, f"document these routes in docs/: {missing}"


def test_the_route_check_tells_a_documented_path_from_a_missing_one() -> None:
    text = "`POST /v1/requests/{id}/release` resumes; GET /v1/breach/incidents lists them."
    assert _documented_path("/v1/requests/{request_id}/release", text)
    assert _documented_path("/v1/breach/incidents", text)
    assert not _documented_path("/v1/requests/{request_id}/hold", text)
    assert not _documented_path("/v1/breach", text)  # a prefix is not the route


def test_every_environment_variable_the_code_names_is_documented() -> None:
    """Settings fields are covered above; this catches a variable named elsewhere (a provider's
    own, an error message's)."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    named = {
        name
        for path in (ROOT / "src" / "honorbound").rglob("*.py")
        for name in re.findall(r"HONORBOUND_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8"))
    }
    assert len(named) > 5
    missing = sorted(n for n in named if n not in text)
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_every_request_type_is_in_the_rights_table() -> None:
    text = (ROOT / "docs" / "rights.md").read_text(encoding="utf-8")
    table = text.split("## Request types", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    missing = sorted(t.value for t in RequestType if t.value not in listed)
    assert not missing, f"add a row for these request types to docs/rights.md: {missing}"


def test_every_command_has_help_and_the_cli_reference_is_generated_from_it() -> None:
    """docs/cli.md is `make docs` output (scripts/cli_docs.py, run in its own process so typer
    is imported in its plain-text mode); a command without a docstring fails here too."""
    root = typer.main.get_command(build_app())

    def walk(command: Any, path: str) -> list[tuple[str, str]]:
        found = [(path, (command.help or "").strip())]
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not sub.hidden:
                found += walk(sub, f"{path} {name}")
        return found

    commands = walk(root, "honorbound")
    assert len(commands) > 50
    silent = [path for path, text in commands if not text]
    assert not silent, f"give these commands a docstring: {silent}"
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    absent = [path for path, _ in commands if f"## `{path}`" not in reference]
    assert not absent, f"docs/cli.md lacks {absent}: run `make docs`"
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
