"""The clock keeps the notice's own promise (issue 13, defects 1 and 9): the due date, the
extension and the acknowledgement use the stricter of `rights[].response_days` and the law; a
request entered late never promises a past date; an `HONORBOUND_RULES_FILE` override reaches
the clock; and no module but the runtime loads the rules file."""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.rights.conftest import body, mails_to, somebody
from tests.support.smtp import SmtpSink

SRC = Path(__file__).resolve().parents[2] / "src" / "honorbound"


def _create(api: TestClient, org: Tenant, **extra: object) -> dict[str, object]:
    p = somebody()
    made = api.post(
        "/v1/requests",
        json={"type": "delete", "email": p.email, "manner": "mail", **extra},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert made.status_code == 201, made.text
    out: dict[str, object] = made.json()
    out["email"] = p.email
    return out


def _days(created: dict[str, object]) -> int:
    due = dt.datetime.fromisoformat(str(created["due_at"]))
    return (due - dt.datetime.fromisoformat(str(created["received_at"]))).days


def test_liveops_promises_30_days_everywhere(rt: Runtime, api: TestClient) -> None:
    org = make_tenant(rt, "liveops")
    adopt_example(rt, org.id, "liveops-2018")
    # California's law allows 45 days and Iowa's 90; the notice promises 30 to everyone.
    assert _days(_create(api, org, jurisdiction="CA")) == 30
    assert _days(_create(api, org, jurisdiction="IA")) == 30


def test_the_extension_is_the_notices_when_shorter(
    rt: Runtime, api: TestClient, smtp: SmtpSink
) -> None:
    org = make_tenant(rt, "cc1")
    adopt_example(rt, org.id)  # Contact Center 1: 45 days, extension 45 days
    text = Path(__file__).resolve().parents[2] / "examples/policies/contact-center-1-2024.yaml"
    lowered = text.read_text(encoding="utf-8").replace("extension_days: 45", "extension_days: 10")
    assert lowered != text.read_text(encoding="utf-8")
    adopted = api.post(
        "/v1/policy/versions",
        content=lowered.encode(),
        headers={**org.headers(Role.ADMIN), "Content-Type": "application/yaml"},
    )
    assert adopted.status_code == 201, adopted.text
    created = _create(api, org, jurisdiction="IA")
    due = dt.datetime.fromisoformat(str(created["due_at"]))
    extended = api.post(
        f"/v1/requests/{created['id']}/extend",
        json={"reason": "Archived records."},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert extended.status_code == 200, extended.text
    assert (dt.datetime.fromisoformat(extended.json()["due_at"]) - due).days == 10


def test_a_request_entered_late_never_promises_a_past_date(
    api: TestClient, org: Tenant, smtp: SmtpSink
) -> None:
    received = dt.datetime.now(dt.UTC) - dt.timedelta(days=50)
    created = _create(api, org, jurisdiction="IA", received_at=received.isoformat())
    due = dt.datetime.fromisoformat(str(created["due_at"]))
    assert due < dt.datetime.now(dt.UTC)  # 45 days (the notice) after receipt: already past
    mail = body(mails_to(smtp, str(created["email"]))[0])
    assert f"by {due.strftime('%B %d, %Y').replace(' 0', ' ')}" not in mail
    assert "ran out on" in mail and "as soon as we can" in mail


@pytest.fixture
def overridden(settings: Settings, tmp_path: Path, smtp: SmtpSink) -> Iterator[Runtime]:
    """A runtime whose HONORBOUND_RULES_FILE gives Iowa 20 days."""
    override = tmp_path / "my-rules.yaml"
    override.write_text("states:\n  IA:\n    respond: {days: 20, kind: calendar}\n")
    rt = build_runtime(
        settings.model_copy(update={"rules_file": override, "smtp_url": smtp.url}),
        immediate_jobs=True,
    )
    yield rt
    rt.close()


def test_a_rules_override_changes_the_due_date_end_to_end(overridden: Runtime) -> None:
    assert overridden.rules.state("IA").respond.days == 20
    org = make_tenant(overridden, "override")
    adopt_example(overridden, org.id)  # 45 days: the override's 20 are stricter
    with TestClient(create_app(overridden)) as api:
        assert _days(_create(api, org, jurisdiction="IA")) == 20
        assert _days(_create(api, org, jurisdiction="CA")) == 45  # untouched rows stay


def test_no_module_but_the_runtime_loads_the_rules_file() -> None:
    """One rules object: `load_rules` is called only by runtime.py (and defined in
    jurisdictions.py); everything else receives `Runtime.rules`."""
    callers = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("load_rules", "_shipped_text", "rules_data"):
                    callers.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert all(c.startswith(("runtime.py", "policy/jurisdictions.py")) for c in callers), callers
    readers = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "SHIPPED_RULES" in p.read_text(encoding="utf-8")
    ]
    assert readers == ["policy/jurisdictions.py"]
