"""The architecture rules of style.md, checked on the source: domain packages never import the
adapters, and `detect` stands alone as a library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "honorbound"
ADAPTERS = ("honorbound.api", "honorbound.web", "honorbound.cli")
DOMAIN = (
    "accounts",
    "audit",
    "backup",
    "consent",
    "crypto",
    "db",
    "detect",
    "disclosures",
    "intents",
    "jobs",
    "notify",
    "policy",
    "recordings",
    "retention",
    "rights",
    "systems",
    "breach",
    "bpo",
    "vault",
)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", [p for p in DOMAIN if (SRC / p).is_dir()])
def test_domain_packages_do_not_import_adapters(package: str) -> None:
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules(package)
        for line, name in imports_of(path)
        if name.startswith(ADAPTERS)
    ]
    assert not offences, "\n".join(offences)


def test_detect_imports_nothing_else_from_honorbound() -> None:
    if not (SRC / "detect").is_dir():
        pytest.skip("the detect package is not there yet")
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("detect")
        for line, name in imports_of(path)
        if name.startswith("honorbound") and not name.startswith("honorbound.detect")
    ]
    assert not offences, "\n".join(offences)


def test_the_check_sees_an_offending_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from honorbound.api.deps import SessionDep\nimport honorbound.web\n")
    names = [name for _, name in imports_of(bad)]
    assert [n for n in names if n.startswith(ADAPTERS)] == ["honorbound.api.deps", "honorbound.web"]


def test_spark_stays_out_of_the_engine_and_off_the_adapters() -> None:
    """`honorbound.detect` never imports Spark (it is an optional extra), and the Spark job
    reuses domain code, not the command line or the API."""
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("detect")
        for line, name in imports_of(path)
        if name.split(".")[0] in ("pyspark", "py4j", "delta")
    ]
    offences += [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("spark")
        for line, name in imports_of(path)
        if name.startswith(ADAPTERS)
    ]
    assert not offences, "\n".join(offences)
