"""Every portal page (English and Spanish) and every console page of the demo, photographed at
1280 and 390 px wide for a person to look at (`HONORBOUND_SHOTS`, else
test-output/screenshots/review/). What a look found is checked here too: at 390 px no page
scrolls sideways, the detail pages included (a request, a message), and no checkbox is
stretched wider than a box."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from honorbound.demo import load_demo
from tests.web.conftest import SCREENSHOTS, MailedServer, StaffLogin, link_token, sign_in

pytestmark = pytest.mark.browser
WIDTHS = (1280, 390)
PORTAL = ["", "/versions/1", "/choices", "/requests/new", "/requests/status", "/requests/code"]
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
    "/clients",
    "/intents",
    "/all-clients",
]


def _shots() -> Path:
    folder = Path(os.environ.get("HONORBOUND_SHOTS") or SCREENSHOTS / "review")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _name(prefix: str, path: str) -> str:
    return prefix + (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home")


# Checkboxes drawn wider than a box: the declaration's checkbox once stretched across the card.
STRETCHED = """() => [...document.querySelectorAll('input[type=checkbox]')]
  .map(e => e.getBoundingClientRect().width).filter(w => w > 40)"""


def _photograph(page: Any, url: str, name: str, wide: dict[str, int]) -> None:
    page.goto(url)
    for width in WIDTHS:
        if page.evaluate(STRETCHED):
            wide[f"{name}@{width}: checkbox"] = max(page.evaluate(STRETCHED))
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(_shots() / f"{name}-{width}.png"), full_page=True)
        scroll = int(page.evaluate("() => document.documentElement.scrollWidth"))
        if scroll > width:
            wide[f"{name}@{width}"] = scroll


def test_every_page_photographed_at_1280_and_390(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    printed = load_demo(server.runtime, quiet=True, subjects=5)
    password = re.search(r"username: admin\s+password: (\S+)", printed).group(1)  # type: ignore[union-attr]
    line = next(x for x in printed.splitlines() if "email:" in x and "date of birth:" in x)
    consumer = dict(
        part.split(": ", 1) for part in (p.strip() for p in line.split("  ")) if ": " in part
    )
    wide: dict[str, int] = {}

    visitor = new_page()
    visitor.goto(f"{base}/p/demo/requests/new")
    visitor.get_by_label("I want to").select_option("access_specific")
    visitor.get_by_label("State where you live", exact=True).select_option(consumer["state"])
    visitor.get_by_label("Email address").fill(consumer["email"])
    visitor.get_by_role("button", name="Send request").click()
    for width in WIDTHS:
        visitor.set_viewport_size({"width": width, "height": 900})
        visitor.screenshot(path=str(_shots() / f"portal-en-accepted-{width}.png"), full_page=True)
    [ack] = server.smtp.wait_for(1)
    verify = f"/p/demo/requests/verify?token={link_token(ack, 'verify')}"
    _photograph(visitor, base + verify, "portal-en-verify", wide)
    visitor.set_viewport_size({"width": 1280, "height": 900})
    visitor.get_by_label("Phone number we have for you").fill("0")
    visitor.get_by_role("button", name="Confirm my request").click()
    for width in WIDTHS:
        visitor.set_viewport_size({"width": width, "height": 900})
        visitor.screenshot(path=str(_shots() / f"portal-en-refused-{width}.png"), full_page=True)

    for lang in ("en", "es"):
        page = new_page(extra_http_headers={"Accept-Language": lang})
        for path in [*PORTAL, "/no-such-page"]:
            _photograph(page, f"{base}/p/demo{path}", _name(f"portal-{lang}-", path), wide)

    staff = new_page()
    sign_in(staff, base, StaffLogin("admin", password))
    for path in CONSOLE:
        _photograph(staff, f"{base}/console{path}", _name("console-", path), wide)
    staff.goto(f"{base}/console/requests")
    staff.locator("#queue tbody tr a").first.click()
    _photograph(staff, staff.url, "console-request", wide)
    staff.goto(f"{base}/console/outbox")
    staff.locator("table a[href^='/console/outbox/']").first.click()
    _photograph(staff, staff.url, "console-outbox-message", wide)
    assert wide == {}, f"pages wider than the window: {wide}"
