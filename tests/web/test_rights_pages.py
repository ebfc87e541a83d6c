"""Rights pages through the real ASGI app: bad input names the field and writes nothing,
agents upload their permission, known and unknown people get the same answer."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import add_staff


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _requests(runtime: Runtime) -> list[RightsRequest]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(RightsRequest).order_by(RightsRequest.id)))
        session.expunge_all()
    return rows


def _post(client: TestClient, tenant: Tenant, files=None, **fields: str):  # type: ignore[no-untyped-def]
    token = _token(client.get(f"/p/{tenant.slug}/requests/new").text)
    data = {
        "csrf_token": token,
        "type": "delete",
        "jurisdiction": "CA",
        "confirmed": "yes",
        **fields,
    }
    return client.post(f"/p/{tenant.slug}/requests", data=data, files=files)


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_bad_requests_name_the_field_and_write_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    someone = person()
    # Plain sentences saying what to do, the refused field marked, what was typed kept.
    cases = {
        "Choose what you are asking for": ("type", {"type": "appeal", "email": someone.email}),
        "Choose the state where you live": (
            "jurisdiction",
            {"jurisdiction": "XX", "email": someone.email},
        ),
        "Check your email address": ("email", {"email": "", "phone": ""}),
        "Check the phone number": ("phone", {"email": someone.email, "phone": "12"}),
    }
    for expected, (field, fields) in cases.items():
        response = _post(client, tenant, **fields)
        assert response.status_code == 422, expected
        assert expected in response.text
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.text), field
        assert f"{field}:" not in response.text
        if fields.get("email"):
            assert f'value="{someone.email}"' in response.text
    agent = _post(client, tenant, email=someone.email, agent="yes", agent_name="Agent Co")
    assert agent.status_code == 422 and "signed permission" in agent.text
    assert 'value="Agent Co"' in agent.text and 'name="agent" value="yes" checked' in agent.text
    assert _requests(runtime) == []


def test_agent_uploads_the_signed_permission(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    document = b"%PDF-1.4 signed permission"
    response = _post(
        client,
        tenant,
        email=person().email,
        agent="yes",
        agent_name="Agent Co",
        files={"permission": ("permission.pdf", document, "application/pdf")},
    )
    assert response.status_code == 200
    [row] = _requests(runtime)
    assert row.manner == "authorized_agent"
    assert row.agent_permission_sha256 == hashlib.sha256(document).hexdigest()


def test_same_answer_for_everyone_and_nothing_from_the_honeypot(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    a = _post(client, tenant, email=person().email)
    b = _post(client, tenant, email=person().email, website="http://spam.invalid")
    assert a.status_code == b.status_code == 200

    # Each gets a reference of the same form (the honeypot's names no request).
    def shape(html: str) -> str:
        return re.sub(r"R-[A-Z0-9]{12}", "R-REF", _without_token(html))

    assert shape(a.text) == shape(b.text)
    assert len(_requests(runtime)) == 1


def test_bad_links_get_a_page_that_says_why(client: TestClient, tenant: Tenant) -> None:
    for action in ("verify", "download"):
        response = client.get(f"/p/{tenant.slug}/requests/{action}?token=1.not-the-secret")
        assert response.status_code == 400
        assert "not valid" in response.text
    assert client.get(f"/p/{tenant.slug}/requests/verify").status_code == 422
    # A reference alone shows nothing and says nothing about whether it exists.
    status = client.get(f"/p/{tenant.slug}/requests/status?reference=R-NOSUCHTHING")
    assert status.status_code == 200 and "Email me a code" in status.text


def test_staff_actions_refuse_bad_input(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _post(client, tenant, email=person().email)
    [row] = _requests(runtime)
    login = add_staff(runtime, tenant, "officer5", Role.PRIVACY_OFFICER)
    token = _token(client.get("/login").text)
    client.post(
        "/login", data={"username": login.username, "password": login.password, "csrf_token": token}
    )
    token = _token(client.get(f"/console/requests/{row.id}").text)
    base = f"/console/requests/{row.id}"
    no_basis = client.post(f"{base}/deny", data={"csrf_token": token})
    assert no_basis.status_code == 422 and "basis:" in no_basis.text
    no_reason = client.post(f"{base}/extend", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 422 and "reason:" in no_reason.text
    not_held = client.post(f"{base}/release", data={"csrf_token": token})
    assert not_held.status_code == 409 and "only a held request" in not_held.text
    assert client.post(f"{base}/explode", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{base}/hold", data={"reason": "x"}).status_code == 403
    assert client.get("/console/requests/424242").status_code == 404
    assert client.get("/console/requests?type=nonsense").status_code == 422
    [after] = _requests(runtime)
    assert after.status == row.status and after.extended_at is None
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RightsRequest)) == 1
