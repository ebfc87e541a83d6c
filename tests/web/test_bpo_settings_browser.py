"""A BPO's per-client settings in Chromium: its administrator sets a client's calling hours
(a window wider than the law first: refused, nothing kept), registers and removes a
sub-processor (an over-long name first, past the browser's own limit: refused; the change
notice arrives by mail), and configures a shared SMS number (a bad number first). Each result
is read back through the API and the rows on disk, not the pages' own code. Screenshots at 1280
and 390 px are kept in test-output/screenshots/bpo-settings-*.png."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.accounts.service import issue_api_key
from honorbound.audit import Actor
from honorbound.runtime import Runtime
from tests.conftest import make_tenant
from tests.web.conftest import SCREENSHOTS, MailedServer, add_staff, mail_text, sign_in

pytestmark = pytest.mark.browser


def _rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _shots(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"bpo-settings-{name}-{width}.png"), full_page=True)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width + 1, (name, width, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def _onboard(page: Any, slug: str, name: str) -> None:
    page.get_by_label("Slug").fill(slug)
    page.get_by_label("Client name", exact=True).fill(name)
    page.get_by_label("The controller's privacy contact (email)").fill(f"privacy@{slug}.example")
    page.get_by_role("button", name="Onboard client").click()


def test_bpo_admin_sets_hours_subprocessors_and_a_shared_number(
    new_page: Any, mailed_server: MailedServer
) -> None:
    runtime, base = mailed_server.runtime, mailed_server.url
    bpo = make_tenant(runtime, "bpo")
    with runtime.db.session() as session:
        key = issue_api_key(session, bpo.id, Role.ADMIN, "test", Actor("test", "system"))[1]
    api = {"Authorization": f"Bearer {key}"}
    admin = new_page()
    sign_in(admin, base, add_staff(runtime, bpo, "bpo.admin", Role.ADMIN))
    admin.goto(f"{base}/console/clients")
    _onboard(admin, "acme", "Acme Corp")
    admin.wait_for_url(re.compile(r".*/console/clients/\d+\?onboarded=1"))
    acme_url = admin.url.split("?")[0]
    acme_id = int(acme_url.rsplit("/", 1)[1])

    # Calling hours: wider than the federal window first (refused, what was typed kept).
    admin.get_by_label("From (HH:MM, callee's local time)").fill("07:30")
    admin.get_by_label("Until (HH:MM)").fill("18:00")
    admin.get_by_role("button", name="Save calling hours").click()
    assert "only be stricter than the law" in admin.locator("#client-error").inner_text()
    assert admin.get_by_label("From (HH:MM, callee's local time)").input_value() == "07:30"
    assert _rows(runtime, "SELECT count(*) FROM consent_contact_overrides") == [(0,)]
    admin.get_by_label("From (HH:MM, callee's local time)").fill("10:00")
    admin.get_by_label("The counsel position it follows (optional)").fill("memo 2026-12")
    admin.get_by_role("button", name="Save calling hours").click()
    admin.wait_for_url(acme_url)
    assert "10:00" in admin.locator("#hours-current").inner_text()
    got = httpx.get(f"{base}/v1/clients/{acme_id}/overrides", headers=api).json()
    assert got["calling_hours"] == {"start": "10:00", "end": "18:00"}
    assert got["note"] == "memo 2026-12"

    # A sub-processor: an over-long name first (the browser's limit removed), then a good one.
    admin.evaluate("() => document.querySelector('#sub-name').removeAttribute('maxlength')")
    admin.get_by_label("Sub-processor's name").fill("x" * 201)
    admin.get_by_label("What it does with the data").fill("Outbound dialing")
    admin.get_by_label("Where it processes the data").fill("United States")
    admin.get_by_role("button", name="Add sub-processor and notify the client").click()
    assert "too long" in admin.get_by_role("alert").inner_text()
    assert _rows(runtime, "SELECT count(*) FROM subprocessors") == [(0,)]
    admin.goto(acme_url)
    admin.get_by_label("Sub-processor's name").fill("Dialer Co")
    admin.get_by_label("What it does with the data").fill("Outbound dialing")
    admin.get_by_label("Where it processes the data").fill("United States")
    admin.get_by_label("Data categories it receives").fill("user.contact.phone_number")
    admin.get_by_role("button", name="Add sub-processor and notify the client").click()
    admin.wait_for_url(acme_url)
    row = admin.locator("#subprocessor-list tbody tr").first
    assert "Dialer Co" in row.inner_text() and "user.contact.phone_number" in row.inner_text()
    mailed = mailed_server.smtp.wait_for(1)[-1]
    assert "privacy@acme.example" in mailed["To"] and "Dialer Co" in mail_text(mailed)
    listed = httpx.get(f"{base}/v1/clients/{acme_id}/subprocessors", headers=api).json()
    assert [s["name"] for s in listed["items"]] == ["Dialer Co"]
    _shots(admin, "client")
    admin.get_by_role("button", name="Remove Dialer Co").click()
    admin.wait_for_url(acme_url)
    assert "None registered" in admin.locator("#subprocessor-list").inner_text()
    assert httpx.get(f"{base}/v1/clients/{acme_id}/subprocessors", headers=api).json() == {
        "items": []
    }

    # A shared number: a bad number first, then one Acme sends from.
    admin.goto(f"{base}/console/clients")
    admin.get_by_label("Number (+1…) or short code").fill("not a number")
    admin.get_by_label("Acme Corp").check()
    admin.get_by_role("button", name="Save shared number").click()
    assert "phone number" in admin.locator("#number-error").inner_text()
    assert _rows(runtime, "SELECT count(*) FROM bpo_shared_numbers") == [(0,)]
    admin.get_by_label("Number (+1…) or short code").fill("+1 212 555 0190")
    admin.locator("#sms-routing").select_option("all")
    admin.get_by_role("button", name="Save shared number").click()
    admin.wait_for_url(re.compile(r".*/console/clients(#sms-numbers)?$"))
    assert "+12125550190" in admin.locator("#sms-number-list").inner_text()
    numbers = httpx.get(f"{base}/v1/sms-numbers", headers=api).json()["items"]
    assert numbers == [{"number": "+12125550190", "routing": "all", "clients": ["acme"]}]
    _shots(admin, "clients")
