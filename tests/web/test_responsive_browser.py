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
    "/breach",
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


CELLS = """() => {
  const row = document.querySelector('table.datamap tbody tr');
  const table = row.closest('table').getBoundingClientRect().width;
  return {table, cells: [...row.children].map(c => {
    const box = c.getBoundingClientRect();
    return {left: box.left, width: box.width,
            label: getComputedStyle(c, '::before').content};
  })};
}"""


def test_the_notice_table_is_a_card_per_category_on_a_phone(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    """Looked at: at 390 px the notice's four columns were two words wide and the page 17,800
    px tall. On a phone each category is a card, each cell full width under its column's name;
    at 1280 px the table keeps its columns. Each purpose, recipient and period is a list item."""
    adopt(runtime, tenant.id, DEMO_DECLARATION.read_text(encoding="utf-8"))
    page = new_page(viewport={"width": WIDTH, "height": 844})
    page.goto(f"{live_server.url}/p/{tenant.slug}")
    phone = page.evaluate(CELLS)
    assert all(cell["width"] >= 0.95 * phone["table"] for cell in phone["cells"]), phone
    labels = [cell["label"] for cell in phone["cells"][1:]]
    assert labels == ['"Why we use it"', '"Who receives it"', '"How long we keep it"'], labels
    first = page.locator("table.datamap tbody tr").first
    assert first.locator("td").first.locator("li").count() >= 2
    page.set_viewport_size({"width": 1280, "height": 900})
    desk = page.evaluate(CELLS)
    lefts = [cell["left"] for cell in desk["cells"]]
    assert lefts == sorted(lefts) and len(set(lefts)) == 4, desk  # side by side
    assert all(cell["label"] in ("none", "normal") for cell in desk["cells"][1:]), desk


SMALLEST_TEXT = """() => Math.min(...[...document.querySelectorAll('svg.chart text')]
  .map(t => t.getBoundingClientRect().height))"""


def test_dashboard_charts_stay_legible_on_a_phone(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    """Looked at: at 390 px the dashboard's charts were scaled to the screen and their labels
    drawn about 6 px tall. They keep their size and scroll inside their figure instead; the
    page itself still does not scroll sideways."""
    page = new_page(viewport={"width": WIDTH, "height": 844})
    sign_in(page, live_server.url, add_staff(runtime, tenant, "officer390", Role.PRIVACY_OFFICER))
    assert page.locator("svg.chart").count() == 3
    assert page.evaluate(SMALLEST_TEXT) >= 10
    assert _overflow(page) <= WIDTH
    # The newest week (the last label, drawn rightmost) is on screen without scrolling.
    newest = page.evaluate(
        "() => [...document.querySelectorAll('svg.chart')].map(svg => {"
        " const labels = [...svg.querySelectorAll('text[text-anchor=middle]')];"
        " return labels[labels.length - 1].getBoundingClientRect().right; })"
    )
    assert newest and max(newest) <= WIDTH, newest
    # On a wide screen the charts fit their figures: no scrollbar inside them.
    page.set_viewport_size({"width": 1280, "height": 900})
    inside = page.evaluate(
        "() => [...document.querySelectorAll('figure.chart')]"
        ".map(f => f.scrollWidth - f.clientWidth)"
    )
    assert max(inside) <= 0, inside
