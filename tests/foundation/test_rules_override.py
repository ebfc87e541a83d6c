"""Rules from the runtime: one override file (`HONORBOUND_RULES_FILE`) changes each rule family
the app applies, seen through the live app (HTTP against a real database), not only validated.

Families: the jurisdiction rules (policy/data/us-rules.yaml; here Iowa's response deadline) and
the contact rules (consent/data/contact-rules.yaml, the override's `contact_rules` section; here
the federal calling hours and the opt-out deadline of the revocation report). The expected
values are read from the shipped files on disk, not from the loaders under test.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.api.app import create_app
from honorbound.config import ConfigError, Settings
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.rights.conftest import somebody
from tests.support.people import remember

SRC = Path(__file__).resolve().parents[2] / "src" / "honorbound"
SHIPPED_CONTACT = SRC / "consent" / "data" / "contact-rules.yaml"
# 2026-11-18 is a Wednesday with no holiday; 09:30 in New York is inside the federal 8-21.
NY_MORNING = "2026-11-18T09:30:00-05:00"


def _shipped_contact() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(SHIPPED_CONTACT.read_text(encoding="utf-8"))
    return raw


def _later_federal_hours() -> list[dict[str, Any]]:
    """The shipped calling-hours list with the federal window starting at 10:00 (a list is
    replaced whole by an override, so the override carries every row)."""
    rows = _shipped_contact()["calling_hours"]
    federal = [r for r in rows if r["state"] == "*"]
    assert federal and federal[0]["start"] == "08:00"  # what the default-runtime checks rely on
    federal[0]["start"] = "10:00"
    return rows


@pytest.fixture
def override_file(tmp_path: Path) -> Path:
    shipped_days = _shipped_contact()["revocation"]["honor_within_business_days"]
    path = tmp_path / "my-rules.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "states": {"IA": {"respond": {"days": 20, "kind": "calendar"}}},
                "contact_rules": {
                    "calling_hours": _later_federal_hours(),
                    "revocation": {"honor_within_business_days": shipped_days - 3},
                },
            }
        )
    )
    return path


@pytest.fixture
def overridden(settings: Settings, override_file: Path) -> Iterator[Runtime]:
    rt = build_runtime(settings.model_copy(update={"rules_file": override_file}), True)
    yield rt
    rt.close()


def _due_days(api: TestClient, org: Tenant, state: str) -> int:
    made = api.post(
        "/v1/requests",
        json={"type": "delete", "email": somebody().email, "manner": "mail", "jurisdiction": state},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert made.status_code == 201, made.text
    out = made.json()
    received = dt.datetime.fromisoformat(out["received_at"])
    return (dt.datetime.fromisoformat(out["due_at"]) - received).days


def _ny_morning_reasons(api: TestClient, org: Tenant) -> list[str]:
    phone = "+12125550142"
    remember(phone, phone[2:])
    answer = api.post(
        "/v1/contact-decisions",
        json={
            "items": [
                {"identity": phone, "purpose": "marketing", "channel": "voice", "at": NY_MORNING}
            ]
        },
        headers=org.headers(Role.ADMIN),
    )
    assert answer.status_code == 200, answer.text
    reasons: list[str] = answer.json()["results"][0]["reasons"]
    return reasons


def _report_days(api: TestClient, org: Tenant) -> int:
    got = api.get(
        "/v1/consent/revocation-report",
        params={"since": "2026-01-01", "until": "2026-01-31"},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert got.status_code == 200, got.text
    days: int = got.json()["rule_business_days"]
    return days


def _answers(rt: Runtime, slug: str) -> tuple[int, int, list[str], int]:
    org = make_tenant(rt, slug)
    adopt_example(rt, org.id)  # the notice promises 45 days
    with TestClient(create_app(rt)) as api:
        return (
            _due_days(api, org, "IA"),
            _due_days(api, org, "CA"),
            _ny_morning_reasons(api, org),
            _report_days(api, org),
        )


def test_one_override_file_changes_every_rule_family_through_the_app(
    runtime: Runtime, overridden: Runtime
) -> None:
    shipped_days = _shipped_contact()["revocation"]["honor_within_business_days"]
    ia, ca, hours, report_days = _answers(runtime, "shipped")
    assert (ia, ca, report_days) == (45, 45, shipped_days)
    assert "outside_calling_hours" not in hours
    ia, ca, hours, report_days = _answers(overridden, "overridden")
    assert ia == 20  # the override's 20 days are stricter than the notice's 45
    assert ca == 45  # rows the override does not name stay as shipped
    assert "outside_calling_hours" in hours  # 09:30 is before the override's 10:00
    assert report_days == shipped_days - 3


def test_the_runtime_holds_the_overridden_contact_rules(overridden: Runtime) -> None:
    federal = [w for w in overridden.contact_rules.calling_hours if w.state == "*"]
    assert [w.start for w in federal] == [dt.time(10, 0)]
    shipped = {r["state"] for r in _shipped_contact()["calling_hours"]}
    assert {w.state for w in overridden.contact_rules.calling_hours} == shipped


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("[1, 2]", "contact_rules: write a mapping"),
        ("{calling_hour: []}", "unknown key(s) calling_hour"),
        ("{revocation: {honor_within_business_days: ten}}", "contact_rules: invalid literal"),
        (
            "{calling_hours: [{state: '*', channels: [voice], start: '10:00'}]}",
            "contact_rules: a row lacks the required key 'end'",
        ),
        (
            "{calling_hours: [{state: TX, channels: [voice], start: '09:00', end: '21:00', "
            "source: x, days: {sundy: closed}}]}",
            "days.sundy is not a weekday",
        ),
    ],
)
def test_a_bad_contact_rules_section_stops_start_up_naming_the_setting(
    settings: Settings, tmp_path: Path, section: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"contact_rules: {section}\n")
    with pytest.raises(ConfigError) as caught:
        build_runtime(settings.model_copy(update={"rules_file": path}), True)
    message = str(caught.value)
    assert message.startswith("HONORBOUND_RULES_FILE: ") and expected in message, message
    assert str(path) in message


def test_an_override_without_a_contact_section_keeps_the_shipped_contact_rules(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "states-only.yaml"
    path.write_text("states:\n  IA:\n    respond: {days: 20, kind: calendar}\n")
    rt = build_runtime(settings.model_copy(update={"rules_file": path}), True)
    try:
        shipped = _shipped_contact()
        assert (
            rt.contact_rules.revocation_business_days
            == (shipped["revocation"]["honor_within_business_days"])
        )
        assert rt.rules.state("IA").respond.days == 20
    finally:
        rt.close()


def _calls(name: str) -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "load":
                owner = func.value
                if isinstance(owner, ast.Name) and owner.id == name:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_no_module_reads_the_contact_rules_but_the_runtime() -> None:
    """`consent.rules.load` (as `rules.load()` or `load_contact_rules`) is called by the runtime
    only; everything else receives `Runtime.contact_rules`."""
    assert _calls("rules") == []
    callers = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "honorbound.consent.rules"
                and any(alias.name == "load" for alias in node.names)
            ):
                callers.append(str(path.relative_to(SRC)))
    # decisions/engine.py: the fallback for an engine built without rules (the benchmark);
    # the runtime builds the one engine with its contact rules (Runtime.decisions).
    assert sorted(callers) == ["consent/decisions/engine.py", "runtime.py"], callers


def test_job_handlers_take_a_typed_context_not_any() -> None:
    """Every domain job handler (`*_job(rt, payload)`) names the context it needs
    (`JobContext` or a package's narrower protocol), so its needs are in its signature."""
    untyped, seen = [], 0
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in ("api", "web", "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_job") and node.args.args:
                first = node.args.args[0]
                if first.arg not in ("rt", "_rt", "runtime"):
                    continue
                seen += 1
                note = ast.unparse(first.annotation) if first.annotation else "nothing"
                if not note.endswith("JobContext") and note != "Runtime":
                    untyped.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.name}({note})")
    assert seen >= 10 and not untyped, untyped
