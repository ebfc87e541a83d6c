"""The console's breach pages and the dashboard clock, signed in as staff through the login
form of the real app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.audit import Actor
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant

PASSWORD = "correct horse battery staple 25"


def _sign_in(rt: Runtime, org: Tenant, api: TestClient, role: Role) -> None:
    with rt.db.session() as session:
        create_user(session, f"staff-{role.value}", PASSWORD, "Staff", Actor("test", "system"),
                    org.id, role)  # fmt: skip
    page = api.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    r = api.post(
        "/login",
        data={"username": f"staff-{role.value}", "password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


def test_console_shows_the_clock(rt: Runtime, org: Tenant, api: TestClient) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    resident(rt, org.id, "OR")
    iid = api.post(
        "/v1/breach/incidents",
        headers=h,
        json={"title": "Ransomware on file server", "discovered_at": "2026-11-02T15:00:00Z",
              "owner": "Privacy Office", "clients": ["client-a"]},
    ).json()["id"]  # fmt: skip
    api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["web_form"]})
    _sign_in(rt, org, api, Role.PRIVACY_OFFICER)
    page = api.get("/console/breach")
    assert page.status_code == 200
    assert "Ransomware on file server" in page.text
    # OR's processor duty: 10 days from 2026-11-02 15:00, long past on the test's clock.
    assert "client-a (OR)" in page.text and "overdue" in page.text
    detail = api.get(f"/console/breach/{iid}")
    assert detail.status_code == 200
    assert "2026-11-12 15:00" in detail.text and "breach.affected_selected" in detail.text
    # Staff see the status of every rule: OR's 45 days checked against the reference; the
    # agencies' contact details (from memory) unverified, with the details held shown to staff.
    assert "confirmed (us-privacy-rules.md s.6" in detail.text
    checks = detail.text[detail.text.index('id="checks"') :]
    assert "Equifax" in checks and "1-800-685-1111" in checks
    assert "unverified: no source confirms it; confirm with counsel" in checks
    assert api.get("/console/breach/424242").status_code == 404
    home = api.get("/console")
    assert "Breach clocks" in home.text and "Ransomware on file server" in home.text


def test_agents_see_no_breach_pages(rt: Runtime, org: Tenant, api: TestClient) -> None:
    _sign_in(rt, org, api, Role.AGENT)
    assert api.get("/console/breach").status_code == 403
    assert "Breach clocks" not in api.get("/console").text
