"""Confirming a request with the emailed one-time code instead of the link, walked in Chromium:
the reference shown on screen, the code read from the mail the loopback SMTP server received,
a wrong code refused in plain words with the reference kept, a new code that makes the first
one worthless, then the details, and the request carried out (checked in the database rows, a
path other than the pages). Five wrong codes lock the code; a new one unlocks the journey."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from honorbound.rights.models import RightsRequest, Status
from honorbound.rights.rules import load_rights_rules
from tests.conftest import make_tenant
from tests.support.people import person
from tests.web.conftest import MailedServer, mail_text
from tests.web.test_rights_browser import _known_subject

pytestmark = pytest.mark.browser
CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def _code(message: Any) -> str:
    found = CODE.search(mail_text(message))
    assert found, "no 6-digit code on a line of its own in the mail"
    return found.group(1)


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _row(server: MailedServer, reference: str) -> RightsRequest:
    with server.runtime.db.session() as session:
        row = session.scalars(
            select(RightsRequest).where(RightsRequest.reference == reference)
        ).one()
        session.expunge(row)
        return row


def test_a_request_confirmed_with_the_emailed_code_is_carried_out(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    _known_subject(server, tenant.id, someone)
    page = new_page()

    page.goto(f"{base}/p/{tenant.slug}/requests/new")
    page.get_by_label("I want to").select_option("access_categories")
    page.get_by_label("State where you live", exact=True).select_option("CA")
    page.get_by_label("Email address").fill(someone.email)
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()
    [ack] = server.smtp.wait_for(1)
    first = _code(ack)
    assert reference in mail_text(ack)

    # The reference on screen leads to the code page, with the reference filled in.
    page.get_by_role("link", name="Confirm with the code from the email").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm with a code"
    assert page.get_by_label("Request reference (for example R-ABCD2345EFGH)").input_value() == (
        reference
    )
    # A wrong code: refused in words, the reference kept, the code field marked.
    page.get_by_label("Code from the email (6 digits)").fill(_other(first))
    page.get_by_role("button", name="Continue").click()
    error = page.locator("#form-error").inner_text()
    assert error and "code:" not in error and "token" not in error.lower()
    assert page.get_by_label("Request reference (for example R-ABCD2345EFGH)").input_value() == (
        reference
    )
    assert page.locator("#code").get_attribute("aria-invalid") == "true"

    # "Email me a new code": only the newest code counts.
    page.locator("#send-new-code").click()
    expect(page.locator("#code-notice")).to_be_visible()
    fresh = server.smtp.wait_for(2)[1]
    assert fresh["To"] == someone.email and reference in str(fresh["Subject"])
    second = _code(fresh)
    page.get_by_label("Code from the email (6 digits)").fill(first)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#form-error")).to_be_visible()
    assert _row(server, reference).status == Status.VERIFYING.value

    # The newest code opens the same details form as the link, and the request is done.
    page.get_by_label("Code from the email (6 digits)").fill(second)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your request"
    assert page.locator("#reference").inner_text() == reference
    page.get_by_label("Phone number we have for you").fill(someone.phone)
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill(someone.birth_date)
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.locator("#verified")).to_be_visible()
    row = _row(server, reference)
    assert row.verified_at is not None
    assert row.status == Status.COMPLETED.value
    # The spent code cannot be used again.
    page.goto(f"{base}/p/{tenant.slug}/requests/code?reference={reference}")
    page.get_by_label("Code from the email (6 digits)").fill(second)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#form-error")).to_be_visible()


def test_wrong_codes_lock_the_code_until_a_new_one_is_sent(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    _known_subject(server, tenant.id, someone)
    page = new_page()
    page.goto(f"{base}/p/{tenant.slug}/requests/new")
    page.get_by_label("I want to").select_option("access_categories")
    page.get_by_label("State where you live", exact=True).select_option("CA")
    page.get_by_label("Email address").fill(someone.email)
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()
    [ack] = server.smtp.wait_for(1)
    right = _code(ack)
    attempts = load_rights_rules().settings.max_attempts  # rights/data/requests.yaml
    page.goto(f"{base}/p/{tenant.slug}/requests/code?reference={reference}")
    for _ in range(attempts):
        page.get_by_label("Code from the email (6 digits)").fill(_other(right))
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#form-error")).to_be_visible()
    # Locked: even the right code is refused now, and the page says what to do.
    page.get_by_label("Code from the email (6 digits)").fill(right)
    page.get_by_role("button", name="Continue").click()
    locked = page.locator("#form-error").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm with a code"
    # It says to ask for a new code on this page (not "make the request again").
    assert "Ask for a new code on this page" in locked, locked
    assert _row(server, reference).verified_at is None
    page.locator("#send-new-code").click()
    fresh = _code(server.smtp.wait_for(2)[1])
    page.get_by_label("Code from the email (6 digits)").fill(fresh)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your request"


def test_my_requests_offers_a_new_code_after_a_wrong_one(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    page = new_page()
    page.goto(f"{base}/p/{tenant.slug}/requests/new")
    page.get_by_label("I want to").select_option("access_categories")
    page.get_by_label("State where you live", exact=True).select_option("CA")
    page.get_by_label("Email address").fill(someone.email)
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()
    server.smtp.wait_for(1)
    page.get_by_role("link", name="My requests: see the status").click()
    page.get_by_role("button", name="Email me a code").click()
    code = _code(server.smtp.wait_for(2)[1])
    page.get_by_label("Code from the email (6 digits)").fill(_other(code))
    page.get_by_role("button", name="Show my requests").click()
    assert "only the newest code counts" in page.locator("#form-error").inner_text()
    # The page itself offers the new code it tells the person to ask for.
    page.locator("#send-new-status-code").click()
    fresh = _code(server.smtp.wait_for(3)[2])
    page.get_by_label("Code from the email (6 digits)").fill(fresh)
    page.get_by_role("button", name="Show my requests").click()
    assert page.locator("#status-reference").inner_text() == reference
