from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from honorbound.config import ConfigError, load_settings


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HONORBOUND_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.port == 8000


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("HONORBOUND_PORT", "eighty", "HONORBOUND_PORT"),
        ("HONORBOUND_PORT", "70000", "HONORBOUND_PORT"),
        ("HONORBOUND_MASTER_KEY", "abc", "HONORBOUND_MASTER_KEY must be 64 hexadecimal"),
        ("HONORBOUND_DATABASE_URL", "honorbound.db", "HONORBOUND_DATABASE_URL must be a URL"),
        ("HONORBOUND_SMTP_URL", "mail.example:25", "HONORBOUND_SMTP_URL must start with"),
        ("HONORBOUND_LOG_LEVEL", "LOUD", "HONORBOUND_LOG_LEVEL"),
        ("HONORBOUND_SECRET_KEY", "short", "HONORBOUND_SECRET_KEY must be at least 32"),
    ],
)
def test_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert expected in message
    assert message.count("\n") == 0


def test_unknown_setting_in_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "honorbound.toml"
    config.write_text("prot = 8000\n")
    with pytest.raises(ConfigError, match="HONORBOUND_PROT is not a known setting"):
        load_settings(config)


def test_toml_file_values_and_env_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "honorbound.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("HONORBOUND_PORT", "9002")
    settings = load_settings(config)
    assert settings.host == "0.0.0.0"
    assert settings.port == 9002


def test_broken_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "honorbound.toml"
    config.write_text("port = = 1\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(config)


def test_cli_stops_with_one_sentence(tmp_path: Path) -> None:
    env = {**os.environ, "HONORBOUND_PORT": "not-a-port", "HONORBOUND_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "honorbound", "db", "current"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HONORBOUND_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_override_is_checked_at_start_up(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    from honorbound.runtime import build_runtime, jurisdiction_rules

    assert jurisdiction_rules(settings).opt_out_deadlines  # the shipped rules load
    missing = settings.model_copy(update={"rules_file": tmp_path / "nope.yaml"})
    with pytest.raises(ConfigError, match="HONORBOUND_RULES_FILE: cannot read"):
        build_runtime(missing)
    bad = tmp_path / "rules.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"HONORBOUND_RULES_FILE: .*rules.yaml:1: "):
        build_runtime(settings.model_copy(update={"rules_file": bad}))
