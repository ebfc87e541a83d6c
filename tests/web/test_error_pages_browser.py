"""Every error a browser meets is an HTML page in the portal's or the console's frame, never
JSON: unknown paths, a GET on an address that only answers a form, a link without its token,
over-long fields (which the forms also bound with maxlength). The JSON API keeps its problem
documents."""

from __future__ import annotations

from typing import Any

import pytest

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser


def _is_page(response: Any) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.url


def test_portal_errors_are_pages_in_the_portal_frame(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    base = f"{live_server.url}/p/{tenant.slug}"
    cases = {
        f"{base}/no-such-page": (404, "There is nothing at this address"),
        f"{base}/requests": (405, "only answers a form"),  # a bookmark of the form's answer
        f"{base}/choices/save": (404, "There is nothing at this address"),
        f"{base}/requests/verify": (422, "This link is incomplete"),  # token cut off
        f"{base}/requests/download": (422, "This link is incomplete"),
        f"{base}/requests/appeal": (422, "This link is incomplete"),
    }
    for url, (status, words) in cases.items():
        response = page.goto(url)
        assert response.status == status, url
        _is_page(response)
        assert words in page.locator("#error-message").inner_text(), url
        # The portal's frame: its navigation, named for the organization.
        nav = page.get_by_role("navigation", name="Privacy portal")
        assert nav.get_by_role("link", name="Make a privacy request").count() == 1
    # An unknown organization: the site's frame, still a page.
    response = page.goto(f"{live_server.url}/p/nobody-here/requests/new")
    assert response.status == 404
    _is_page(response)


def test_over_long_fields_are_bounded_and_answered_with_a_page(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    base = f"{live_server.url}/p/{tenant.slug}"
    for path in ("/requests/new", "/choices", "/requests/appeal?token=abcdef"):
        page.goto(base + path)
        unbounded = page.locator(
            "form input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
            ":not([type=file]):not([maxlength]), form textarea:not([maxlength])"
        )
        names = unbounded.evaluate_all("els => els.map(e => e.name)")
        assert names == [], f"{path}: fields without maxlength: {names}"
    # Sent anyway (a script, an old page): a page in the frame, no JSON, nothing echoed.
    page.goto(f"{base}/requests/new")
    token = page.locator("input[name=csrf_token]").get_attribute("value")
    long_email = "x" * 400 + "@example.com"
    response = page.request.post(
        f"{base}/requests",
        multipart={
            "csrf_token": token,
            "type": "delete",
            "confirmed": "yes",
            "jurisdiction": "CA",
            "email": long_email,
        },
    )
    assert response.status == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "The email address is too long" in response.text()
    assert long_email not in response.text()


def test_console_errors_are_pages_in_the_console_frame(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    sign_in(page, live_server.url, add_staff(runtime, tenant, "officer9", Role.PRIVACY_OFFICER))
    for url, status in (
        ("/console/no-such-page", 404),
        ("/console/requests/12/deny", 405),  # the answer of a form, opened again
        ("/console/requests/not-a-number", 422),
    ):
        response = page.goto(live_server.url + url)
        assert response.status == status, url
        _is_page(response)
        assert page.get_by_role("navigation", name="Console").count() == 1
        assert page.locator("#error-message").count() == 1
    # The JSON API is unchanged.
    api = page.request.get(f"{live_server.url}/v1/no-such-thing")
    assert api.status == 404 and api.headers["content-type"] == "application/problem+json"
