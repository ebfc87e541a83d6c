"""Console forms that meet a domain error show themselves again, through the one handler and
`web/forms.shown_again` (issue 18 step 5): the form's page (not the site's error page), the
status of the error, the sentence, and what was typed kept. Through the real ASGI app; the
expected words are written here, not taken from the code."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import add_staff

ERROR_PAGE = 'id="error-message"'  # the site's error page (error.html)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _admin(client: TestClient, runtime: Runtime, tenant: Tenant) -> str:
    login = add_staff(runtime, tenant, "formadmin", Role.ADMIN)
    token = _token(client.get("/login").text)
    signed = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return _token(client.get("/console/staff").text)


def test_an_invitation_refused_shows_the_staff_form_again(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = _admin(client, runtime, tenant)
    form = {"email": "nope", "role": "agent", "display_name": "Robin Q", "csrf_token": token}
    answer = client.post("/console/staff/invite", data=form)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert ERROR_PAGE not in answer.text
    assert "work email address" in answer.text  # AccountError's sentence
    assert 'value="Robin Q"' in answer.text  # what was typed, kept


def test_a_scrub_file_without_an_identity_column(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = _admin(client, runtime, tenant)
    answer = client.post(
        "/console/scrub",
        data={"purpose": "marketing", "channel": "voice", "csrf_token": token},
        files={"campaign": ("calls.csv", b"name,city\nA,B\n", "text/csv")},
    )
    assert answer.status_code == 422 and ERROR_PAGE not in answer.text
    assert (
        "The file&#39;s first line needs an &#39;identity&#39; (or &#39;phone&#39; or "
        "&#39;email&#39;) column naming who to contact." in answer.text
    )
    assert "list.csv" not in answer.text


def test_a_bad_notice_at_onboarding_and_a_foreign_organization(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = _admin(client, runtime, tenant)
    form = {"slug": "acme", "name": "Client Acme", "privacy_contact": "privacy@acme.example",
            "notice": "organization: [unclosed\n", "csrf_token": token}  # fmt: skip
    answer = client.post("/console/clients", data=form)
    assert answer.status_code == 422 and ERROR_PAGE not in answer.text
    assert "The notice has errors: notice.yaml:2:" in answer.text
    assert 'value="Client Acme"' in answer.text
    switch = client.post("/console/organization", data={"organization_id": "999999",
                                                         "csrf_token": token})  # fmt: skip
    assert switch.status_code == 403
    assert "Not one of your organizations" in switch.text
    assert "Choose one of yours from the list." in switch.text
