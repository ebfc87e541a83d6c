"""Public portal journeys in a real Chromium: the notice with its history, and the privacy
choices page with and without Global Privacy Control."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import DECLARATION, LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser


def _events(runtime: Runtime, tenant: Tenant, value: str) -> list[tuple[str, str, str]]:
    ref = identify(runtime.keys, tenant.id, value)
    with runtime.db.session() as session:
        rows = session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.organization_id == tenant.id, ConsentEvent.identity_index == ref.index
            )
            .order_by(ConsentEvent.id)
        ).all()
    return [(e.purpose, e.action, e.source) for e in rows]


def test_notice_from_the_adopted_declaration_with_history(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    text = DECLARATION.read_text()
    adopt(runtime, tenant.id, text)
    adopt(
        runtime, tenant.id, text.replace("effective_date: 2026-01-01", "effective_date: 2026-03-01")
    )
    page.goto(f"{live_server.url}/p/{tenant.slug}")
    assert page.get_by_role("heading", level=1).inner_text() == "Privacy notice"
    assert "Effective March 1, 2026; version 2" in page.locator(".meta").inner_text()
    health = page.get_by_role("row", name="Health information")
    assert "Sensitive" in health.inner_text()
    assert "We do not sell personal information." in page.content()
    assert "An authorized agent may ask for you." in page.content()
    page.get_by_role("link", name="Version 1").click()
    assert "This is an earlier version." in page.locator(".meta").inner_text()
    assert "Effective January 1, 2026; version 1" in page.locator(".meta").inner_text()
    assert page.goto(f"{live_server.url}/p/{tenant.slug}/versions/7").status == 404
    assert page.goto(f"{live_server.url}/p/no-such-org").status == 404
    # Nothing is fetched from another origin, and the page says so to the browser.
    response = page.goto(f"{live_server.url}/p/{tenant.slug}")
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_gpc_header_changes_the_choices_page_and_is_recorded(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    url = f"{live_server.url}/p/{tenant.slug}/choices"

    plain = new_page()
    plain.goto(url)
    assert (
        "did not send a Global Privacy Control signal" in plain.locator("#gpc-status").inner_text()
    )
    assert not plain.get_by_label("Do not sell or share my personal information").is_checked()

    gpc = new_page(extra_http_headers={"Sec-GPC": "1"})
    gpc.goto(url)
    assert "sent a Global Privacy Control signal" in gpc.locator("#gpc-status").inner_text()
    assert gpc.get_by_label("Do not sell or share my personal information").is_checked()
    assert gpc.get_by_label(
        "Do not use my personal information for targeted advertising"
    ).is_checked()

    # Unticking does not undo the signal: in California GPC is itself a valid opt-out.
    someone = person()
    gpc.get_by_label("Do not sell or share my personal information").uncheck()
    gpc.get_by_label("Do not use my personal information for targeted advertising").uncheck()
    gpc.get_by_label("Limit the use of my sensitive personal information").check()
    gpc.get_by_label("Email address or phone number we know you by").fill(someone.email)
    gpc.get_by_label("State where you live (optional)").select_option("CA")  # CCPA: GPC binds
    gpc.get_by_role("button", name="Save my choices").click()
    assert "Your choices are recorded" in gpc.locator("#choices-done").inner_text()
    assert sorted(_events(runtime, tenant, someone.email)) == [
        ("sale", "opt_out", "gpc_signal"),
        ("sensitive_data_use", "opt_out", "web_form"),
        ("sharing", "opt_out", "gpc_signal"),
        ("targeted_advertising", "opt_out", "gpc_signal"),
    ]


def test_opt_out_in_the_portal_shows_in_the_console_ledger(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    someone = person()
    consumer = new_page()
    consumer.goto(f"{live_server.url}/p/{tenant.slug}/choices")
    # The honeypot field is out of sight and out of the tab order.
    assert (
        not consumer.locator("#website").is_visible()
        or consumer.locator("#website").bounding_box()["x"] < 0
    )
    consumer.get_by_label("Do not sell or share my personal information").check()
    consumer.get_by_label("Email address or phone number we know you by").fill(someone.phone)
    consumer.get_by_role("button", name="Save my choices").click()
    expect(consumer.locator("#choices-done")).to_be_visible()

    staff = new_page()
    sign_in(staff, live_server.url, add_staff(runtime, tenant, "agent7", Role.AGENT))
    staff.get_by_role("link", name="Consent ledger").click()
    staff.get_by_label("Email address or phone number").fill(someone.phone)
    staff.get_by_role("button", name="Show choices").click()
    state = staff.locator("#consent-state")
    assert state.get_by_role("row", name="sale").count() == 1
    assert "opt-out" in state.get_by_role("row", name="sale").inner_text()
    assert state.get_by_role("row", name="sharing").count() == 1
    assert "web form" in staff.locator("#consent-history").inner_text()
    assert someone.phone not in staff.content()


def test_one_click_unsubscribe(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    from honorbound.consent import links

    someone, other = person(), person()
    by_page = links.issue(
        runtime.keys, tenant.id, identify(runtime.keys, tenant.id, someone.email), "newsletter"
    )
    by_client = links.issue(
        runtime.keys, tenant.id, identify(runtime.keys, tenant.id, other.email), "newsletter"
    )
    # A person opens the link from the mail and confirms with the button.
    page = new_page()
    page.goto(f"{live_server.url}/u/{by_page}")
    assert "Stop email from Org org-a on the list" in page.get_by_role("main").inner_text()
    page.keyboard.press("Tab")  # skip link
    page.get_by_role("button", name="Unsubscribe").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    assert _events(runtime, tenant, someone.email) == [("marketing", "opt_out", "email_link")]
    # A mail client's RFC 8058 one-click POST acts without a page.
    response = page.request.post(
        f"{live_server.url}/u/{by_client}", form={"List-Unsubscribe": "One-Click"}
    )
    assert response.status == 200
    assert _events(runtime, tenant, other.email) == [("marketing", "opt_out", "email_one_click")]
    # An altered link is refused and records nothing.
    broken = page.goto(f"{live_server.url}/u/{by_page[:-3]}xyz")
    assert broken.status == 400 and "not valid" in page.get_by_role("alert").inner_text()


def test_preference_center_through_a_signed_link(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    import re

    from honorbound.consent import links

    someone = person()
    staff = new_page()
    sign_in(staff, live_server.url, add_staff(runtime, tenant, "agent8", Role.AGENT))
    staff.get_by_role("link", name="Consent ledger").click()
    staff.get_by_label("Email address or phone number").fill(someone.email)
    staff.get_by_role("button", name="Show choices").click()
    match = re.search(r"/p/org-a/preferences/(\S+)", staff.locator("#preference-link").inner_text())
    assert match
    url = f"{live_server.url}/p/{tenant.slug}/preferences/{match.group(1)}"

    consumer = new_page()
    consumer.goto(url)
    box = consumer.get_by_label("Offers and news by email")
    assert box.is_checked()
    # The ledger's truth: marketing texts need an opt-in this person never gave.
    assert not consumer.get_by_label("Offers and news by text messages").is_checked()
    box.uncheck()
    consumer.get_by_label("Surveys and research by phone calls").uncheck()
    consumer.get_by_role("button", name="Save my preferences").click()
    assert "2 changes recorded" in consumer.locator("#saved").inner_text()
    assert not consumer.get_by_label("Offers and news by email").is_checked()
    assert not consumer.get_by_label("Offers and news by text messages").is_checked()
    consumer.get_by_role("button", name="Save my preferences").click()
    assert "0 changes recorded" in consumer.locator("#saved").inner_text()
    assert sorted(_events(runtime, tenant, someone.email)) == [
        ("marketing", "opt_out", "email_link"),
        ("research", "opt_out", "email_link"),
    ]
    # Opting back in is recorded as an opt-in; a text opt-in too, and the box then shows it.
    consumer.get_by_label("Offers and news by email").check()
    consumer.get_by_role("button", name="Save my preferences").click()
    assert _events(runtime, tenant, someone.email)[-1] == ("marketing", "opt_in", "email_link")
    consumer.get_by_label("Offers and news by text messages").check()
    consumer.get_by_role("button", name="Save my preferences").click()
    assert "1 change recorded" in consumer.locator("#saved").inner_text()
    assert consumer.get_by_label("Offers and news by text messages").is_checked()

    # A mailing list's unsubscribe link does not open someone's preference center.
    other = links.issue(
        runtime.keys, tenant.id, identify(runtime.keys, tenant.id, someone.email), "newsletter"
    )
    refused = consumer.goto(f"{live_server.url}/p/{tenant.slug}/preferences/{other}")
    assert refused.status == 400


def test_browser_only_visitor_opts_out_by_cookie_and_is_counted(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    """No email or phone: the opt-out of sale and sharing holds for this browser (a cookie,
    in the ledger as a `cookie_id` identity) and counts in the CCPA 7102 opt-out figures."""
    import datetime as dt

    adopt(runtime, tenant.id)
    url = f"{live_server.url}/p/{tenant.slug}/choices"
    visitor = new_page()
    visitor.goto(url)
    visitor.get_by_label("Do not sell or share my personal information").check()
    visitor.get_by_role("button", name="Save my choices").click()
    assert "for this browser" in visitor.locator("#choices-done").inner_text()
    [cookie] = [c for c in visitor.context.cookies() if c["name"] == "honorbound_optout"]
    assert cookie["httpOnly"] and cookie["path"] == f"/p/{tenant.slug}"
    visitor.goto(url)
    assert "This browser has opted out" in visitor.locator("#browser-status").inner_text()
    other = new_page()
    other.goto(url)
    assert other.locator("#browser-status").count() == 0

    with runtime.db.session() as session:
        events = list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
    assert [(e.identity_kind, e.purpose, e.action) for e in events] == [
        ("cookie_id", "sale", "opt_out"),
        ("cookie_id", "sharing", "opt_out"),
    ]
    assert cookie["value"] not in " ".join(e.identity_index for e in events)
    metrics = visitor.request.get(
        f"{live_server.url}/v1/requests/metrics",
        params={"year": dt.datetime.now(dt.UTC).year},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    ).json()
    [opt_out] = [row for row in metrics if row["request_type"] == "opt_out"]
    assert opt_out["received"] == 1 and opt_out["complied_in_whole_or_part"] == 1
