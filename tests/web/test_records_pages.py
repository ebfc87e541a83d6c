"""Retention, disclosure ledger and reports pages through the real ASGI app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
from honorbound.disclosures.ledger import record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy import store
from honorbound.retention.models import LegalHold
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import add_staff, adopt


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, runtime: Runtime, tenant: Tenant, role: Role) -> str:
    login = add_staff(runtime, tenant, f"user-{role.value}", role)
    token = _token(client.get("/login").text)
    client.post(
        "/login", data={"username": login.username, "password": login.password, "csrf_token": token}
    )
    return _token(client.get("/console/retention").text)


def _holds(runtime: Runtime) -> list[LegalHold]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(LegalHold).order_by(LegalHold.id)))
        session.expunge_all()
    return rows


def test_legal_holds_are_placed_and_released_with_reasons(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    token = _sign_in(client, runtime, tenant, Role.PRIVACY_OFFICER)
    page = client.get("/console/retention")
    assert "contact-data" in page.text  # the declaration's rule, in the forecast
    missing = client.post("/console/retention/holds", data={"csrf_token": token, "owner": "Legal"})
    assert missing.status_code == 422 and "Say why the hold is placed" in missing.text
    bad = client.post(
        "/console/retention/holds",
        data={"csrf_token": token, "reason": "case 24-117", "owner": "Legal", "subject_id": "x"},
    )
    assert bad.status_code == 422 and "Give a subject number" in bad.text
    assert _holds(runtime) == []
    placed = client.post(
        "/console/retention/holds",
        data={
            "csrf_token": token,
            "reason": "case 24-117",
            "owner": "Legal",
            "category": "user.contact",
        },
        follow_redirects=False,
    )
    assert placed.status_code == 303
    [hold] = _holds(runtime)
    assert hold.category == "user.contact" and hold.placed_by.startswith("user:")
    url = f"/console/retention/holds/{hold.id}/release"
    assert client.post(url, data={"csrf_token": token, "reason": " "}).status_code == 422
    assert client.post(url, data={"csrf_token": token, "reason": "settled"}).status_code == 200
    assert client.post(url, data={"csrf_token": token, "reason": "again"}).status_code == 409
    [hold] = _holds(runtime)
    assert hold.release_reason == "settled"
    with runtime.db.session() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"retention.hold_placed", "retention.hold_released"} <= actions
    assert client.get("/console/retention/certificates/5.json").status_code == 404


def test_auditor_reads_but_cannot_place_holds(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = _sign_in(client, runtime, tenant, Role.AUDITOR)
    page = client.get("/console/retention")
    assert page.status_code == 200 and "Place a legal hold" not in page.text
    refused = client.post(
        "/console/retention/holds", data={"csrf_token": token, "reason": "r", "owner": "o"}
    )
    assert refused.status_code == 403 and _holds(runtime) == []


def test_disclosure_ledger_and_metrics_report(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    actor = Actor("test", "system")
    with runtime.db.session() as session:
        policy = store.current(session, tenant.id)
        assert policy is not None
        subject = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, person().email)],
            actor,
            rules,
        ).subject
        common = {
            "recipient": policy.declaration.recipients[0],
            "categories": ["user.contact.email"],
            "purpose": "customer_service",
            "basis": list(Basis)[0],
        }
        record_disclosure(session, tenant.id, actor, aggregate_count=12, **common)  # type: ignore[arg-type]
        record_disclosure(
            session,
            tenant.id,
            actor,
            subjects={subject.id: ["user.contact.email"]},
            **common,  # type: ignore[arg-type]
        )
    _sign_in(client, runtime, tenant, Role.AUDITOR)
    ledger = client.get("/console/disclosures")
    assert ledger.status_code == 200
    assert "Our CRM provider" in ledger.text and "aggregate" in ledger.text
    assert client.get("/console/disclosures?basis=nonsense").status_code == 422
    report = client.get("/console/reports?year=2026")
    assert report.status_code == 200 and "Privacy request metrics, 2026" in report.text
    csv_file = client.get("/console/reports/metrics-2026.csv")
    assert csv_file.status_code == 200
    assert csv_file.text.splitlines()[0].startswith("request_type,received")
    assert client.get("/console/reports?year=1999").status_code == 422
    subject_page = client.get(f"/console/subjects/{subject.id}")
    received = subject_page.text.split('id="received"')[1].split("</table>")[0]
    assert received.count("Our CRM provider") == 1  # the aggregate one names nobody


def test_laws_and_obligations_page(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _sign_in(client, runtime, tenant, Role.AUDITOR)
    empty = client.get("/console/obligations")
    assert empty.status_code == 200 and "No declaration adopted yet" in empty.text
    adopt(runtime, tenant.id)
    page = client.get("/console/obligations")
    assert page.status_code == 200
    assert "Laws and obligations" in page.text and "Risk assessments" in page.text
    assert "Oklahoma" in page.text and "(from 2027-01-01)" in page.text
    assert 'href="/console/obligations" aria-current="page"' in page.text


def test_a_rule_with_two_triggers_reads_as_one_rule_with_alternatives(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """Looked at: the demo's one rule (closed account, or 6 years dormant; users and website
    visitors) read as four near-identical rows without their periods. Each row now says whom it
    applies to and when in words; the second trigger for the same people reads "or ...". The
    oracle is the declaration file itself, read here with yaml."""
    import yaml

    from honorbound.demo import DEMO_DECLARATION

    text = DEMO_DECLARATION.read_text(encoding="utf-8")
    adopt(runtime, tenant.id, text)
    [rule] = yaml.safe_load(text)["retention"]
    assert [t["period"] for t in rule["triggers"]] == ["P0D", "P6Y"]
    _sign_in(client, runtime, tenant, Role.AUDITOR)
    html = client.get("/console/retention").text
    start = html.index('<table id="forecast">')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]
    seen = [(r[1], r[2]) for r in rows]
    assert len(seen) == len(set(seen)) >= 2, rows  # no row repeats another
    assert rows[0][0] == rule["id"] and all(r[0] == "(same rule)" for r in rows[1:]), rows
    by_people: dict[str, list[str]] = {}
    for r in rows:
        by_people.setdefault(r[1], []).append(r[2])
    for whens in by_people.values():
        assert len(whens) == 2, by_people
        assert not whens[0].startswith("or ") and whens[1].startswith("or "), whens
        assert "6 years" in whens[1] and whens[1].endswith("(whichever comes first)"), whens
