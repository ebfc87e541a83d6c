"""Console refusals through the real ASGI app: no sign-in, wrong role, missing CSRF token,
bad input. Each writes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.models import Membership, User
from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
from honorbound.rights.intake import NewRequest, take_request
from honorbound.rights.jobs import services
from honorbound.rights.models import Manner, RequestType, RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import AccessLogEntry
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import add_staff

PAGES = [
    "/console",
    "/console/audit",
    "/console/outbox",
    "/console/subjects",
    "/console/consent",
    "/console/data-map",
    "/console/policy",
    "/console/subjects/1",
    "/console/desk",
    "/console/staff",
]


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
    return _token(client.get("/console/subjects").text)


def _subject(runtime: Runtime, tenant: Tenant, email: str | None = None) -> int:
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    with runtime.db.session() as session:
        return upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, email or person().email)],
            Actor("test", "system"),
            rules,
        ).subject.id


def _reveals(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AccessLogEntry)) or 0)


@pytest.mark.parametrize("path", PAGES)
def test_every_console_page_needs_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_reveal_needs_the_role_the_token_and_a_reason(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    subject_id = _subject(runtime, tenant)
    token = _sign_in(client, runtime, tenant, "agent9", Role.AGENT)
    url = f"/console/subjects/{subject_id}/reveal"
    form = {"object_type": "identity", "object_id": "1", "reason": "checking", "csrf_token": token}
    page = client.get(f"/console/subjects/{subject_id}")
    assert page.status_code == 200 and "Reveal value" not in page.text  # agents see masked only
    assert client.post(url, data=form).status_code == 403

    client.cookies.clear()
    token = _sign_in(client, runtime, tenant, "officer9", Role.PRIVACY_OFFICER)
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 403
    no_reason = client.post(url, data={**form, "csrf_token": token, "reason": "  "})
    assert no_reason.status_code == 422 and "reason:" in no_reason.text
    bad_type = client.post(url, data={**form, "csrf_token": token, "object_type": "key"})
    assert bad_type.status_code == 422 and "object_type:" in bad_type.text
    missing = client.post(url, data={**form, "csrf_token": token, "object_id": "999999"})
    assert missing.status_code == 404
    assert _reveals(runtime) == 0
    with runtime.db.session() as session:
        assert not session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "vault.revealed")
        )
    assert client.post(url, data={**form, "csrf_token": token}).status_code == 200
    assert _reveals(runtime) == 1


def test_lookups_reject_bad_identities_and_other_organizations_subjects(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = _subject(runtime, other_tenant)
    token = _sign_in(client, runtime, tenant, "officer8", Role.PRIVACY_OFFICER)
    bad = client.post("/console/subjects", data={"identity": "12", "csrf_token": token})
    assert bad.status_code == 422 and "identity:" in bad.text
    assert client.post("/console/subjects", data={"identity": "x@y.z"}).status_code == 403
    assert client.get(f"/console/subjects/{theirs}").status_code == 404
    assert client.get("/console/subjects/99999999999").status_code == 404
    bad = client.post("/console/consent", data={"identity": "", "csrf_token": token})
    assert bad.status_code == 422 and "identity:" in bad.text
    assert client.get("/console/policy/diff?old=0&new=1").status_code == 422
    assert client.get("/console/audit?before=-1").status_code == 422


def _their_request(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.db.session() as session:
        return take_request(
            session,
            services(runtime),
            tenant.id,
            NewRequest(RequestType.DELETE, "CA", Manner.PHONE, phone=person().phone),
            Actor("test", "system"),
        ).request.id


def test_desk_staff_and_request_work_keep_to_role_and_organization(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The new console routes (agent desk, staff accounts, request work): each refuses the
    wrong role, and nothing of another organization can be read or changed from them."""
    their_request = _their_request(runtime, other_tenant)
    their_user = add_staff(runtime, other_tenant, "theirs1", Role.PRIVACY_OFFICER)
    their_email = person().email
    assert _subject(runtime, other_tenant, their_email)
    with runtime.db.session() as session:
        their_id = session.scalar(select(User.id).where(User.username == their_user.username))
    assert their_id is not None

    # Roles: an agent has the desk but not staff accounts nor request work; an auditor has
    # neither desk nor staff accounts.
    token = _sign_in(client, runtime, tenant, "agent11", Role.AGENT)
    assert client.get("/console/desk").status_code == 200
    assert client.get("/console/staff").status_code == 403
    invite = {"email": "new@example.com", "role": "admin", "csrf_token": token}
    assert client.post("/console/staff/invite", data=invite).status_code == 403
    assign = {"assignee": "me", "csrf_token": token}
    assert client.post(f"/console/requests/{their_request}/assign", data=assign).status_code == 403
    client.cookies.clear()
    token = _sign_in(client, runtime, tenant, "auditor11", Role.AUDITOR)
    assert client.get("/console/desk").status_code == 403
    desk = {"identity": their_email, "csrf_token": token}
    assert client.post("/console/desk", data=desk).status_code == 403
    assert client.get("/console/staff").status_code == 403

    # An administrator of this organization cannot touch the other one's staff or requests.
    client.cookies.clear()
    token = _sign_in(client, runtime, tenant, "admin11", Role.ADMIN)
    page = client.get("/console/staff")
    assert page.status_code == 200 and their_user.username not in page.text
    for action, form in (
        ("role", {"role": "agent"}),
        ("disable", {}),
        ("reset-two-factor", {}),
    ):
        answer = client.post(
            f"/console/staff/{their_id}/{action}", data={**form, "csrf_token": token}
        )
        assert answer.status_code == 404, action
    assert client.post(
        "/console/staff/99999999999/disable", data={"csrf_token": token}
    ).status_code in (404, 422)
    assert client.get(f"/console/requests/{their_request}").status_code == 404
    for url, form in (
        (f"/console/requests/{their_request}/assign", {"assignee": "me"}),
        (f"/console/requests/{their_request}/steps/1/retry", {"reason": "x"}),
        (f"/console/requests/{their_request}/steps/1/complete", {"reason": "x"}),
    ):
        assert client.post(url, data={**form, "csrf_token": token}).status_code == 404, url
    # Our request cannot be assigned to their staff member.
    ours = _their_request(runtime, tenant)
    wrong = client.post(
        f"/console/requests/{ours}/assign", data={"assignee": str(their_id), "csrf_token": token}
    )
    assert wrong.status_code == 422 and "Choose a staff member" in wrong.text
    # Their subject's identity is nobody at our desk.
    found = client.post("/console/desk", data={"identity": their_email, "csrf_token": token})
    assert found.status_code == 200 and "No one with this identity is on file" in found.text

    with runtime.db.session() as session:
        user = session.get(User, their_id)
        assert user is not None and user.active
        role = session.scalar(select(Membership.role).where(Membership.user_id == their_id))
        request_row = session.get(RightsRequest, their_request)
    assert role == Role.PRIVACY_OFFICER.value
    assert request_row is not None and request_row.assigned_user_id is None


