from __future__ import annotations

import re

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.audit import Actor
from honorbound.runtime import Runtime
from tests.conftest import Tenant

PASSWORD = "correct horse battery"


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _user(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.db.session() as session:
        create_user(
            session,
            "officer1",
            PASSWORD,
            "Officer",
            Actor("test", "system"),
            tenant.id,
            Role.PRIVACY_OFFICER,
        )


def test_login_with_csrf(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _user(runtime, tenant)
    token = _token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "officer1", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    console = client.get("/console")
    assert "Org org-a" in console.text and "Intact" in console.text


def test_login_without_csrf_token_is_refused(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _user(runtime, tenant)
    client.get("/login")
    response = client.post(
        "/login", data={"username": "officer1", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_wrong_password(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _user(runtime, tenant)
    token = _token(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "officer1", "password": "wrong-one-x", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text


def test_logout_needs_csrf(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _user(runtime, tenant)
    token = _token(client.get("/login").text)
    client.post("/login", data={"username": "officer1", "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    page = client.get("/console")
    assert (
        client.post(
            "/logout", data={"csrf_token": _token(page.text)}, follow_redirects=False
        ).status_code
        == 303
    )
    assert client.get("/console", follow_redirects=False).status_code == 303
