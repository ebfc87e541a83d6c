"""WCAG basics on every page, checked in the browser: one h1, a language, a label for every
field, a visible focus outline, keyboard reach, and nothing loaded from another origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser

PUBLIC = [
    "/",
    "/login",
    "/p/{slug}",
    "/p/{slug}/choices",
    "/p/{slug}/requests/new",
    "/p/{slug}/requests/status",
]
CONSOLE = [
    "/console",
    "/console/requests",
    "/console/subjects",
    "/console/consent",
    "/console/scrub",
    "/console/data-map",
    "/console/policy",
    "/console/retention",
    "/console/disclosures",
    "/console/reports",
    "/console/audit",
    "/console/outbox",
]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !el.closest('[aria-hidden=true]'))
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def _check_page(page: Any, url: str, origins: set[str]) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert page.locator("h1").count() == 1, url
    assert page.evaluate("document.documentElement.lang") == "en", url
    assert page.evaluate(UNLABELLED) == [], url
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), url
    # The first Tab reaches the skip link, and focus is drawn.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip", url
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), url
    assert origins == {urlparse(url).netloc}, origins


def test_every_page_meets_the_basics(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(urlparse(request.url).netloc))
    for path in PUBLIC:
        _check_page(page, live_server.url + path.format(slug=tenant.slug), origins)
    sign_in(page, live_server.url, add_staff(runtime, tenant, "officer", Role.PRIVACY_OFFICER))
    for path in CONSOLE:
        _check_page(page, live_server.url + path, origins)
