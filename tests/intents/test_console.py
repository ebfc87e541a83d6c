"""The console's list of requests said in conversations: staff confirm or dismiss, through
the real ASGI app with a signed-in session and its CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.intents.test_api import CALL, _adopt, _decision, _ingest, _subject
from tests.web.conftest import add_staff


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
    return _token(client.get("/console/conversation-intents").text)


def _events(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def test_staff_confirm_and_dismiss_queued_opt_outs_in_the_console(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant, review=True)
    sid, who = _subject(client, tenant)
    first = _ingest(client, tenant, sid, CALL)["intents"][0]["id"]
    other, who2 = _subject(client, tenant)
    second = _ingest(client, tenant, other, "Customer: take me off your list")["intents"][0]["id"]

    token = _sign_in(client, runtime, tenant, Role.AGENT)
    page = client.get("/console/conversation-intents")
    assert page.status_code == 200
    assert f"/console/conversation-intents/{first}" in page.text
    assert "stop calling" not in page.text  # the words stay in the sealed interaction
    assert who.phone not in page.text

    forged = client.post(
        f"/console/conversation-intents/{first}", data={"decision": "confirm", "csrf_token": "x"}
    )
    assert forged.status_code == 403 and _events(runtime) == 0

    done = client.post(
        f"/console/conversation-intents/{first}",
        data={"decision": "confirm", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "opted_out" in _decision(client, tenant, who.phone, "voice")
    again = client.post(
        f"/console/conversation-intents/{first}",
        data={"decision": "dismiss", "csrf_token": token},
    )
    assert again.status_code == 409 and "decided already" in again.text

    client.post(
        f"/console/conversation-intents/{second}",
        data={"decision": "dismiss", "csrf_token": token},
    )
    assert "opted_out" not in _decision(client, tenant, who2.phone, "voice")
    assert "Nothing waits." in client.get("/console/conversation-intents").text
    bad = client.post(
        f"/console/conversation-intents/{second}", data={"decision": "maybe", "csrf_token": token}
    )
    assert bad.status_code == 422


def test_an_auditor_sees_the_list_but_cannot_decide(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant, review=True)
    sid, _ = _subject(client, tenant)
    intent = _ingest(client, tenant, sid, CALL)["intents"][0]["id"]
    token = _sign_in(client, runtime, tenant, Role.AUDITOR)
    page = client.get("/console/conversation-intents")
    assert page.status_code == 200 and "Confirm" not in page.text
    refused = client.post(
        f"/console/conversation-intents/{intent}",
        data={"decision": "confirm", "csrf_token": token},
    )
    assert refused.status_code == 403 and _events(runtime) == 0
