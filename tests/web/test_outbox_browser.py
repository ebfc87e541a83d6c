"""With no mail server (development, the demo), staff with the right role read a message of
the outbox in clear, logged, and follow its link: a newcomer can finish a portal journey."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import AuditEntry
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import make_tenant
from tests.support.people import person
from tests.support.smtp import free_port
from tests.web.conftest import LiveServer, add_staff, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def mailless(settings: Settings) -> Iterator[tuple[LiveServer, Runtime]]:
    """A live server with no mail server configured, links pointing back at it."""
    port = free_port()
    configured = settings.model_copy(
        update={"smtp_url": "", "base_url": f"http://127.0.0.1:{port}"}
    )
    rt = build_runtime(configured, immediate_jobs=True)
    server = LiveServer(rt, port)
    server.start()
    yield server, rt
    server.stop()
    rt.close()


def test_officer_reads_the_verification_mail_and_follows_its_link(
    new_page: Any, mailless: tuple[LiveServer, Runtime]
) -> None:
    server, rt = mailless
    base = server.url
    tenant = make_tenant(rt, "acme")
    someone = person()
    consumer = new_page()
    consumer.goto(f"{base}/p/{tenant.slug}/requests/new")
    consumer.get_by_label("I want to").select_option("delete")
    consumer.get_by_label("State where you live").select_option("CA")
    consumer.get_by_label("Email address").fill(someone.email)
    consumer.get_by_role("button", name="Send request").click()
    consumer.get_by_role("button", name="Yes, send my deletion request").click()
    expect(consumer.locator("#accepted")).to_be_visible()

    # An auditor sees the list, not the contents, and cannot read a message by hand.
    auditor = new_page()
    sign_in(auditor, base, add_staff(rt, tenant, "auditor", Role.AUDITOR))
    auditor.goto(f"{base}/console/outbox")
    assert "No mail server is configured" in auditor.locator("#no-mail-server").inner_text()
    auditor.get_by_role("link", name="Message 1", exact=True).click()
    assert auditor.get_by_role("button", name="Read the message").count() == 0
    token = auditor.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    refused = auditor.request.post(
        f"{base}/console/outbox/1/read", form={"csrf_token": token, "reason": "development"}
    )
    assert refused.status == 403 and someone.email not in refused.text()

    officer = new_page()
    sign_in(officer, base, add_staff(rt, tenant, "officer", Role.PRIVACY_OFFICER))
    officer.get_by_role("link", name="Outbox").click()
    officer.get_by_role("link", name="Message 1", exact=True).click()
    assert someone.email not in officer.content()
    officer.get_by_role("button", name="Read the message").click()  # no reason: refused
    assert officer.locator("#message").count() == 0
    officer.get_by_label("Why you need to read it").select_option("development")
    officer.get_by_role("button", name="Read the message").click()
    assert officer.locator("#recipient").inner_text() == someone.email
    link = officer.locator("#message-body a").first
    assert "/requests/verify?token=" in (link.get_attribute("href") or "")
    with officer.expect_navigation():
        link.click()
    assert officer.get_by_role("heading", level=1).inner_text() == "Confirm your request"

    with rt.db.session() as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.revealed"))
        )
    assert len(entries) == 1
    assert entries[0].details == {"kind": "rights.acknowledgement", "reason": "development"}
    assert entries[0].actor.startswith("user:")
