"""The errors the routers used to word by hand, raised through the real app's routes: each
answer's status, type, title and members are written out here, as a client reads them (not
derived from the error classes). Issue 18 step 5."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.retention.factory import add_subject, adopt
from tests.support.people import person

PROBLEM = "application/problem+json"
URN = "urn:honorbound:problem:"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = dict(response.json())
    assert body["status"] == status
    return body


def _client_id(client: TestClient, bpo: Tenant) -> int:
    body = {"slug": "acme", "name": "Client acme", "privacy_contact": "privacy@acme.example"}
    made = client.post("/v1/clients", json=body, headers=bpo.headers())
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_bad_notice_at_onboarding_names_each_line(client: TestClient, tenant: Tenant) -> None:
    body = {"slug": "acme", "name": "Client acme", "privacy_contact": "privacy@acme.example",
            "notice": "organization: [unclosed\n"}  # fmt: skip
    answer = _problem(client.post("/v1/clients", json=body, headers=tenant.headers()), 422)
    assert answer["type"] == URN + "adoption-error"
    assert answer["title"] == "Declaration has errors"
    assert answer["detail"].startswith("1 problem(s); the first: notice.yaml:")
    assert answer["detail"].endswith(". Nothing was adopted.")
    # The parser finds the unclosed list at the end of the text, line 2.
    assert [e["field"] for e in answer["errors"]] == ["line 2"]


def test_an_account_refusal_and_an_override_error(client: TestClient, tenant: Tenant) -> None:
    client_id = _client_id(client, tenant)
    key = {"name": "CRM", "role": "no-such-role"}
    answer = _problem(
        client.post(f"/v1/clients/{client_id}/api-keys", json=key, headers=tenant.headers()), 422
    )
    assert answer["type"] == URN + "account-error" and answer["title"] == "Refused"
    assert "errors" not in answer and answer["detail"]
    hours = {"calling_hours": {"start": "25:00", "end": "20:00"}}
    answer = _problem(
        client.put(f"/v1/clients/{client_id}/overrides", json=hours, headers=tenant.headers()),
        422,
    )
    assert answer["type"] == URN + "override-error" and answer["title"] == "Invalid override"
    assert answer["errors"] == [{"field": "calling_hours.start", "message": answer["detail"]}]


def test_consent_identity_kind_and_ledger_field(client: TestClient, tenant: Tenant) -> None:
    writer = tenant.headers(Role.AGENT)
    event = {"identity": person().email, "kind": "shoe_size", "purpose": "marketing",
             "channel": "email", "action": "opt_in", "source": "web_form"}  # fmt: skip
    answer = _problem(client.post("/v1/consent/events", json=event, headers=writer), 422)
    assert answer["type"] == URN + "invalid-identity" and answer["title"] == "Invalid identity"
    assert answer["errors"] == [
        {"field": "kind", "message": "'shoe_size' is not a valid IdentityKind"}
    ]
    event = {**event, "kind": "email", "identity": "not an address"}
    answer = _problem(client.post("/v1/consent/events", json=event, headers=writer), 422)
    assert [e["field"] for e in answer["errors"]] == ["identity"]
    event = {**event, "identity": person().email, "purpose": "no-such-purpose"}
    answer = _problem(client.post("/v1/consent/events", json=event, headers=writer), 422)
    assert answer["type"] == URN + "ledger-error"
    assert answer["title"] == "Invalid consent event"
    assert [e["field"] for e in answer["errors"]] == ["purpose"]


def test_the_national_registry_bad_lines_and_the_unconfirmed_removal(
    client: TestClient, tenant: Tenant
) -> None:
    admin = tenant.headers(Role.ADMIN)
    url = "/v1/dnc/national?registry_date=2026-12-01"
    bad = "4155550100\nnot a number\n4155550101\n"
    answer = _problem(client.post(url, content=bad, headers=admin), 422)
    assert answer["type"] == URN + "dnc-file-error"
    assert answer["title"] == "Bad lines in the registry file"
    assert [e["field"] for e in answer["errors"]] == ["line 2"]
    held = "".join(f"41555501{n:02d}\n" for n in range(10))
    assert client.post(url, content=held, headers=admin).status_code == 201
    later = "/v1/dnc/national?registry_date=2026-12-02"
    answer = _problem(client.post(later, content="4155550100\n", headers=admin), 409)
    assert answer["type"] == URN + "removal-needs-confirmation"
    assert answer["title"] == "Removal needs confirmation"
    assert answer["removed"] == 9 and answer["held"] == 10
    assert [e["field"] for e in answer["errors"]] == ["confirm_removal"]


def test_vault_members(client: TestClient, tenant: Tenant, adopted_policy: object) -> None:
    agent = tenant.headers(Role.AGENT)
    answer = _problem(
        client.post("/v1/subjects/lookup", json={"kind": "email", "value": "nope"}, headers=agent),
        422,
    )
    assert answer["title"] == "Invalid request"
    assert [e["field"] for e in answer["errors"]] == ["body.value"]
    assert answer["detail"].startswith("body.value ")
    one, two = person(), person()
    ids = []
    for who in (one, two):
        made = client.post("/v1/subjects", json={"type": "user", "identities": [
            {"kind": "email", "value": who.email}]}, headers=agent)  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    both = {"type": "user", "identities": [{"kind": "email", "value": one.email},
                                            {"kind": "email", "value": two.email}]}  # fmt: skip
    answer = _problem(client.post("/v1/subjects", json=both, headers=agent), 409)
    assert answer["type"] == URN + "subject-conflict"
    assert answer["title"] == "Identities belong to different subjects"
    assert answer["subject_ids"] == sorted(ids)
    assert answer["detail"] == (
        "The identities given belong to more than one subject; merge them first "
        "(POST /v1/subjects/merge)."
    )
    bad = {"type": "user", "identities": [{"kind": "email", "value": one.email},
                                           {"kind": "phone", "value": "12"}]}  # fmt: skip
    answer = _problem(client.post("/v1/subjects", json=bad, headers=agent), 422)
    assert answer["type"] == URN + "invalid-identity-at"
    assert [e["field"] for e in answer["errors"]] == ["body.identities[1].value"]
    answer = _problem(client.get("/v1/subjects/999999", headers=agent), 404)
    assert answer["type"] == URN + "subject-not-found" and answer["title"] == "Not found"
    assert answer["detail"] == "No subject with that id in your organization."
    dates = {"account_closed_at": "2999-01-01T00:00:00Z"}
    answer = _problem(
        client.post(f"/v1/subjects/{ids[0]}/lifecycle", json=dates, headers=agent), 422
    )
    assert answer["type"] == URN + "invalid-lifecycle-date"
    assert answer["errors"] == [
        {"field": "body.account_closed_at", "message": "must not be in the future"}
    ]
    assert answer["detail"] == "body.account_closed_at must not be in the future."


def test_the_protocols_answer_their_own_bodies(client: TestClient, tenant: Tenant) -> None:
    # DRP s.3.06: {"code", "message"} (a string code), the bearer challenge on a 401.
    drp = client.get("/v1/agent/some-agent")
    assert drp.status_code == 401 and drp.headers["content-type"] == "application/json"
    assert drp.headers["www-authenticate"] == "Bearer"
    assert set(drp.json()) == {"code", "message"} and drp.json()["code"] == "401"
    # OpenDSR s.7.6: {"error": {"code", "message", "errors"}}, not stored by caches.
    dsr = client.get(
        "/v1/opengdpr_requests/00000000-0000-4000-8000-000000000000",
        headers=tenant.headers(Role.ADMIN),
    )
    assert dsr.status_code == 404 and dsr.headers["cache-control"] == "no-store"
    error = dsr.json()["error"]
    assert set(dsr.json()) == {"error"} and error["code"] == 404
    assert error["errors"][0]["domain"] == "Request"
    # The set-up routes are the API's: a problem document.
    agent = {"agent_id": "a", "name": "Agent", "verify_key": "not base64!"}
    answer = _problem(
        client.post("/v1/protocols/drp/agents", json=agent, headers=tenant.headers()), 422
    )
    assert answer["type"] == URN + "rights-error" and answer["title"] == "Invalid request"
    assert [e["field"] for e in answer["errors"]] == ["agent_id"]


def test_a_refused_export_lists_the_guards_reasons(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    subject = add_subject(runtime, tenant.id)
    body = {"recipient": "nobody", "categories": ["user.contact"], "purpose": "direct-mail",
            "subject_ids": [subject]}  # fmt: skip
    answer = _problem(
        client.post(
            "/v1/disclosures/exports", json=body, headers=tenant.headers(Role.PRIVACY_OFFICER)
        ),
        422,
    )
    assert answer["type"] == URN + "disclosure-refused" and answer["title"] == "Export refused"
    assert [r["code"] for r in answer["reasons"]] == ["recipient_not_declared"]
    assert set(answer["reasons"][0]) == {"code", "message", "subject_id", "category", "record_id"}
    assert [e["field"] for e in answer["errors"]] == ["body.recipient"]
    assert answer["errors"][0]["message"] == answer["reasons"][0]["message"]


def test_a_shared_number_names_the_field(client: TestClient, tenant: Tenant) -> None:
    _client_id(client, tenant)
    body = {"number": "not a number", "clients": ["acme"], "routing": "last_sender"}
    answer = _problem(client.post("/v1/sms-numbers", json=body, headers=tenant.headers()), 422)
    assert answer["type"] == URN + "shared-number-error"
    assert answer["title"] == "Invalid shared number"
    assert [e["field"] for e in answer["errors"]] == ["number"]
