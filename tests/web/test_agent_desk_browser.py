"""The agent desk, walked in Chromium as an agent on a call: find the caller (masked), record an
opt-out and an opt-in they state, with their true source and channel, and log a rights request
made on the call, whose clock starts when the call started, not when the agent typed it.
Bad input gets a plain message with what was typed kept. Checked against the database rows and
the audit log (another path than the page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
from honorbound.consent.models import ConsentEvent
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import LiveServer, add_staff, adopt, sign_in

pytestmark = pytest.mark.browser

# CCPA: a business responds to a request to delete within 45 calendar days of receiving it
# (Cal. Civ. Code 1798.130(a)(2)); counted here by hand, not by the product's clock.
CA_DAYS = 45


def _rules() -> CollectionRules:
    return CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )


def test_agent_desk_during_a_call(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    caller = person()
    with runtime.db.session() as session:
        upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [
                IdentityInput(IdentityKind.EMAIL, caller.email),
                IdentityInput(IdentityKind.PHONE, caller.phone),
            ],
            Actor("test", "system"),
            _rules(),
        )
    agent = add_staff(runtime, tenant, "agent7", Role.AGENT)
    page = new_page()
    sign_in(page, live_server.url, agent)
    page.get_by_role("link", name="Agent desk").click()

    # The call started ten days ago at 14:05 UTC (logged after the call, from the call log).
    started = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).replace(
        hour=14, minute=5, second=0, microsecond=0
    )
    # A number that is not one: a plain message, the typed value kept.
    page.get_by_label("Email address or phone number the caller gives").fill("call me maybe")
    page.get_by_label("Call started (UTC)").fill(started.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Find caller").click()
    assert "could not read" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Email address or phone number the caller gives").input_value() == (
        "call me maybe"
    )
    assert page.get_by_label("Call started (UTC)").input_value() == started.strftime(
        "%Y-%m-%dT%H:%M"
    )
    national = caller.phone[2:]
    page.get_by_label("Email address or phone number the caller gives").fill(
        f"({national[:3]}) {national[3:6]}-{national[6:]}"
    )
    page.get_by_role("button", name="Find caller").click()
    content = page.content()
    assert caller.email not in content and national not in content
    identities = page.locator("#caller-identities").inner_text()
    assert "email" in identities and "phone" in identities
    assert "No choices recorded" in page.locator("#caller-choices").inner_text()

    # An opt-out of texts said on this call; a bad reference first (kept, explained).
    page.get_by_label("opts out").check()
    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Reference (call, ticket or letter id; not a name)").fill("call with Ana")
    page.get_by_role("button", name="Record choice").click()
    assert "no spaces and no names" in page.locator("#choice-error").inner_text()
    assert page.get_by_label("Channel").input_value() == "sms"
    assert page.get_by_label("opts out").is_checked()
    page.get_by_label("Reference (call, ticket or letter id; not a name)").fill("CALL-20931")
    page.get_by_role("button", name="Record choice").click()
    assert "opt-out of all on sms, received by phone call" in page.locator("#recorded").inner_text()
    # An opt-in to email the caller reads from a letter they sent.
    page.get_by_label("opts in").check()
    page.get_by_label("Received by").select_option("letter")
    page.get_by_label("Channel").select_option("email")
    page.get_by_role("button", name="Record choice").click()
    assert "opt-in of all on email, received by letter" in page.locator("#recorded").inner_text()
    choices = page.locator("#caller-choices").inner_text()
    assert "sms" in choices and "opt-out" in choices and "opt-in" in choices

    # A request to delete, made on the call: a missing state first.
    page.get_by_label("The caller asks to").select_option("delete")
    page.get_by_role("button", name="Log request").click()
    assert "state the caller lives in" in page.locator("#request-error").inner_text()
    assert page.get_by_label("The caller asks to").input_value() == "delete"
    page.get_by_label("State the caller lives in").select_option("CA")
    page.get_by_label("Email for the answer").fill(caller.email)
    page.get_by_role("button", name="Log request").click()
    reference = page.locator("#logged-reference").inner_text()
    assert page.locator("#logged-received").inner_text() == started.strftime("%Y-%m-%d %H:%M")
    due = (started + dt.timedelta(days=CA_DAYS)).date().isoformat()
    assert page.locator("#logged-due").inner_text() == due

    with runtime.db.session() as session:
        row = session.scalar(select(RightsRequest).where(RightsRequest.reference == reference))
        events = list(
            session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.organization_id == tenant.id)
                .order_by(ConsentEvent.id)
            )
        )
        audit = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.organization_id == tenant.id,
                    AuditEntry.action == "rights.received",
                )
            )
        )
    assert row is not None
    assert row.manner == "phone" and row.jurisdiction == "CA"
    assert row.received_at == started
    assert row.due_at.date().isoformat() == due
    assert [(e.action, e.source, e.channel) for e in events] == [
        ("opt_out", "phone_call", "sms"),
        ("opt_in", "letter", "email"),
    ]
    assert all(e.occurred_at == started for e in events)
    assert len({e.actor_id for e in events}) == 1 and events[0].actor_id.startswith("user:")
    assert [a.actor for a in audit] == [events[0].actor_id]

    # On a phone (390 px) the desk with a caller, a choice and a request does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    # The audit log names the agent (read by an administrator: agents do not read it).
    admin = new_page()
    sign_in(admin, live_server.url, add_staff(runtime, tenant, "admin7", Role.ADMIN))
    admin.goto(f"{live_server.url}/console/audit?action=rights.received")
    assert "agent7" in admin.locator("table").inner_text()

    # An auditor has no desk.
    auditor = new_page()
    sign_in(auditor, live_server.url, add_staff(runtime, tenant, "auditor7", Role.AUDITOR))
    assert auditor.get_by_role("link", name="Agent desk").count() == 0
    response = auditor.goto(f"{live_server.url}/console/desk")
    assert response is not None and response.status == 403
