"""Every YAML parse is bounded: aliases refused (a 600-byte "billion laughs" is a 422 in well
under a second), nesting, node count, size and time capped, control characters a 422 naming
the line, and no parse runs while a write transaction holds the database."""

from __future__ import annotations

import sqlite3
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.policy import loader, yamlsource
from honorbound.policy.problems import DeclarationError
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant

YAML = {"Content-Type": "application/yaml"}


def alias_bomb() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    names = string.ascii_lowercase[:9]
    lines = [f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "schema: honorbound/declaration/v1\n" + "\n".join(lines) + "\n"


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb()) < 700


def test_alias_bomb_declaration_is_refused_at_once(client: TestClient, tenant: Tenant) -> None:
    started = time.monotonic()
    response = client.post(
        "/v1/policy/versions", content=alias_bomb().encode(), headers={**tenant.headers(), **YAML}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text
    assert "aliases" in response.text
    assert elapsed < 30.0  # main took minutes; a loaded machine may take a few seconds
    assert response.headers["content-type"].startswith("application/problem+json")


def test_alias_bomb_map_is_refused_at_once(client: TestClient, tenant: Tenant) -> None:
    started = time.monotonic()
    for method, path in (("PUT", "/v1/systems"), ("POST", "/v1/systems/check")):
        response = client.request(
            method,
            path,
            json={"map": "dataset:\n" + alias_bomb(), "file": "bomb.yaml"},
            headers=tenant.headers(Role.ADMIN),
        )
        assert response.status_code in (200, 422), response.text
        assert "aliases" in response.text
    assert time.monotonic() - started < 30.0


def test_a_single_alias_is_refused_with_its_line() -> None:
    with pytest.raises(DeclarationError) as caught:
        yamlsource.load_yaml("a: &x 1\nb: *x\n", "f.yaml")
    problem = caught.value.problems[0]
    assert problem.line == 2 and "aliases" in problem.message


def test_deep_nesting_is_refused() -> None:
    depth = yamlsource.MAX_DEPTH + 5
    with pytest.raises(DeclarationError) as caught:
        yamlsource.load_yaml("a: " + "[" * depth + "]" * depth + "\n", "f.yaml")
    assert "nested deeper" in caught.value.problems[0].message


def test_very_deep_nesting_is_refused_without_recursion_error() -> None:
    depth = 100_000
    with pytest.raises(DeclarationError):
        yamlsource.load_yaml("a: " + "[" * depth + "]" * depth + "\n", "f.yaml")


def test_too_many_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: [" + ",".join(["1"] * 1000) + "]\n"
    monkeypatch.setattr(yamlsource, "MAX_NODES", 500)
    with pytest.raises(DeclarationError) as caught:
        yamlsource.load_yaml(text, "f.yaml")
    assert "more than 500 values" in caught.value.problems[0].message


def test_too_large_is_refused() -> None:
    with pytest.raises(DeclarationError) as caught:
        yamlsource.load_yaml("a: 1\n" + "#" * (yamlsource.MAX_CHARS + 1), "f.yaml")
    assert "larger than" in caught.value.problems[0].message


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\ufffe"])
def test_control_character_is_a_422_naming_the_line(
    client: TestClient, tenant: Tenant, char: str
) -> None:
    text = f"schema: honorbound/declaration/v1\norganization:\n  name: Acme{char}\n"
    response = client.post(
        "/v1/policy/versions", content=text.encode(), headers={**tenant.headers(), **YAML}
    )
    assert response.status_code == 422, response.text
    assert "line 3" in response.text and "not allowed" in response.text


def _sqlite_file(runtime: Runtime) -> Path:
    url = runtime.settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        pytest.skip("the write lock is probed on the SQLite file")
    return Path(url.removeprefix("sqlite:///"))


def _lock_probe(
    db_file: Path, original: Callable[..., Any], seen: list[bool]
) -> Callable[..., Any]:
    """A wrapper around a parse that records whether another connection could take the write
    lock at that moment (False: something held a write transaction during the parse)."""

    def probing(*args: Any, **kwargs: Any) -> Any:
        probe = sqlite3.connect(db_file, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            seen.append(True)
        except sqlite3.OperationalError:
            seen.append(False)
        finally:
            probe.close()
        return original(*args, **kwargs)

    return probing


def test_no_parse_holds_the_write_lock(
    client: TestClient, runtime: Runtime, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_file = _sqlite_file(runtime)
    seen: list[bool] = []
    monkeypatch.setattr(loader, "load_yaml", _lock_probe(db_file, loader.load_yaml, seen))
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    response = client.post(
        "/v1/policy/versions", content=text.encode(), headers={**tenant.headers(), **YAML}
    )
    assert response.status_code == 201, response.text
    assert seen and all(seen), seen


def test_a_parse_past_the_time_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_SECONDS", 0.0)
    with pytest.raises(DeclarationError) as caught:
        yamlsource.load_yaml("a: [1, 2, 3]\nb: {c: 4}\n", "f.yaml")
    assert "took longer than" in caught.value.problems[0].message
