"""Dataset maps: Fides' format read and written, `systems check` with FILE:LINE problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fideslang.models import Dataset
from tests.systems.conftest import CRM_MAP, FILES_MAP, HOOK_MAP, MANUAL_MAP, ROOT, Crm

from honorbound.systems.check import check_text, errors
from honorbound.systems.maps import dump_maps, effective_strategy, load_text

EXAMPLE = ROOT / "examples" / "systems" / "contact-center.yaml"


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in the text")


def test_the_example_maps_check_clean() -> None:
    assert errors(check_text(EXAMPLE.read_text(), str(EXAMPLE))) == []
    both = load_text(CRM_MAP)
    assert check_text(FILES_MAP, "files.yaml", known=both) == []
    assert check_text(CRM_MAP + HOOK_MAP[len("dataset:\n") :], "two.yaml") == []
    assert check_text(MANUAL_MAP, "manual.yaml") == []


def test_a_fides_dataset_file_loads_and_writes_back_as_fides_reads_it() -> None:
    """Written out, every dataset is still a valid fideslang Dataset (checked by fideslang
    itself), and reading it back gives the same map."""
    systems = load_text(CRM_MAP)
    written = dump_maps(systems)
    for doc in yaml.safe_load(written)["dataset"]:
        Dataset.model_validate(doc)
    again = load_text(written)
    assert [(s.key, [(c.name, c.fields) for c in s.collections]) for s in again] == [
        (s.key, [(c.name, c.fields) for c in s.collections]) for s in systems
    ]
    # Fides' older spelling `fidesops_meta` is read too.
    legacy = CRM_MAP.replace("fides_meta: {identity: email}", "fidesops_meta: {identity: email}")
    crm = load_text(legacy)[0]
    customers = crm.collection("customers")
    assert customers is not None
    email = customers.field("email")
    assert email is not None and email.identity == "email"


def test_strategies_per_field() -> None:
    crm = load_text(CRM_MAP)[0]
    customers, orders = crm.collection("customers"), crm.collection("orders")
    assert customers is not None and orders is not None
    names = {f.name: effective_strategy(customers, f).name for f in customers.fields}
    assert names == {
        "id": "keep",
        "email": "null_rewrite",
        "phone": "hmac",
        "full_name": "string_rewrite",
        "note": "null_rewrite",
        "last_activity": "keep",
    }
    assert all(effective_strategy(orders, f).name == "delete" for f in orders.fields)


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (
            ("user.contact.email]", "user.contact.emial]"),
            "user.contact.emial",
            "category 'user.contact.emial' is not in the taxonomy; did you mean 'user.contact.email'?",
        ),
        (
            ("field: customers.id, direction: from", "field: customer.id, direction: from"),
            "field: customer.id",
            "reference to 'crm.customer.id', which no connected map declares",
        ),
        (
            ("strategy: hmac}", "strategy: hash}"),
            "strategy: hash",
            "strategy 'hash' is not one of null_rewrite, string_rewrite, hmac",
        ),
        (
            ("url_env: TEST_CRM_URL", "url: postgresql://crm:hunter2@db.internal/crm"),
            "hunter2",
            "the URL holds a password in clear",
        ),
        (
            ("retention_field: last_activity,", "retention_field: last_actvity,"),
            "last_actvity",
            "retention field 'last_actvity' is not a field of collection 'customers'; did you mean 'last_activity'?",
        ),
        (
            ("connection: {type: sql,", "connection: {type: sqll,"),
            "type: sqll",
            "connection.type",
        ),
    ],
)
def test_each_problem_names_its_line(change: tuple[str, str], needle: str, message: str) -> None:
    text = CRM_MAP.replace(*change)
    assert text != CRM_MAP
    problems = errors(check_text(text, "crm.yaml"))
    assert problems, text
    found = [p for p in problems if message in p.message]
    assert found, [str(p) for p in problems]
    assert found[0].file == "crm.yaml"
    assert found[0].line == _line_of(text, needle), str(found[0])


def test_unreachable_collection_is_refused_at_its_line() -> None:
    text = CRM_MAP.replace("fides_meta: {identity: email}", "fides_meta: {}").replace(
        "fides_meta: {identity: phone_number, masking_strategy_override: {strategy: hmac}}",
        "fides_meta: {masking_strategy_override: {strategy: hmac}}",
    )
    problems = errors(check_text(text, "crm.yaml"))
    lines = {p.line: p.message for p in problems}
    assert _line_of(text, "- name: customers") in lines
    assert _line_of(text, "- name: orders") in lines  # reached only through customers
    assert "cannot be reached from any identity" in lines[_line_of(text, "- name: orders")]


def test_bad_yaml_and_wrong_shapes_are_one_sentence_each() -> None:
    assert "not valid YAML" in str(check_text("dataset: [\n", "x.yaml")[0])
    assert "a map file is a YAML mapping with `dataset:`" in str(check_text("- 1\n", "x.yaml")[0])
    no_meta = "dataset:\n  - fides_key: crm\n    collections: []\n"
    assert "has no `meta.honorbound.connection`" in str(check_text(no_meta, "x.yaml")[0])
    unknown = CRM_MAP.replace("subject_type: user", "subject_typ: user")
    first = check_text(unknown, "x.yaml")[0]
    assert "unknown field 'subject_typ'" in first.message and "subject_type" in first.message
    assert first.line == _line_of(unknown, "subject_typ")


def test_live_check_finds_missing_tables_and_columns_and_unindexed_lookups(crm: Crm) -> None:
    assert check_text(CRM_MAP, "crm.yaml", live=True) == []
    crm.rows("DROP INDEX ix_orders_customer")
    problems = check_text(CRM_MAP, "crm.yaml", live=True)
    assert [p.severity for p in problems] == ["warning"]
    assert problems[0].line == _line_of(CRM_MAP, "- name: customer_id")
    assert "no index starts with column 'customer_id' of table 'orders'" in problems[0].message
    missing = CRM_MAP.replace("- name: orders", "- name: invoices")
    problems = errors(check_text(missing, "crm.yaml", live=True))
    assert any(
        "system 'crm': the map names table 'invoices', which is not in the database" in p.message
        and p.line == _line_of(missing, "- name: invoices")
        for p in problems
    ), [str(p) for p in problems]
    column = CRM_MAP.replace("- name: note", "- name: notes")
    problems = errors(check_text(column, "crm.yaml", live=True))
    assert problems and "table 'customers' has no column 'notes'" in problems[0].message
    assert problems[0].line == _line_of(column, "- name: notes")


def test_live_check_names_a_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_CRM_URL", raising=False)
    problems = check_text(CRM_MAP, "crm.yaml", live=True)
    assert len(problems) == 1
    assert "system 'crm', connection.url_env: the environment variable TEST_CRM_URL is not set" in (
        problems[0].message
    )


def test_cli_check_prints_file_line_and_exits_1(tmp_path: Path, crm: Crm) -> None:
    good = tmp_path / "crm.yaml"
    good.write_text(CRM_MAP)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CRM_MAP.replace("user.contact.email]", "user.contact.emial]"))
    run = subprocess.run(
        [sys.executable, "-m", "honorbound", "systems", "check", str(good), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert f"{good}: ok" in run.stdout
    line = _line_of(bad.read_text(), "user.contact.emial")
    assert f"{bad}:{line}: category 'user.contact.emial' is not in the taxonomy" in run.stderr
