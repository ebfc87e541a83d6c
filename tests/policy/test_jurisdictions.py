"""The shipped US rules: loaded, validated, sourced, and overridable by a privacy officer."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest
import yaml

from honorbound.policy.jurisdictions import load_rules
from honorbound.policy.problems import DeclarationError


def test_shipped_rules_load_and_cover_the_reference_states() -> None:
    rules = load_rules()
    assert set(rules.states) == {
        "CA", "CO", "CT", "DE", "IA", "MT", "NE", "NH", "NJ", "OR", "TX", "UT", "VA", "TN",
        "MN", "MD", "IN", "KY", "RI", "OK", "LA", "AL", "VT",
    }  # fmt: skip


def test_rows_match_the_reference_table() -> None:
    rules = load_rules()
    assert rules.state("IA").respond_days == 90
    assert rules.state("IA").sensitive == "opt_out"
    assert rules.state("UT").sensitive == "opt_out"
    assert rules.state("CO").sensitive == "opt_in"
    assert rules.state("CT").appeal_days == 60
    assert rules.state("OR").appeal_days == 45
    assert rules.state("CA").appeal.required is False
    assert rules.state("CA").gpc_required(dt.date(2024, 1, 1))
    assert not rules.state("CO").gpc_required(dt.date(2024, 6, 30))
    assert rules.state("CO").gpc_required(dt.date(2024, 7, 1))
    assert [r.min_age for r in rules.state("CA").minor_rules(14)] == [13]


def test_every_row_has_a_source_and_doubtful_rows_are_unconfirmed() -> None:
    rules = load_rules()
    for code, row in rules.states.items():
        assert row.source.strip(), code
        if row.unconfirmed:
            assert row.confirmed is False, code
    # Rows the reference marks with "?": CO appeal deadline, MT appeal 60 ?, KY extension ?.
    assert "appeal.days" in rules.state("CO").unconfirmed
    assert rules.state("MT").confirmed is False
    assert rules.state("KY").confirmed is False
    assert rules.state("CT").confirmed is True


def test_unknown_state_is_a_clear_error() -> None:
    with pytest.raises(LookupError, match="no comprehensive privacy law rules for 'ZZ'"):
        load_rules().state("ZZ")


def test_override_file_replaces_one_row_and_keeps_the_rest(tmp_path: Path) -> None:
    override = tmp_path / "our-rules.yaml"
    override.write_text(
        "states:\n"
        "  VA:\n"
        "    appeal: {required: true, days: {days: 30, kind: calendar}}\n"
        "    source: counsel memo 2026-10\n"
        "    confirmed: true\n"
        "    unconfirmed: []\n",
        encoding="utf-8",
    )
    rules = load_rules(override)
    assert rules.state("VA").appeal_days == 30
    assert rules.state("VA").source == "counsel memo 2026-10"
    assert rules.state("VA").respond_days == 45  # untouched fields come from the shipped row
    assert rules.state("CA") == load_rules().state("CA")


def test_bad_override_names_the_override_file_and_line(tmp_path: Path) -> None:
    override = tmp_path / "our-rules.yaml"
    override.write_text(
        "states:\n  UT:\n    respond: {days: -3, kind: calendar}\n    sensitive: opt-in\n",
        encoding="utf-8",
    )
    with pytest.raises(DeclarationError) as info:
        load_rules(override)
    messages = [str(p) for p in info.value.problems]
    assert f"{override}:3: states.UT.respond.days: input should be greater than or equal to 0" in (
        messages
    ), messages
    assert any(m.startswith(f"{override}:4: states.UT.sensitive") for m in messages), messages


def test_override_that_is_not_a_mapping(tmp_path: Path) -> None:
    override = tmp_path / "our-rules.yaml"
    override.write_text("- CA\n", encoding="utf-8")
    with pytest.raises(DeclarationError) as info:
        load_rules(override)
    assert [str(p) for p in info.value.problems] == [
        f"{override}:1: an override file is a YAML mapping"
    ]


def test_shipped_file_is_plain_yaml_with_schema() -> None:
    text = resources.files("honorbound.policy").joinpath("data/us-rules.yaml").read_text("utf-8")
    assert yaml.safe_load(text)["schema"] == "honorbound/jurisdiction-rules/v1"


def test_bad_per_type_limit_names_the_field(tmp_path: Path) -> None:
    override = tmp_path / "our-rules.yaml"
    override.write_text(
        "states:\n  CO:\n    free_requests_by_type:\n"
        "      - {types: [portability], count: 2, window: fortnight, source: memo}\n"
        "      - {types: [], count: -1, window: calendar_year, source: memo}\n",
        encoding="utf-8",
    )
    with pytest.raises(DeclarationError) as info:
        load_rules(override)
    messages = [str(p) for p in info.value.problems]
    assert f"{override}:4: states.CO.free_requests_by_type[0].window: input should be " in (
        " ".join(messages)
    ), messages
    assert any(
        m.startswith(f"{override}:5: states.CO.free_requests_by_type[1].types") for m in messages
    )
    assert any(
        m.startswith(f"{override}:5: states.CO.free_requests_by_type[1].count") for m in messages
    )