def test_desk_and_staff_forms_explain_bad_input(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = _sign_in(client, runtime, tenant, "admin12", Role.ADMIN)
    long_name = "x" * 201
    for form, said in (
        ({"email": "nope", "role": "agent"}, "work email address"),
        ({"email": "a@example.com", "role": "owner"}, "Choose a role"),
        ({"email": "a@example.com", "role": "agent", "display_name": long_name}, "Name"),
    ):
        answer = client.post("/console/staff/invite", data={**form, "csrf_token": token})
        assert answer.status_code == 422, form
        assert said.lower() in answer.text.lower(), (form, answer.text[-2000:])
    desk = client.post("/console/desk", data={"identity": "12", "csrf_token": token})
    assert desk.status_code == 422 and "could not read" in desk.text and 'value="12"' in desk.text
    phone = person().phone
    for started, said in (
        ("2999-01-01T00:00", "in the future"),
        ("2001-01-01T00:00", "last 30 days"),
        ("yesterday", "date and time in UTC"),
    ):
        answer = client.post(
            "/console/desk/choice",
            data={
                "identity": phone,
                "call_started": started,
                "action": "opt_out",
                "source": "phone_call",
                "csrf_token": token,
            },
        )
        assert answer.status_code == 422 and said in answer.text, started
    for form, said in (
        ({"action": "maybe", "source": "phone_call"}, "opts out or opts in"),
        ({"action": "opt_out", "source": "web_form"}, "how the choice reached you"),
        ({"action": "opt_out", "source": "phone_call", "purpose": "nap"}, "from the list"),
    ):
        answer = client.post(
            "/console/desk/choice",
            data={**form, "identity": phone, "call_started": "", "csrf_token": token},
        )
        assert answer.status_code == 422 and said in answer.text, form
    answer = client.post(
        "/console/desk/request",
        data={"identity": phone, "type": "appeal", "jurisdiction": "CA", "csrf_token": token},
    )
    assert answer.status_code == 422 and "what the caller asks for" in answer.text
