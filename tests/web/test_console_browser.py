"""Staff console journeys in a real Chromium: sign-in with CSRF, navigation, dashboard, audit
log with chain status, outbox, data map, policy diff, subject lookup and reveal."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.notify import outbox
from honorbound.notify.models import Channel
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import AccessLogEntry
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import DECLARATION, LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_with_csrf_then_console(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    login = add_staff(runtime, tenant, "officer1", Role.PRIVACY_OFFICER)
    base = live_server.url
    page.goto(f"{base}/console")
    assert page.url == f"{base}/login"  # not signed in: sent to sign in

    # A form whose CSRF token was tampered with is refused and signs nobody in.
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.locator("input[name=csrf_token]").evaluate("el => el.value = 'forged'")
    page.get_by_role("button", name="Sign in").click()
    assert "expired or was not sent by this site" in page.get_by_role("alert").inner_text()
    page.goto(f"{base}/console")
    assert page.url == f"{base}/login"

    # The real form, driven from the keyboard only: skip link first, then the fields.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("Username").focus()
    page.keyboard.type(login.username)
    page.keyboard.press("Tab")
    page.keyboard.type(login.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console")
    assert page.get_by_role("heading", level=1).inner_text() == "Org org-a"
    assert "Intact" in page.locator("section", has_text="Audit chain").inner_text()
    titles = [t.text_content() for t in page.locator("svg[role=img] > title").all()]
    assert titles == [
        "Requests received per week, by type",
        "Median days to close, by week of response",
        "Consent choices recorded per week",
    ]
    assert page.locator("#overdue-count").inner_text() == "0"
    assert page.locator("#last-sweep").inner_text() == "No retention sweep has run yet."

    nav = page.get_by_role("navigation", name="Console")
    for label in (
        "Dashboard",
        "Subjects",
        "Consent ledger",
        "Data map",
        "Policy versions",
        "Audit log",
        "Outbox",
    ):
        assert nav.get_by_role("link", name=label).is_visible()

    nav.get_by_role("link", name="Audit log").click()
    assert page.locator("#chain-status").inner_text().startswith("Intact")
    assert page.get_by_role("cell", name="user.login").count() >= 1

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/console/audit")
    assert page.url == f"{base}/login"


def test_agent_sees_only_what_the_role_allows(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    sign_in(page, live_server.url, add_staff(runtime, tenant, "agent1", Role.AGENT))
    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="Subjects").is_visible()
    assert nav.get_by_role("link", name="Audit log").count() == 0
    response = page.goto(f"{live_server.url}/console/audit")
    assert response.status == 403
    assert "audit.read" in page.get_by_role("alert").inner_text()


def test_outbox_lists_messages_without_their_content(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    someone = person()
    with runtime.db.session() as session:
        outbox.put(
            session,
            runtime.keys,
            runtime.jobs,
            tenant.id,
            Channel.EMAIL,
            "rights.acknowledgement",
            someone.email,
            f"Hello {someone.first_name}",
            subject="We received your request",
        )
    sign_in(page, live_server.url, add_staff(runtime, tenant, "auditor1", Role.AUDITOR))
    page.get_by_role("link", name="Outbox").click()
    row = page.get_by_role("row", name="rights.acknowledgement")
    assert row.count() == 1
    assert "pending" in row.inner_text()  # no transport configured in this test
    assert someone.email not in page.content()


def test_data_map_and_policy_diff(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    text = DECLARATION.read_text()
    adopt(runtime, tenant.id, text)
    adopt(runtime, tenant.id, text.replace("period: P3Y", "period: P2Y"))
    sign_in(page, live_server.url, add_staff(runtime, tenant, "officer2", Role.PRIVACY_OFFICER))
    page.get_by_role("link", name="Data map").click()
    health = page.get_by_role("row", name="Health information")
    assert "Sensitive" in health.inner_text()
    assert "Answering your questions" in health.inner_text()
    assert "Telling you about offers" not in health.inner_text()
    assert "contact-data: 2 years after your last activity with us" in health.inner_text()
    email_row = page.get_by_role("row", name="Email address")
    assert "Telling you about offers" in email_row.inner_text()

    page.get_by_role("link", name="Policy versions").click()
    page.get_by_role("link", name="Changes from version 1").click()
    assert "kept for less time" in page.locator("#changes").inner_text()
    assert "Material" not in page.locator("#changes").inner_text()  # shorter retention
    assert page.locator("pre.diff .del").filter(has_text="P3Y").count() == 1
    assert page.locator("pre.diff .add").filter(has_text="P2Y").count() == 1
    # One line per line: changed lines are not followed by an empty one (double spacing).
    heights = page.locator("pre.diff span").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert max(heights) - min(heights) < 1 and "\n\n" not in page.locator("pre.diff").inner_text()
    missing = page.goto(f"{live_server.url}/console/policy/diff?old=1&new=9")
    assert missing.status == 404


def _rules() -> CollectionRules:
    return CollectionRules(
        policy_version_id=None,
        categories={
            "user.contact.email": CategoryRule(
                "user.contact.email", False, frozenset({"customer_service"})
            )
        },
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )


def test_subject_lookup_masked_and_reveal_with_reason(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    someone = person()
    with runtime.db.session() as session:
        upserted = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [
                IdentityInput(IdentityKind.EMAIL, someone.email),
                IdentityInput(IdentityKind.PHONE, someone.phone),
            ],
            Actor("test", "system"),
            _rules(),
        )
        subject_id = upserted.subject.id
    sign_in(page, live_server.url, add_staff(runtime, tenant, "officer3", Role.PRIVACY_OFFICER))
    page.get_by_role("link", name="Subjects").click()
    page.get_by_label("Email address or phone number").fill(someone.email.upper())
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(f"{live_server.url}/console/subjects/{subject_id}")
    assert someone.email not in page.content()
    email_row = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name="email", exact=True)
    )
    assert email_row.locator(".masked").inner_text().endswith("@" + someone.email.split("@")[1])

    # Reveal needs a reason: an empty one is refused by the browser, then by the server.
    email_row.get_by_text("Reveal", exact=True).click()
    email_row.get_by_role("button", name="Reveal value").click()
    assert page.locator("#revealed-value").count() == 0
    email_row.get_by_label("Reason (logged)").fill("caller asked to confirm the address")
    email_row.get_by_role("button", name="Reveal value").click()
    assert page.locator("#revealed-value").inner_text() == someone.email
    log = page.get_by_role("row", name="caller asked to confirm the address")
    assert log.count() == 1
    with runtime.db.session() as session:
        entries = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.subject_id == subject_id)
        ).all()
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.organization_id == tenant.id, AuditEntry.action == "vault.revealed"
            )
        ).all()
    assert [e.reason for e in entries] == ["caller asked to confirm the address"]
    assert len(audit) == 1 and audit[0].actor.startswith("user:")

    # Unknown identities get a clear answer and reveal nothing.
    page.get_by_role("link", name="Subjects").click()
    page.get_by_label("Email address or phone number").fill(person().email)
    page.get_by_role("button", name="Look up").click()
    assert page.get_by_role("alert").inner_text() == "No subject holds that identity."


def test_campaign_scrub_upload_returns_allowed_and_blocked_lists(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant, tmp_path: Any
) -> None:
    stays, left = person(), person()
    with runtime.db.session() as session:
        ledger.record(
            session,
            tenant.id,
            identify(runtime.keys, tenant.id, left.email),
            "marketing",
            "email",
            "opt_out",
            "web_form",
            Actor("test", "system"),
        )
    sign_in(page, live_server.url, add_staff(runtime, tenant, "agent4", Role.AGENT))
    page.get_by_role("link", name="Campaign scrub").click()
    page.get_by_label("Purpose").select_option("marketing")
    page.get_by_label("Channel").select_option("email")
    csv_text = (
        f"email,first_name\n{stays.email},{stays.first_name}\n{left.email},{left.first_name}\n"
    )
    page.get_by_label("Campaign list").set_input_files(
        {"name": "spring.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    with page.expect_download() as info:
        page.get_by_role("button", name="Scrub the list").click()
    assert info.value.suggested_filename == "spring.scrubbed.zip"
    path = tmp_path / "scrubbed.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        allowed = archive.read("allowed.csv").decode()
        blocked = list(csv.DictReader(io.StringIO(archive.read("blocked.csv").decode())))
        summary = archive.read("summary.txt").decode()
    [row] = [r for r in blocked if r["email"] == left.email]
    assert "opt" in row["reasons"].lower()
    assert left.email not in allowed
    assert stays.email in allowed or any(r["email"] == stays.email for r in blocked)
    assert "Blocked:" in summary

    # A file without an identity column is refused with the line and what is missing.
    page.get_by_label("Campaign list").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": b"name\nx\n"}
    )
    page.get_by_role("button", name="Scrub the list").click()
    assert "needs an 'identity'" in page.locator("#form-error").inner_text()
