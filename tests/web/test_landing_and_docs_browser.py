"""`/` is a landing page leading somewhere; `/docs` renders from files this server serves
(Swagger UI from the swagger-ui-bundle package), so it works offline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_landing_page_links_to_the_portals_and_the_console(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=f"Org {tenant.slug}").click()
    assert page.url == f"{live_server.url}/p/{tenant.slug}"
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Staff sign in").first.click()
    assert page.url == f"{live_server.url}/login"


def test_api_reference_loads_nothing_from_elsewhere(page: Any, live_server: LiveServer) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    page.goto(live_server.url + "/docs")
    # Swagger UI drew the API from /openapi.json: its script ran, from this server.
    page.locator(".swagger-ui .info .title").first.wait_for(timeout=30_000)  # a large spec
    assert "Honorbound" in page.locator(".swagger-ui .title").first.inner_text()
    assert hosts == {urlparse(live_server.url).netloc}
