"""Console sessions live on the server: sign-out, disabling a user and removing a membership
end them at once (the old cookie is worth nothing); sign-in is throttled per address and
locked per username with a notice; the cookie is Secure unless plain HTTP on loopback."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts import sessions
from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.api.app import create_app
from honorbound.audit import Actor
from honorbound.config import ConfigError, Settings, load_settings
from honorbound.ratelimit import LIMITS
from honorbound.runtime import Runtime
from tests.conftest import Tenant

PASSWORD = "a long staff passphrase 9"
COOKIE = "honorbound_session"
SYSTEM = Actor("test", "system")


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _user(runtime: Runtime, tenant: Tenant, name: str = "officer7") -> int:
    with runtime.db.session() as session:
        return create_user(
            session, name, PASSWORD, "Officer", SYSTEM, tenant.id, Role.PRIVACY_OFFICER
        ).id


def _sign_in(client: TestClient, username: str = "officer7", password: str = PASSWORD) -> int:
    token = _token(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    ).status_code


def _replay(app: FastAPI, cookie: str) -> int:
    """The console as seen by someone holding a copy of the cookie."""
    with TestClient(app, cookies={COOKIE: cookie}) as other:
        return other.get("/console", follow_redirects=False).status_code


def test_cookie_is_dead_after_sign_out(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _user(runtime, tenant)
    assert _sign_in(client) == 303
    stolen = client.cookies[COOKIE]
    assert _replay(app, stolen) == 200
    page = client.get("/console")
    client.post("/logout", data={"csrf_token": _token(page.text)}, follow_redirects=False)
    assert _replay(app, stolen) == 303  # sent to sign in: the session ended on the server


def test_cookie_is_dead_after_user_disabled(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user_id = _user(runtime, tenant)
    assert _sign_in(client) == 303
    stolen = client.cookies[COOKIE]
    with runtime.db.session() as session:
        sessions.disable_user(session, user_id, SYSTEM)
    assert _replay(app, stolen) == 303
    assert _sign_in(client) == 401
    with runtime.db.engine.connect() as conn:
        reasons = conn.execute(text("SELECT end_reason FROM staff_sessions")).scalars().all()
    assert reasons == ["user_disabled"]


def test_cookie_is_dead_when_user_turned_off_in_the_database(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """Another path than disable_user: a row changed directly still ends the session."""
    user_id = _user(runtime, tenant)
    assert _sign_in(client) == 303
    stolen = client.cookies[COOKIE]
    with runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": user_id})
    assert _replay(app, stolen) == 303


def test_cookie_is_dead_after_membership_removed(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user_id = _user(runtime, tenant)
    assert _sign_in(client) == 303
    stolen = client.cookies[COOKIE]
    with runtime.db.session() as session:
        sessions.remove_membership(session, user_id, tenant.id, SYSTEM)
    assert _replay(app, stolen) == 303


def test_session_table_holds_no_usable_token(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _user(runtime, tenant)
    assert _sign_in(client) == 303
    with runtime.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM staff_sessions")).scalars().all()
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{64}", stored[0])


def test_wrong_passwords_lock_the_username_with_a_notice(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _user(runtime, tenant)
    allowed = LIMITS["login.user"][0]
    for _ in range(allowed):
        assert _sign_in(client, password="not the password") == 401
    # Now even the right password is refused for a while, and the page says why and how long.
    token = _token(client.get("/login").text)
    locked = client.post(
        "/login", data={"username": "officer7", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert "locked after too many wrong passwords" in locked.text
    assert "minutes" in locked.text and int(locked.headers["retry-after"]) > 0
    with runtime.db.engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_entries")).scalars().all()
    assert actions.count("user.locked") == 1


def test_sign_in_is_throttled_per_address(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """Spread over many usernames (no lock), one address still runs out of attempts."""
    allowed = LIMITS["login.address"][0]
    for n in range(allowed):
        assert _sign_in(client, username=f"nobody{n}") == 401
    assert _sign_in(client, username="nobody-else") == 429


def test_cookie_is_secure_by_default(runtime: Runtime, tenant: Tenant) -> None:
    assert Settings.model_fields["secure_cookies"].default is True
    secure = runtime.settings.model_copy(update={"secure_cookies": True})
    runtime.settings = secure
    _user(runtime, tenant)
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        token = _token(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": "officer7", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    "overrides",
    [
        {"host": "0.0.0.0"},
        {"host": "192.0.2.10"},
        {"base_url": "https://privacy.example.com"},
    ],
)
def test_insecure_cookies_only_on_plain_http_loopback(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="SECURE_COOKIES may be false only"):
        load_settings(secure_cookies=False, **overrides)
    assert load_settings(**overrides).secure_cookies is True


def test_idle_and_absolute_timeouts(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    import datetime as dt

    _user(runtime, tenant)
    assert _sign_in(client) == 303
    with runtime.db.engine.connect() as conn:
        created = conn.execute(text("SELECT created_at FROM staff_sessions")).scalar_one()
    cookie_token = _cookie_token(client)
    start = dt.datetime.fromisoformat(str(created)).replace(tzinfo=dt.UTC)
    with runtime.db.read_session() as session:
        assert sessions.resolve(session, cookie_token, start + dt.timedelta(minutes=30))
        late = start + sessions.IDLE + dt.timedelta(seconds=1)
        assert sessions.resolve(session, cookie_token, late) is None
        assert sessions.resolve(session, cookie_token, start + sessions.LIFETIME) is None


def _cookie_token(client: TestClient) -> str:
    """The session token inside the signed cookie (itsdangerous-signed base64 JSON)."""
    import base64
    import json

    payload = client.cookies[COOKIE].split(".", 1)[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return str(data["sid"])
