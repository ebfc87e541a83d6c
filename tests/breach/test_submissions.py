"""Regulator and agency submissions, and the notices people receive by email, through the API
and a real SMTP server on loopback. The oracle is written by hand from the statutes as known
(NY 899-aa(8)(a): counts, timing, content and distribution with a template; CT 36a-701b: 24
months for an SSN; SD 22-40-24: the agencies whatever the number; MA 93H s.3(b): no
description of the breach in the residents' notice), not read from the rules file."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink

DESCRIPTION = "A stolen laptop held an unencrypted export of the ticketing system."
NY_ORDER = [
    "Organization:",
    "Contact for this notice:",
    "Total people affected: 4",
    "Residents of this state affected: 1",
    "Date the breach began: 2026-10-28",
    "Date the breach ended: 2026-11-01",
    "Date the breach was discovered: 2026-11-02",
    "Date notices to residents were sent:",
    "What happened: " + DESCRIPTION,
    "Information involved:",
    "How residents were notified: email (1)",
    "Identity theft protection offered: none required",
    "Sample of the notice to residents: attached below",
]


def test_submissions_in_each_states_form(
    rt: Runtime, org: Tenant, api: TestClient, smtp: SmtpSink
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    people = [resident(rt, org.id, s, ssn=True) for s in ("NY", "CT", "SD", "MA")]
    iid = api.post(
        "/v1/breach/incidents",
        headers=h,
        json={"title": "Laptop stolen", "description": DESCRIPTION,
              "discovered_at": "2026-11-02T15:00:00Z", "occurred_from": "2026-10-28T00:00:00Z",
              "occurred_to": "2026-11-01T23:00:00Z", "owner": "Privacy Office",
              "categories": ["user.contact", "user.government_id"],
              "contact": "privacy@callco.example"},
    ).json()["id"]  # fmt: skip
    r = api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["web_form"]})
    assert r.status_code == 200 and r.json()["total"] == 4
    r = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={"language": "en"})
    assert r.json()["emails"] == 4
    mails = {str(m["To"]).lower(): m for m in smtp.wait_for(4)}
    bodies = {
        p.state: mails[p.email or ""].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for p in people
    }
    assert DESCRIPTION not in bodies["MA"] and "police report" in bodies["MA"]
    # NY's own agencies are named; their phone numbers (unverified, from memory) are not shown.
    assert DESCRIPTION in bodies["NY"] and "New York Attorney General" in bodies["NY"]
    assert "1-800-771-7755" not in bodies["NY"] and "1-800-685-1111" not in bodies["NY"]
    assert "24 months" in bodies["CT"]

    notices = api.get(f"/v1/breach/incidents/{iid}/notices", headers=h).json()
    docs = {(n["state"], n["recipient"]): n for n in notices if n["channel"] == "document"}

    def doc(state: str, who: str) -> str:
        n = docs[(state, who)]
        r = api.get(f"/v1/breach/incidents/{iid}/notices/{n['id']}/document", headers=h)
        assert r.status_code == 200
        return r.text

    ny = doc("NY", "Attorney General, Department of State and Division of State Police")
    at = [ny.index(label) for label in NY_ORDER]
    assert at == sorted(at), "the NY form's fields in its order"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"Date notices to residents were sent: {today}" in ny
    sample = ny.split("---")[-1]
    assert "Sample of the notice to residents" in ny and "New York Attorney General" in sample
    assert "1-800-771-7755" not in sample
    # Staff are told what no source confirms: the form, its deadline, the sample's content.
    assert "Submit: " in ny and "UNVERIFIED: confirm with counsel" in ny
    assert "Form fields: unverified" in ny
    assert "Sample notice content UNVERIFIED" in ny and "state_contacts" in ny

    ct = doc("CT", "Attorney General")
    assert "Identity theft protection offered: 24 months" in ct

    ma = doc("MA", "Attorney General and the Office of Consumer Affairs and Business Regulation")
    assert "Residents of this state affected: 1" in ma and "Steps taken and planned:" in ma
    assert DESCRIPTION not in ma.split("---")[-1]  # the sample is a Massachusetts notice

    # South Dakota: the agencies whatever the number: timing, distribution and content.
    sd = doc("SD", "nationwide consumer reporting agencies")
    assert f"Date notices to residents were sent: {today}" in sd
    assert "How residents were notified: email (1)" in sd
    assert "Sample of the notice to residents" in sd

    everything = "\n".join(doc(s, w) for s, w in docs)
    for p in people:
        assert (p.email or "@@") not in everything and p.street not in everything
