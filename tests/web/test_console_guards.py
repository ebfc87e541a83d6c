"""Console refusals through the real ASGI app: no sign-in, wrong role, missing CSRF token,
bad input. Each writes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
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


def _subject(runtime: Runtime, tenant: Tenant) -> int:
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
            [IdentityInput(IdentityKind.EMAIL, person().email)],
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
