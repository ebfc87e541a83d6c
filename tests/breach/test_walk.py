"""An incident from discovery to every notice, through the HTTP API, with a real SMTP server
on loopback: people in five states (CA, NY, TX, OR, CT), one of them without an email (a
letter), thresholds not met (CA, TX and OR attorneys general), a BPO client to tell."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import verify
from honorbound.audit.models import AuditEntry
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.smtp import SmtpSink

DISCOVERED = "2026-11-02T15:00:00Z"
U = dt.UTC
# Hand-computed from the statutes as the rules describe them (not read from the rules file):
# 30 days from 2026-11-02 15:00 is 2026-12-02; 45 days 2026-12-17; 60 days 2027-01-01; 10 days
# 2026-11-12; "immediately" is the discovery time itself.
ORACLE = {
    ("individuals", "CA", "residents of CA"): dt.datetime(2026, 12, 2, 15, tzinfo=U),
    ("individuals", "NY", "residents of NY"): dt.datetime(2026, 12, 2, 15, tzinfo=U),
    ("individuals", "TX", "residents of TX"): dt.datetime(2027, 1, 1, 15, tzinfo=U),
    ("individuals", "OR", "residents of OR"): dt.datetime(2026, 12, 17, 15, tzinfo=U),
    ("individuals", "CT", "residents of CT"): dt.datetime(2027, 1, 1, 15, tzinfo=U),
    ("regulator", "NY", "Attorney General, Department of State and Division of State Police"):
        dt.datetime(2026, 12, 2, 15, tzinfo=U),
    ("regulator", "CT", "Attorney General"): dt.datetime(2027, 1, 1, 15, tzinfo=U),
    ("owner", "OR", "client-a"): dt.datetime(2026, 11, 12, 15, tzinfo=U),
    ("owner", "NY", "client-a"): dt.datetime(2026, 12, 2, 15, tzinfo=U),
    ("owner", "CA", "client-a"): dt.datetime(2026, 11, 2, 15, tzinfo=U),
    ("owner", "TX", "client-a"): dt.datetime(2026, 11, 2, 15, tzinfo=U),
}  # fmt: skip
NOT_REQUIRED = {("regulator", "CA"), ("regulator", "TX"), ("regulator", "OR")}


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def test_incident_from_discovery_to_every_notice(
    rt: Runtime, org: Tenant, api: TestClient, smtp: SmtpSink
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    people = [
        resident(rt, org.id, "CA"),
        resident(rt, org.id, "CA", email=False),
        resident(rt, org.id, "NY"),
        resident(rt, org.id, "TX"),
        resident(rt, org.id, "OR"),
        resident(rt, org.id, "CT", ssn=True),
    ]
    outside = resident(rt, org.id, "NY", source="billing")  # a system not breached
    other = make_tenant(rt, "elsewhere")
    adopt_example(rt, other.id)
    resident(rt, other.id, "CA")  # another organization's person: never selected

    r = api.post(
        "/v1/breach/incidents",
        headers=h,
        json={
            "title": "CRM export exposed",
            "description": "A misconfigured export job left a CRM extract readable online.",
            "discovered_at": DISCOVERED,
            "occurred_from": "2026-10-28T00:00:00Z",
            "occurred_to": "2026-11-01T23:00:00Z",
            "systems": ["crm"],
            "categories": ["user.contact", "user.government_id"],
            "clients": ["client-a"],
            "owner": "Privacy Office",
            "contact": "privacy@callco.example, 1-800-555-0100",
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    iid = incident["id"]
    assert incident["status"] == "open" and incident["affected"] == 0

    # Nobody matches a system the vault never heard of: a clear 422, nothing selected.
    r = api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["erp"]})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "matches nobody" in r.json()["detail"]

    r = api.post(
        f"/v1/breach/incidents/{iid}/selection",
        headers=h,
        json={
            "categories": ["user.contact"],
            "systems": ["crm"],
            "window_to": "2026-11-01T23:00:00Z",
        },
    )
    assert r.status_code == 200, r.text
    sel = r.json()
    assert sel["total"] == 6
    assert sel["by_state"] == {"CA": 2, "CT": 1, "NY": 1, "OR": 1, "TX": 1}

    r = api.get(f"/v1/breach/incidents/{iid}/deadlines", headers=h)
    assert r.status_code == 200
    rows = r.json()
    found = {(o["audience"], o["state"], o["who"]): o for o in rows}
    for key, due in ORACLE.items():
        assert key in found, key
        assert found[key]["required"], key
        assert _when(found[key]["due_at"]) == due, (key, found[key]["due_at"])
        assert found[key]["source"] and found[key]["confidence"]
    for audience, state in NOT_REQUIRED:
        ag = [o for o in rows if o["audience"] == audience and o["state"] == state]
        assert ag and all(not o["required"] for o in ag), (audience, state)
        assert all("no " in o["reason"] and "notice required" in o["reason"] for o in ag)
    ca_ag = found[("regulator", "CA", "Attorney General")]
    assert ca_ag["reason"] == (
        "no Attorney General notice required: 2 residents affected, the threshold is 501"
    )

    r = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={"language": "en"})
    assert r.status_code == 200, r.text
    sent = r.json()
    assert (sent["emails"], sent["letters"]) == (5, 1)
    assert sent["by_state"] == {"CA": 2, "CT": 1, "NY": 1, "OR": 1, "TX": 1}
    assert sent["documents"] >= 6  # NY AG, CT AG, client-a per state

    mails = smtp.wait_for(5)
    assert len(mails) == 5
    by_to = {str(m["To"]).lower(): m for m in mails}
    emailed = [p for p in people if p.email]
    assert set(by_to) == {p.email for p in emailed}
    assert outside.email not in by_to
    for p in emailed:
        text = by_to[p.email].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "What Happened" in text and "For More Information" in text
        assert p.street not in text  # the notice quotes no value of the person
        if p.state == "CA":
            assert "Notice of Data Breach" in str(by_to[p.email]["Subject"])
        if p.state == "CT":
            assert "24" in text and "months of identity theft protection" in text
        else:
            assert "identity theft protection" not in text

    # Sending again tells nobody twice.
    r = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={})
    assert r.json()["emails"] == 0 and r.json()["already"] == 6
    assert len(smtp.messages) == 5

    r = api.get(f"/v1/breach/incidents/{iid}/notices", headers=h)
    notices = r.json()
    to_people = [n for n in notices if n["audience"] == "individual"]
    assert len(to_people) == 6
    assert {n["subject_id"] for n in to_people} == {p.subject_id for p in people}
    assert sorted(n["status"] for n in to_people if n["channel"] == "email") == ["sent"] * 5
    letter = next(n for n in to_people if n["channel"] == "letter")
    assert letter["status"] == "prepared" and letter["state"] == "CA"
    docs = [n for n in notices if n["channel"] == "document"]
    recipients = {(n["state"], n["recipient"]) for n in docs}
    assert (
        "NY",
        "Attorney General, Department of State and Division of State Police",
    ) in recipients
    assert ("CT", "Attorney General") in recipients
    assert ("CA", "Attorney General") not in recipients  # threshold not met
    assert ("OR", "client-a") in recipients

    r = api.get(f"/v1/breach/incidents/{iid}/notices/{letter['id']}/letter.pdf", headers=h)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = api.post(f"/v1/breach/incidents/{iid}/notices/{letter['id']}/submitted", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    doc = docs[0]
    r = api.get(f"/v1/breach/incidents/{iid}/notices/{doc['id']}/document", headers=h)
    assert r.status_code == 200 and "Residents affected" in r.text

    r = api.patch(f"/v1/breach/incidents/{iid}", headers=h, json={"status": "closed"})
    assert r.status_code == 200 and r.json()["status"] == "closed"

    r = api.get(f"/v1/breach/incidents/{iid}/report", headers=h)
    assert r.status_code == 200
    rep = r.json()
    assert rep["total"] == 6 and rep["by_state"]["CA"] == 2
    assert rep["delivery"]["CA"] == {"email:sent": 1, "letter:submitted": 1}
    actions = [e["action"] for e in rep["timeline"]]
    assert actions == [
        "breach.incident_recorded",
        "breach.affected_selected",
        "breach.individual_notices_queued",
        "breach.documents_prepared",
        "breach.individual_notices_queued",
        "breach.documents_prepared",
        "breach.letter_printed",
        "breach.notice_submitted",
        "breach.incident_changed",
    ]
    text = api.get(f"/v1/breach/incidents/{iid}/report?format=text", headers=h).text
    assert "CA: 2" in text and "no Attorney General notice required" in text

    # Every change is in the audit chain, which verifies; no personal value in it.
    with rt.db.session() as session:
        assert verify(session, org.id).ok
        details = " ".join(
            str(e.details)
            for e in session.scalars(select(AuditEntry).where(AuditEntry.organization_id == org.id))
        )
    for p in people:
        assert p.street not in details and (p.email or "@@") not in details


def test_spanish_notice(rt: Runtime, org: Tenant, api: TestClient, smtp: SmtpSink) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    person = resident(rt, org.id, "CA", ssn=True)
    iid = api.post(
        "/v1/breach/incidents",
        headers=h,
        json={"title": "Robo de laptop", "discovered_at": DISCOVERED, "owner": "Privacidad",
              "categories": ["user.government_id"]},
    ).json()["id"]  # fmt: skip
    r = api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["crm"]})
    assert r.status_code == 200
    r = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={"language": "es"})
    assert r.json()["emails"] == 1
    mail = smtp.wait_for(1)[0]
    assert str(mail["To"]).lower() == person.email
    assert "Aviso de violación de datos" in str(mail["Subject"])
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Qué sucedió" in text and "12 meses de protección" in text
