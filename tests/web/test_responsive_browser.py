"""At 390 px wide (a phone), no portal or console page scrolls sideways: wide tables scroll
inside their own wrapper, navigation wraps. Measured in Chromium: document.scrollWidth."""

from __future__ import annotations

from typing import Any

import pytest

from honorbound.accounts.roles import Role
from honorbound.demo import DEMO_DECLARATION
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser
WIDTH = 390
PORTAL = ["", "/choices", "/requests/new", "/requests/status", "/versions/1"]
CONSOLE = [
    "",
    "/requests",
    "/subjects",
    "/consent",
    "/scrub",
    "/data-map",
    "/policy",
    "/obligations",
    "/retention",
    "/systems",
    "/disclosures",
    "/reports",
    "/reports/shine-the-light",
    "/audit",
    "/outbox",
    "/desk",
    "/staff",
]


def _overflow(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_no_page_scrolls_sideways_at_390_px(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id, DEMO_DECLARATION.read_text(encoding="utf-8"))
    phone = {"viewport": {"width": WIDTH, "height": 844}}
    wide: dict[str, int] = {}
    visitor = new_page(**phone)
    for path in PORTAL:
        url = f"/p/{tenant.slug}{path}"
        visitor.goto(live_server.url + url)
        if _overflow(visitor) > WIDTH:
            wide[url] = _overflow(visitor)
    staff = new_page(**phone)
    sign_in(staff, live_server.url, add_staff(runtime, tenant, "admin390", Role.ADMIN))
    for path in CONSOLE:
        url = f"/console{path}"
        staff.goto(live_server.url + url)
        if _overflow(staff) > WIDTH:
            wide[url] = _overflow(staff)
    assert wide == {}, f"pages wider than {WIDTH} px: {wide}"
