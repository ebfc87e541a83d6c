"""Staff verify a consumer by hand (POST /v1/requests/{id}/verify): bad input names the field
and changes nothing, closed or foreign requests are refused, and a good one carries the
request out with the method, the staff member and the level on the timeline."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.rights.jobs import services
from honorbound.rights.models import RequestEvent, RightsRequest
from honorbound.rights.verification import manual_note
from honorbound.runtime import Runtime
from tests.conftest import Tenant, make_tenant
from tests.rights.conftest import link_in, mails_to, public, seed
from tests.support.smtp import SmtpSink


def _only_request(rt: Runtime, org: Tenant) -> RightsRequest:
    with rt.db.session() as session:
        (row,) = session.scalars(
            select(RightsRequest).where(RightsRequest.organization_id == org.id)
        ).all()
        session.expunge_all()
    return row


def _ask(api: TestClient, org: Tenant, kind: str, email: str) -> None:
    answer = api.post(public(org), json={"type": kind, "jurisdiction": "CA", "email": email})
    assert answer.status_code == 202, answer.text


def test_bad_input_names_the_field_and_changes_nothing(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    _ask(api, org, "access_specific", p.email)  # 3 data points and a signed declaration
    row = _only_request(rt, org)
    url = f"/v1/requests/{row.id}/verify"
    headers = org.headers(Role.PRIVACY_OFFICER)
    note = "Called back the number on file; matched three details."
    cases = [
        ({}, "body.note"),
        ({"note": "   "}, "body.note"),
        ({"note": note}, "body.level"),
        ({"note": note, "level": 2}, "body.level"),
        ({"note": note, "level": 3}, "body.declaration"),
        ({"note": note, "level": -1}, "body.level"),
        ({"note": note, "level": 3, "declaration": True, "by": "x"}, "body.by"),
        ({"note": "x" * 2001, "level": 3, "declaration": True}, "body.note"),
    ]
    for body, field in cases:
        answer = api.post(url, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert field in [e["field"] for e in answer.json()["errors"]], (body, answer.text)
    # Agents may not verify; another organization does not see the request at all.
    assert (
        api.post(
            url,
            json={"note": note, "level": 3, "declaration": True},
            headers=org.headers(Role.AGENT),
        ).status_code
        == 403
    )
    other = make_tenant(rt, "globex")
    foreign = api.post(
        url, json={"note": note, "level": 3, "declaration": True}, headers=other.headers(Role.ADMIN)
    )
    assert foreign.status_code == 404, foreign.text
    assert api.post("/v1/requests/999999/verify", json={}, headers=headers).status_code == 404
    after = _only_request(rt, org)
    assert after.verified_at is None and after.status == "verifying"
    with rt.db.session() as session:
        kinds = session.scalars(
            select(RequestEvent.kind).where(RequestEvent.request_id == row.id)
        ).all()
    assert "verified_manually" not in kinds


def test_manual_verification_carries_the_request_out(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    _ask(api, org, "access_categories", p.email)  # 2 data points, no declaration
    verify_token = link_in(mails_to(smtp, p.email)[0], "verify")
    row = _only_request(rt, org)
    url = f"/v1/requests/{row.id}/verify"
    headers = org.headers(Role.PRIVACY_OFFICER)
    note = f"Called back the number on file, checked two details (ticket {uuid.uuid4().hex[:8]})"
    done = api.post(url, json={"level": 2, "note": note}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["verified_at"] is not None
    assert done.json()["verification_points"] == 2

    # Carried out as if the consumer had verified: the package mail went out.
    ready = mails_to(smtp, p.email, 2)
    assert len(ready) == 2
    link_in(ready[1], "download")
    detail = api.get(f"/v1/requests/{row.id}", headers=headers).json()
    assert detail["status"] == "completed"
    (event,) = [e for e in detail["events"] if e["kind"] == "verified_manually"]
    assert event["details"]["method"] == "manual" and event["details"]["level"] == 2
    assert event["details"]["staff"] == event["actor"] and event["actor"] != "consumer"

    # The note is kept sealed: not in the timeline or the audit log, but staff can read it.
    with rt.db.session() as session:
        stored = session.scalar(
            select(RequestEvent).where(
                RequestEvent.request_id == row.id, RequestEvent.kind == "verified_manually"
            )
        )
        assert stored is not None
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rights.verified_manually")
        ).all()
        assert len(audit) == 1
        assert note not in json.dumps(stored.details) + json.dumps(audit[0].details)
        request = session.get(RightsRequest, row.id)
        assert request is not None
        assert manual_note(services(rt), request, dict(stored.details)) == note

    # The consumer's link is spent; the request cannot be verified again, nor once closed.
    again = api.post(public(org, "/verify"), json={"token": verify_token})
    assert again.status_code == 410
    closed = api.post(url, json={"level": 2, "note": note}, headers=headers)
    assert closed.status_code == 409, closed.text
    assert "closed" in closed.json()["detail"]


def test_a_held_request_stays_held_and_a_denied_one_is_refused(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    _ask(api, org, "access_categories", p.email)
    row = _only_request(rt, org)
    headers = org.headers(Role.ADMIN)
    base = f"/v1/requests/{row.id}"
    assert (
        api.post(f"{base}/hold", json={"reason": "odd device"}, headers=headers).status_code == 200
    )
    held = api.post(
        f"{base}/verify", json={"level": 2, "note": "In person, ID shown"}, headers=headers
    )
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held" and held.json()["verified_at"] is not None
    assert len(mails_to(smtp, p.email)) == 1  # nothing carried out while held
    twice = api.post(f"{base}/verify", json={"level": 2, "note": "again"}, headers=headers)
    assert twice.status_code == 409 and "already verified" in twice.json()["detail"]

    q = seed(rt, org.id).person
    _ask(api, org, "delete", q.email)
    with rt.db.session() as session:
        second = session.scalar(
            select(RightsRequest.id).where(
                RightsRequest.organization_id == org.id, RightsRequest.id != row.id
            )
        )
    denied = api.post(
        f"/v1/requests/{second}/deny",
        json={"basis": "not_a_consumer", "explanation": "No relationship found."},
        headers=headers,
    )
    assert denied.status_code == 200, denied.text
    refused = api.post(
        f"/v1/requests/{second}/verify", json={"level": 3, "note": "late"}, headers=headers
    )
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]
