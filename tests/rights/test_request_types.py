"""Request types as data (issue 18, step 2): each row of rights/data/requests.yaml is the one
definition of its type. Every type is walked through intake, verification and execution over
the real API and a real SMTP server, and what happens is predicted from the row as the YAML
file says it (read here with yaml, not through honorbound.rights.rules). The API schema and the
portal form offer what the rows say; the loader refuses rows that contradict themselves.

What adding a type still takes (docs/development.md, Add a request type): its value in
`RequestType` (rights/models.py; the loader names it when missing), its row, an executor in
`rights.execution.EXECUTORS` only when its `executes` is new, its line in docs/rights.md and
the Spanish words of its label (both checked by tests/foundation).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.rights import execution
from honorbound.rights.models import RightsRequest
from honorbound.rights.rules import Executes, parse_rights_rules
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Subject
from tests.conftest import Tenant
from tests.rights.conftest import body, mails_to, public, seed
from tests.support.smtp import SmtpSink

DATA = Path(__file__).resolve().parents[2] / "src/honorbound/rights/data/requests.yaml"
TEXT = DATA.read_text(encoding="utf-8")
ROWS: dict[str, dict[str, Any]] = yaml.safe_load(TEXT)["types"]
VERIFY = re.compile(r"/requests/verify\?token=(\S+)")
DOWNLOAD = re.compile(r"/requests/download\?token=(\S+)")


def _row(name: str) -> dict[str, Any]:
    return ROWS[name]


def _request(rt: Runtime, org: Tenant) -> RightsRequest:
    with rt.db.session() as session:
        rows = list(
            session.scalars(select(RightsRequest).where(RightsRequest.organization_id == org.id))
        )
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_type_walks_through_intake_verification_and_execution(
    name: str, api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    row = _row(name)
    s = seed(rt, org.id)
    p = s.person
    ask: dict[str, Any] = {"type": name, "jurisdiction": "CA", "email": p.email}
    if row["executes"] == "correct":
        ask["corrections"] = [{"category": "user.contact.address", "value": "1 Elm Street"}]
    answer = api.post(public(org), json=ask)
    if row["executes"] == "appeal":
        # Filed with the decision letter's link, never as a new request.
        assert answer.status_code == 422 and "body.type" in answer.text, answer.text
        return
    assert answer.status_code == 202, answer.text
    first = body(mails_to(smtp, p.email)[0])
    request = _request(rt, org)
    if row["executes"] == "opt_out":
        # 11 CCR 7026, 7027: applied at once, no verification asked for.
        assert VERIFY.search(first) is None, f"{name}: an opt-out was sent a verification link"
        assert request.status == "completed" and request.verified_at is None
        with rt.db.session() as session:
            ref = identify(rt.keys, org.id, p.email, IdentityKind.EMAIL)
            purposes = set(
                session.scalars(
                    select(ConsentEvent.purpose).where(ConsentEvent.identity_index == ref.index)
                )
            )
        assert purposes == {row["consent_purpose"]}
        return
    found = VERIFY.search(first)
    assert found is not None, f"{name}: no verification link in the acknowledgement"
    assert request.status == "verifying"
    proof: dict[str, Any] = {"token": found.group(1)}
    proof["data_points"] = {"phone": p.phone, "birth_date": p.birth_date}
    if row["signed_declaration"]:
        proof["declaration"] = {"typed_name": f"{p.first_name} {p.last_name}", "agreed": True}
    verified = api.post(public(org, "/verify"), json=proof)
    assert verified.status_code == 200 and verified.json()["verified"] is True, verified.text
    request = _request(rt, org)
    assert request.verified_at is not None
    if row["executes"] == "staff_answer":
        assert request.status == "in_progress"  # waits for the privacy team's answer
        done = api.post(
            f"/v1/requests/{request.id}/answer",
            json={"text": "We used an automated tool to rank call-back order."},
            headers=org.headers(Role.PRIVACY_OFFICER),
        )
        assert done.status_code == 200, done.text
        assert _request(rt, org).status == "completed"
        return
    last = body(mails_to(smtp, p.email, 2)[1])
    if row["executes"] == "package":
        link = DOWNLOAD.search(last)
        assert link is not None, f"{name}: no download link after verification"
        package = api.get(public(org, "/download"), params={"token": link.group(1)})
        assert package.status_code == 200 and package.content[:2] == b"PK"
        return
    assert _request(rt, org).status == "completed", name
    if row["executes"] == "delete":
        with rt.db.session() as session:
            subject = session.get(Subject, s.subject_id)
            assert subject is not None and subject.status == "erased"


def test_the_api_schema_and_the_portal_offer_what_the_rows_say(
    api: TestClient, org: Tenant
) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]["RequestType"]
    assert set(schema["enum"]) == set(ROWS)
    page = api.get(f"/p/{org.slug}/requests/new")
    assert page.status_code == 200
    select_html = page.text.split('name="type"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="([a-z_]+)"', select_html)
    assert offered == [n for n, r in ROWS.items() if "portal" in r["taken_by"]]
    assert "appeal" not in offered


def test_every_executes_value_is_carried_out_somewhere() -> None:
    values = set(get_args(Executes))
    assert set(execution.EXECUTORS) | set(execution.NOT_EXECUTED) == values
    assert not set(execution.EXECUTORS) & set(execution.NOT_EXECUTED)
    assert {r["executes"] for r in ROWS.values()} <= values


def _edited(name: str, **changes: object) -> str:
    data = yaml.safe_load(TEXT)
    data["types"][name].update(changes)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # The defect of issue 18: an opt-out that asks for verification (CCPA forbids it).
        (_edited("opt_out_sale", data_points=2), "may not require verification"),
        (_edited("limit_sensitive", executes="delete"), "write `executes: opt_out`"),
        (_edited("opt_out_sharing", consent_purpose=None), "needs the `consent_purpose`"),
        (_edited("delete", consent_purpose="sale"), "only `executes: opt_out`"),
        (_edited("appeal", taken_by=["portal"]), "decision letter's link"),
        (_edited("delete", executes="erase"), "executes"),
        (_edited("delete", taken_by=["fax"]), "taken_by"),
    ],
)
def test_the_loader_refuses_a_row_that_contradicts_itself(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_rights_rules(text)


def test_the_loader_names_what_a_new_or_missing_type_needs() -> None:
    data = yaml.safe_load(TEXT)
    data["types"]["opt_out_biometrics"] = dict(data["types"]["opt_out_profiling"])
    del data["types"]["portability"]
    with pytest.raises(ValueError) as caught:
        parse_rights_rules(yaml.safe_dump(data, sort_keys=False))
    message = str(caught.value)
    assert "rights/data/requests.yaml" in message
    assert "no row for request type(s) portability" in message
    assert "opt_out_biometrics is not a RequestType" in message
    assert "honorbound/rights/models.py" in message


def test_the_shipped_file_loads_and_every_label_is_its_own() -> None:
    rules = parse_rights_rules(TEXT)
    assert rules.labels() == {n: r["label"] for n, r in ROWS.items()}
    assert len(set(rules.labels().values())) == len(ROWS)  # no two types read the same
