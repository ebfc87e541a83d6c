"""Issue 14, defect 12: staff record an opt-out received by email, on a phone call or in a
letter, with that true source, through the API and the console form; the role is checked."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, reasons
from tests.support.people import person
from tests.web.conftest import add_staff

URL = "/v1/consent/received-opt-outs"
DAYTIME = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)  # a weekday afternoon in US zones


def _rows(runtime: Runtime) -> list[ConsentEvent]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        session.expunge_all()
    return rows


def test_an_agent_records_a_call_and_a_letter_with_their_sources(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    caller, writer = person(), person()
    said_on = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(microsecond=0)
    call = client.post(
        URL,
        json={
            "identity": caller.phone,
            "source": "phone_call",
            "purpose": "marketing",
            "channel": "voice",
            "received_at": said_on.isoformat(),
            "reference": "call-4471",
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert call.status_code == 201, call.text
    out = call.json()
    assert (out["source"], out["action"], out["purpose"], out["channel"]) == (
        "phone_call",
        "opt_out",
        "marketing",
        "voice",
    )
    assert out["evidence"] == {"request_ref": "call-4471"} and out["created"] is True
    assert dt.datetime.fromisoformat(out["occurred_at"]).replace(tzinfo=dt.UTC) == said_on
    letter = client.post(
        URL,
        json={"identity": writer.email, "source": "letter", "reference": "letter/2026-118"},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    assert letter.status_code == 201 and letter.json()["purpose"] == "all"
    # The same reference again: nothing new.
    again = client.post(
        URL,
        json={"identity": writer.email, "source": "letter", "reference": "letter/2026-118"},
        headers=tenant.headers(Role.AGENT),
    )
    assert again.status_code == 201 and again.json()["created"] is False
    assert [(r.source, r.purpose, r.channel) for r in _rows(runtime)] == [
        ("phone_call", "marketing", "voice"),
        ("letter", "all", "all"),
    ]
    # Decided as opt-outs; the receipt names how it came in.
    assert reasons(decide(runtime, tenant.id, [caller.phone], "marketing", "voice", DAYTIME)) == [
        ("opted_out",)
    ]
    assert reasons(decide(runtime, tenant.id, [writer.email], "profiling", "email")) == [
        ("opted_out",)
    ]
    receipt = client.get(f"/v1/public/consent/receipts/{letter.json()['receipt_id']}").json()
    assert receipt["claims"]["collectionMethod"] == "letter received by staff"


def test_only_staff_may_claim_such_a_source_and_bad_input_is_named(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    who = person().email
    body = {"identity": who, "source": "email"}
    for role in (Role.CLIENT, Role.AUDITOR):
        refused = client.post(URL, json=body, headers=tenant.headers(role))
        assert refused.status_code == 403, role
        assert "consent.record_received" in refused.json()["detail"]
    # Nor through the general endpoint: a connected system cannot say a person wrote to us.
    general = {
        "identity": who,
        "purpose": "marketing",
        "channel": "email",
        "action": "opt_out",
        "source": "letter",
    }
    refused = client.post("/v1/consent/events", json=general, headers=tenant.headers(Role.CLIENT))
    assert refused.status_code == 403
    assert _rows(runtime) == []
    for change, field in (
        ({"source": "carrier_pigeon"}, "source"),
        ({"source": "agent_verbal"}, "source"),
        ({"reference": "Jane Doe"}, "reference"),
        ({"purpose": "everything"}, "purpose"),
        (
            {"received_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()},
            "received_at",
        ),
    ):
        bad = client.post(URL, json={**body, **change}, headers=tenant.headers(Role.AGENT))
        assert bad.status_code == 422, change
        assert bad.json()["errors"][0]["field"] == field, bad.json()
        assert who not in bad.text
    assert _rows(runtime) == []
    # An agent through the general endpoint may.
    ok = client.post("/v1/consent/events", json=general, headers=tenant.headers(Role.AGENT))
    assert ok.status_code == 201 and ok.json()["source"] == "letter"


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, runtime: Runtime, tenant: Tenant, name: str, role: Role) -> str:
    login = add_staff(runtime, tenant, name, role)
    token = _token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return _token(client.get("/console/consent").text)


def test_the_console_form_records_it_for_agents_only(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    who = person().email
    form = {
        "identity": who,
        "source": "email",
        "purpose": "marketing",
        "channel": "email",
        "received_on": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
        "reference": "ticket-889",
    }
    token = _sign_in(client, runtime, tenant, "auditor14", Role.AUDITOR)
    page = client.get("/console/consent")
    assert page.status_code == 200 and 'id="received-opt-out"' not in page.text
    assert (
        client.post("/console/consent/opt-out", data={**form, "csrf_token": token}).status_code
        == 403
    )
    client.cookies.clear()
    token = _sign_in(client, runtime, tenant, "agent14", Role.AGENT)
    assert 'id="received-opt-out"' in client.get("/console/consent").text
    assert (
        client.post("/console/consent/opt-out", data={**form, "csrf_token": "forged"}).status_code
        == 403
    )
    bad = client.post(
        "/console/consent/opt-out", data={**form, "received_on": "yesterday", "csrf_token": token}
    )
    assert bad.status_code == 422 and "received on:" in bad.text
    assert _rows(runtime) == []
    done = client.post("/console/consent/opt-out", data={**form, "csrf_token": token})
    assert done.status_code == 200 and 'id="recorded"' in done.text
    assert who not in done.text  # the page shows the masked identity only
    rows = _rows(runtime)
    assert [(r.source, r.purpose, r.channel, r.action) for r in rows] == [
        ("email", "marketing", "email", "opt_out")
    ]
    assert rows[0].occurred_at.date() == dt.date.today() - dt.timedelta(days=1)
    assert rows[0].actor_id.startswith("user:")
