"""Do-not-call across clients in Chromium: a BPO administrator, member of two clients, records
on the console a request a person addressed to the call center on Acme's call; the request is
shown on the list (as the call center's, binding every client); a contact decision for Globex,
asked through the API with Globex's own key, is refused for that number (`bpo_dnc`). Then a
request on Acme's call only: Globex may still call, and the check form tells BPO staff that
the number opted out at Acme (a hint; Globex's data unchanged). Removing it needs a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.accounts.service import issue_api_key
from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.runtime import Runtime
from tests.consent.conftest import number
from tests.web.conftest import LiveServer, add_staff, sign_in

pytestmark = pytest.mark.browser
NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)
ACTOR = Actor("test", "system")


def _decide(base: str, key: str, phone: str) -> list[str]:
    item = {
        "identity": phone,
        "purpose": "marketing",
        "channel": "voice",
        "at": NOON_NY.isoformat(),
    }
    answer = httpx.post(f"{base}/v1/contact-decisions", json={"items": [item]},
                        headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"][0]["reasons"])


def test_bpo_staff_record_a_call_center_request_and_a_client_is_refused(
    page: Any, live_server: LiveServer, runtime: Runtime
) -> None:
    from tests.conftest import make_tenant

    base = live_server.url
    bpo = make_tenant(runtime, "bpo")
    login = add_staff(runtime, bpo, "bpo.admin", Role.ADMIN)
    keys = {}
    with runtime.db.session() as session:
        for slug, name in (("acme", "Acme Corp"), ("globex", "Globex")):
            org = clients.onboard_client(session, bpo.id, slug, name, f"p@{slug}.example", ACTOR)
            clients.grant_client_access(session, bpo.id, org.id, "bpo.admin", "admin", ACTOR)
            keys[slug] = issue_api_key(session, org.id, Role.AGENT, "dialer", ACTOR)[1]
    center, seller = number("917", 81), number("917", 82)
    assert _decide(base, keys["globex"], center) == []
    sign_in(page, base, login)
    page.goto(f"{base}/console/all-clients")
    page.get_by_role("link", name="Do-not-call across clients").click()
    page.wait_for_url(f"{base}/console/all-clients/dnc")

    # Bad input first: nothing written.
    page.locator("#dnc-organization").select_option("acme")
    page.get_by_label("Phone number or email", exact=True).first.fill("not a number")
    page.get_by_role("button", name="Record the request").click()
    assert "not a phone number" in page.locator("#form-error").inner_text()
    with runtime.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consent_company_dnc")).scalar_one() == 0

    # Addressed to the call center, on Acme's call: the BPO's list, every client.
    page.locator("#dnc-organization").select_option("acme")
    page.locator("#dnc-add").get_by_label("Phone number or email").fill(center)
    page.get_by_label("Every client: the person asked the call center itself not to call").check()
    page.get_by_role("button", name="Record the request").click()
    assert "call center's list" in page.locator("#dnc-taken").inner_text()
    row = page.locator("#dnc-requests tbody tr").first
    assert "Org bpo" in row.inner_text() and "binds every client" in row.inner_text()
    assert center[2:] not in page.content() and center[5:] not in page.content()
    assert _decide(base, keys["globex"], center) == ["bpo_dnc"]
    assert _decide(base, keys["acme"], center) == ["bpo_dnc"]

    # On Acme's call only: Globex may still call; the hint shows Acme to BPO staff.
    page.locator("#dnc-organization").select_option("acme")
    page.locator("#dnc-add").get_by_label("Phone number or email").fill(seller)
    page.get_by_label("This client only: the person asked on this client's call").check()
    page.get_by_role("button", name="Record the request").click()
    assert "Acme Corp" in page.locator("#dnc-taken").inner_text()
    assert _decide(base, keys["globex"], seller) == []
    assert _decide(base, keys["acme"], seller) == ["company_dnc"]
    page.locator("#dnc-check").get_by_label("Phone number or email").fill(seller)
    page.get_by_role("button", name="Check").click()
    assert page.locator("#dnc-checked").inner_text() == "This number opted out at: Acme Corp."
    with runtime.db.engine.connect() as conn:
        lists = conn.execute(
            text("SELECT o.slug FROM consent_company_dnc d JOIN organizations o "
                 "ON o.id = d.organization_id ORDER BY d.id")
        ).scalars().all()  # fmt: skip
    assert lists == ["bpo", "acme"]  # nothing was written to Globex

    # Remove the call center's request (a reason chosen): Globex may call it again.
    bpo_row = page.locator("#dnc-requests tbody tr", has_text="binds every client")
    bpo_row.locator("select").select_option("recorded_in_error")
    bpo_row.get_by_role("button", name="Remove").click()
    page.wait_for_url(f"{base}/console/all-clients/dnc?removed=1")
    assert page.locator("#dnc-requests tbody tr").count() == 1
    assert _decide(base, keys["globex"], center) == []
