"""Request work, walked in Chromium by a privacy officer: assign a request to yourself and find
it with "assigned to me", retry a connected system's failed step (with a reason) and, when it
still fails, mark it done by hand, after which the request completes; the request's mail and
timeline are on the same page. Checked against the systems' own record (the reference
receiver's call count), the request row and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import AuditEntry
from honorbound.runtime import Runtime
from honorbound.systems.models import SystemExecution
from tests.conftest import Tenant
from tests.rights.conftest import org  # noqa: F401 (fixture; rt, api: tests.support.app)
from tests.support.smtp import SmtpSink
from tests.systems.conftest import (  # noqa: F401 (fixtures)
    CRM_MAP,
    HOOK_MAP,
    Crm,
    Hook,
    connect,
    crm,
    hook,
)
from tests.systems.test_requests import submit, the_request, vault_person
from tests.web.conftest import LiveServer, add_staff, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def served(rt: Runtime) -> Any:  # noqa: F811
    server = LiveServer(rt)
    server.start()
    yield server
    server.stop()


def test_assign_retry_and_complete_a_failed_step(
    new_page: Any,
    served: LiveServer,
    api: TestClient,  # noqa: F811
    rt: Runtime,  # noqa: F811
    org: Tenant,  # noqa: F811
    smtp: SmtpSink,
    crm: Crm,  # noqa: F811
    hook: Hook,  # noqa: F811
) -> None:
    c = crm.people[1]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, HOOK_MAP)
    hook.receiver.fail_next = 1000  # the ticketing system is down the whole time
    submit(api, smtp, org, c, "delete")
    request, _ = the_request(rt, org)
    assert request.status == "partly_done"
    calls_before = hook.receiver.calls

    base = served.url
    page = new_page()
    sign_in(page, base, add_staff(rt, org, "officer9", Role.PRIVACY_OFFICER))
    page.get_by_role("link", name="Requests", exact=True).click()
    page.get_by_label("Assigned to").select_option("me")
    page.get_by_role("button", name="Filter").click()
    assert "No requests." in page.locator("#queue").inner_text()
    page.get_by_label("Assigned to").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=request.reference).click()
    page.get_by_label("Assign to").select_option(label="officer9 (me)")
    page.get_by_role("button", name="Assign").click()
    assert page.locator("#assignee").inner_text() == "officer9"
    page.get_by_role("link", name="Requests", exact=True).click()
    page.get_by_label("Assigned to").select_option("me")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#queue").get_by_role("link", name=request.reference).count() == 1
    assert "officer9" in page.locator("#queue").inner_text()
    page.get_by_role("link", name=request.reference).click()

    # The mail sent so far and the failing step are on the request's page.
    mail = page.locator("#request-mail").inner_text()
    assert "email" in mail and "No messages." not in mail
    step = page.locator('#steps tr[data-system="ticketing"]')
    assert "failed" in step.inner_text()

    # A retry needs a reason: without one, a plain message and nothing happens.
    step.get_by_role("button", name="Retry now").click()
    assert "Say why" in page.get_by_role("alert").inner_text()
    assert hook.receiver.calls == calls_before
    step = page.locator('#steps tr[data-system="ticketing"]')
    step.get_by_label("Reason for retrying ticketing").fill("vendor says the API is back")
    step.get_by_role("button", name="Retry now").click()
    assert hook.receiver.calls > calls_before  # the system was called again
    step = page.locator('#steps tr[data-system="ticketing"]')
    assert "failed" in step.inner_text()  # still down
    assert "vendor says the API is back" in page.locator("#timeline").inner_text()

    # Done by hand in the ticketing system: the request completes, without calling it again.
    calls = hook.receiver.calls
    step.get_by_label("What you did by hand in ticketing").fill(
        "deleted ticket rows in the vendor admin screen"
    )
    step.get_by_role("button", name="Mark done by hand").click()
    assert page.locator("#status").inner_text() == "completed"
    assert hook.receiver.calls == calls
    timeline = page.locator("#timeline").inner_text()
    assert "step completed manually" in timeline and "by officer9" in timeline

    request, _ = the_request(rt, org)
    with rt.db.session() as session:
        steps = {
            s.system_key: s.status
            for s in session.scalars(
                select(SystemExecution).where(SystemExecution.request_id == request.id)
            )
        }
        audit = {
            a.action: a.actor
            for a in session.scalars(select(AuditEntry).where(AuditEntry.organization_id == org.id))
        }
    assert request.status == "completed" and request.assigned_user_id is not None
    assert steps == {"crm": "done", "ticketing": "done"}
    actor = f"user:{request.assigned_user_id}"
    assert audit["rights.assigned"] == actor
    assert audit["rights.step_retried"] == actor
    assert audit["rights.step_completed_manually"] == actor
