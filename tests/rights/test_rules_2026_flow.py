"""Issue 19 through the real app (TestClient, real database, real SMTP on loopback): a person of
a state without a law in force is not refused an appeal; CO and MN appeal extensions; the CA
ADMT request types (opt-out into the ledger, access answered in writing by staff)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from tests.conftest import Tenant
from tests.rights.conftest import body, link_in, mails_to, public, seed, somebody
from tests.support.smtp import SmtpSink


def _only(rt: Runtime, org: Tenant, kind: str | None = None) -> RightsRequest:
    with rt.db.session() as session:
        query = select(RightsRequest).where(RightsRequest.organization_id == org.id)
        if kind:
            query = query.where(RightsRequest.type == kind)
        rows = list(session.scalars(query))
    assert len(rows) == 1, rows
    return rows[0]


def _deny_and_appeal(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, state: str
) -> tuple[str, dict[str, object] | None]:
    """A delete request from `state`, denied; returns the letter and the appeal (if any)."""
    p = seed(rt, org.id, jurisdiction=state).person
    api.post(public(org), json={"type": "delete", "jurisdiction": state, "email": p.email})
    request = _only(rt, org)
    headers = org.headers(Role.PRIVACY_OFFICER)
    denied = api.post(
        f"/v1/requests/{request.id}/deny",
        json={"basis": "fraud", "explanation": "The request came from a known fraudulent source."},
        headers=headers,
    )
    assert denied.status_code == 200, denied.text
    letter = body(mails_to(smtp, p.email, 2)[1])
    if "appeal" not in letter.lower():
        return letter, None
    filed = api.post(
        public(org, "/appeal"),
        json={"token": link_in(mails_to(smtp, p.email, 2)[1], "appeal"), "reason": "It was me."},
    )
    assert filed.status_code == 202, filed.text
    (appeal,) = api.get("/v1/requests", params={"type": "appeal"}, headers=headers).json()
    return letter, appeal


def _days(row: dict[str, object], start: str = "received_at", end: str = "due_at") -> int:
    return (
        dt.datetime.fromisoformat(str(row[end])) - dt.datetime.fromisoformat(str(row[start]))
    ).days


# One row per case: state, appeal offered?, appeal decision days. The adopted example notice
# covers CA CO CT DE IA MT NE NH NJ OR TX UT VA: a state without a law in force gets the
# strictest of them (an appeal, decided within 45 days: CO, NJ and OR give 45).
@pytest.mark.parametrize(
    ("state", "appeal", "days"),
    [
        ("OH", True, 45),  # no comprehensive law: the organization's default, not "no appeal"
        ("OK", True, 45),  # law not in force until 2027-01-01: the default too
        ("FL", True, 45),  # Florida's narrow FDBR is not encoded: the default
        ("VA", True, 60),  # its own law
        ("CA", False, None),  # a law in force that gives no appeal
        ("UT", False, None),
    ],
)
def test_appeal_for_states_without_a_law_in_force(
    api: TestClient,
    rt: Runtime,
    org: Tenant,
    smtp: SmtpSink,
    state: str,
    appeal: bool,
    days: int | None,
) -> None:
    letter, filed = _deny_and_appeal(api, rt, org, smtp, state)
    assert (filed is not None) is appeal, letter
    if filed is not None:
        assert _days(filed) == days
        assert f"{days} days" in letter


def test_colorado_appeal_can_be_extended_by_sixty_days_virginia_not(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    headers = org.headers(Role.PRIVACY_OFFICER)
    _letter, appeal = _deny_and_appeal(api, rt, org, smtp, "CO")
    assert appeal is not None and _days(appeal) == 45
    extended = api.post(
        f"/v1/requests/{appeal['id']}/extend", json={"reason": "We are reviewing recordings."},
        headers=headers,
    )  # fmt: skip
    assert extended.status_code == 200, extended.text
    assert _days(extended.json()) == 45 + 60


def test_an_appeal_where_the_law_allows_no_extension_is_refused(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    _letter, appeal = _deny_and_appeal(api, rt, org, smtp, "VA")
    assert appeal is not None
    refused = api.post(
        f"/v1/requests/{appeal['id']}/extend",
        json={"reason": "more time"},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert refused.status_code == 409
    assert "the law of VA allows no extension of an appeal" in refused.text


def test_admt_opt_out_is_applied_at_once_into_the_ledger(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    answer = api.post(
        public(org), json={"type": "opt_out_admt", "jurisdiction": "CA", "email": p.email}
    )
    assert answer.status_code == 202, answer.text
    assert "automated decision-making" in body(mails_to(smtp, p.email)[0])
    request = _only(rt, org)
    assert request.status == "completed" and request.verified_at is None
    with rt.db.session() as session:
        ref = identify(rt.keys, org.id, p.email, IdentityKind.EMAIL)
        event = session.scalar(select(ConsentEvent).where(ConsentEvent.identity_index == ref.index))
        assert event is not None
        assert (event.purpose, event.channel, event.action) == ("profiling", "all", "opt_out")


def test_admt_access_is_answered_in_writing_by_staff(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    api.post(public(org), json={"type": "access_admt", "jurisdiction": "CA", "email": p.email})
    request = _only(rt, org)
    assert (
        _days({"a": request.received_at.isoformat(), "b": request.due_at.isoformat()}, "a", "b")
        == 45
    )
    headers = org.headers(Role.PRIVACY_OFFICER)
    url = f"/v1/requests/{request.id}/answer"
    text = "We score call quality automatically; a supervisor reviews every score before use."
    early = api.post(url, json={"text": text}, headers=headers)
    assert early.status_code == 409 and "verify the request" in early.text
    verified = api.post(
        f"/v1/requests/{request.id}/verify",
        json={"level": 2, "note": "Called back the number on file; two details matched."},
        headers=headers,
    )
    assert verified.status_code == 200, verified.text
    # Verified but not carried out by Honorbound: it waits for the team's answer.
    assert api.get(f"/v1/requests/{request.id}", headers=headers).json()["status"] == "in_progress"
    assert api.post(url, json={"text": "  "}, headers=headers).status_code == 422
    done = api.post(url, json={"text": text}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["response"] == "complied"
    mail = [m for m in mails_to(smtp, p.email, 2) if "Our answer" in body(m)]
    assert mail and text in body(mail[0])
    assert api.post(url, json={"text": text}, headers=headers).status_code == 409  # closed


def test_answer_refuses_types_honorbound_carries_out(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    request = _only(rt, org)
    refused = api.post(
        f"/v1/requests/{request.id}/answer",
        json={"text": "here you go"},
        headers=org.headers(Role.PRIVACY_OFFICER),
    )
    assert refused.status_code == 409 and "carried out by Honorbound" in refused.text
