"""A BPO in Chromium: its administrator onboards two clients (bad input first), invites a user
into one and gives them the other; the user accepts the mailed invitation, switches between
the two clients, is refused an organization that is not theirs (an HTML page in the console
frame), and works the cross-client queue (filter, next page, open a request in its client).
Screenshots at 1280 and 390 px are kept in test-output/screenshots/bpo-*.png for review."""

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
from tests.web.conftest import (
    SCREENSHOTS,
    MailedServer,
    StaffLogin,
    add_staff,
    mail_text,
    sign_in,
)

pytestmark = pytest.mark.browser


def _orgs(runtime: Runtime) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM organizations")).scalar_one())


def _onboard(page: Any, slug: str, name: str) -> None:
    page.get_by_label("Slug").fill(slug)
    page.get_by_label("Client name", exact=True).fill(name)
    page.get_by_label("The controller's privacy contact (email)").fill(f"privacy@{slug}.example")
    page.get_by_role("button", name="Onboard client").click()


def _requests(base: str, runtime: Runtime, slug: str, count: int) -> list[str]:
    """Open requests in a client, through the API with a key of that client."""
    with runtime.db.engine.connect() as conn:
        org_id = conn.execute(text("SELECT id FROM organizations WHERE slug=:s"), {"s": slug})
        org = int(org_id.scalar_one())
    with runtime.db.session() as session:
        key = issue_api_key(session, org, Role.ADMIN, "test", Actor("test", "system"))[1]
    refs = []
    for n in range(count):
        made = httpx.post(
            f"{base}/v1/requests",
            json={"type": "delete", "jurisdiction": "CA", "manner": "phone",
                  "email": f"person{n}@{slug}.example"},
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        refs.append(made.json()["reference"])
    return refs


def _shots(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"bpo-{name}-{width}.png"), full_page=True)
        # Nothing wider than the window at either width (the tables scroll in their wrapper).
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width + 1, (name, width, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_bpo_onboards_invites_and_the_user_works_across_clients(
    new_page: Any, mailed_server: MailedServer
) -> None:
    runtime, base = mailed_server.runtime, mailed_server.url
    bpo = make_tenant(runtime, "bpo")
    admin = new_page()
    sign_in(admin, base, add_staff(runtime, bpo, "bpo.admin", Role.ADMIN))
    admin.get_by_role("link", name="Clients", exact=True).click()
    admin.wait_for_url(f"{base}/console/clients")

    # Bad input first: a slug that is taken, a name too long (past the browser's own limit).
    before = _orgs(runtime)
    _onboard(admin, "bpo", "Acme Corp")
    assert "taken" in admin.locator("#clients-error").inner_text()
    assert admin.get_by_label("Client name", exact=True).input_value() == "Acme Corp"  # kept
    admin.evaluate("() => document.querySelector('#client-name').removeAttribute('maxlength')")
    _onboard(admin, "acme", "x" * 201)
    assert "too long" in admin.get_by_role("alert").inner_text()
    assert _orgs(runtime) == before
    admin.goto(f"{base}/console/clients")
    _onboard(admin, "acme", "Acme Corp")
    admin.wait_for_url(re.compile(r".*/console/clients/\d+\?onboarded=1"))
    acme_url = admin.url.split("?")[0]
    _shots(admin, "client")

    # Invite a user into Acme (the mailed link is the one shown).
    admin.get_by_label("Work email address").fill("worker@bpo.example")
    admin.locator("#invite-role").select_option("agent")
    admin.get_by_role("button", name="Send invitation").click()
    link = admin.locator("#invite-link").inner_text().strip()
    mailed = re.search(r"(http://\S+/invite/\S+)", mail_text(mailed_server.smtp.wait_for(1)[-1]))
    assert mailed and mailed.group(1) == link
    # Globex, and the same person gets a role there too (unknown user first: refused).
    admin.goto(f"{base}/console/clients")
    _onboard(admin, "globex", "Globex")
    admin.wait_for_url(re.compile(r".*/console/clients/\d+\?onboarded=1"))
    admin.get_by_label("Username of someone working for this BPO", exact=False).fill(
        "nobody@else.example"
    )
    admin.get_by_role("button", name="Give access").click()
    assert "invite the person instead" in admin.locator("#client-error").inner_text()
    admin.get_by_label("Username of someone working for this BPO", exact=False).fill(
        "worker@bpo.example"
    )
    admin.locator("#grant-role").select_option("privacy_officer")
    admin.get_by_role("button", name="Give access").click()
    assert (
        "privacy officer"
        in admin.locator('tr[data-user="worker@bpo.example"]').inner_text().lower()
    )
    # Another BPO's admin cannot open Acme's page.
    other = make_tenant(runtime, "other-bpo")
    stranger = new_page()
    sign_in(stranger, base, add_staff(runtime, other, "other.admin", Role.ADMIN))
    assert stranger.goto(acme_url).status == 404

    acme_refs = _requests(base, runtime, "acme", 3)
    globex_refs = _requests(base, runtime, "globex", 60)

    # The user accepts the invitation and signs in (into Acme, the first of theirs).
    worker = new_page()
    worker.goto(link)
    worker.get_by_label("Password", exact=True).fill("a long worker passphrase 1")
    worker.get_by_label("The same password again").fill("a long worker passphrase 1")
    worker.get_by_role("button", name="Set my password").click()
    assert "password is set" in worker.get_by_role("status").inner_text()
    sign_in(worker, base, StaffLogin("worker@bpo.example", "a long worker passphrase 1"))
    switcher = worker.locator("#org-choice")
    assert switcher.locator("option").all_inner_texts() == ["Acme Corp (agent)",
                                                            "Globex (privacy officer)"]  # fmt: skip
    assert "Acme Corp" in switcher.locator("option:checked").inner_text()
    # Switch to Globex: the console remembers it on the next page.
    switcher.select_option(label="Globex (privacy officer)")
    worker.get_by_role("button", name="Switch").click()
    worker.goto(f"{base}/console/requests")
    assert "Globex" in worker.locator("#org-choice option:checked").inner_text()
    # Switching to an organization that is not theirs: refused, in the console's frame.
    worker.evaluate(f"() => {{ document.querySelector('#org-choice option').value = '{bpo.id}'; }}")
    switcher.select_option(index=0)
    worker.get_by_role("button", name="Switch").click()
    assert worker.locator("h1").inner_text() == "Not one of your organizations"
    assert worker.locator("nav.console-nav").count() == 1
    worker.goto(f"{base}/console")
    assert "Globex" in worker.locator("#org-choice option:checked").inner_text()  # unchanged

    # The cross-client queue: both clients, per client and in total, earliest due first.
    worker.get_by_role("link", name="All my clients").click()
    assert worker.locator('#desk-summary tr[data-org="acme"] td').first.inner_text() == "3"
    assert worker.locator('#desk-summary tr[data-org="globex"] td').first.inner_text() == "60"
    assert worker.locator("#desk-total td").first.inner_text() == "63"
    assert worker.locator('#desk-summary tr[data-org="bpo"]').count() == 0  # not a member
    shown = worker.locator("#desk-requests tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.reference)"
    )
    assert len(shown) == 50 and set(shown) <= set(acme_refs) | set(globex_refs)
    assert set(acme_refs) <= set(shown)  # made first, due first
    _shots(worker, "desk")
    worker.locator("#next-page").click()
    rest = worker.locator("#desk-requests tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.reference)"
    )
    assert len(rest) == 13 and not set(rest) & set(shown)
    # Filter by client.
    worker.goto(f"{base}/console/all-clients")
    worker.get_by_label("Client").select_option("acme")
    worker.get_by_role("button", name="Show").click()
    only = worker.locator("#desk-requests tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.reference)"
    )
    assert sorted(only) == sorted(acme_refs)
    assert worker.goto(f"{base}/console/all-clients?client=bpo").status == 404
    # Work it: open an Acme request from the desk (the console switches to Acme).
    worker.goto(f"{base}/console/all-clients?client=acme")
    worker.get_by_role("button", name=f"Open {acme_refs[0]}").click()
    worker.wait_for_url(re.compile(r".*/console/requests/\d+"))
    assert acme_refs[0] in worker.locator("main").inner_text()
    assert "Acme Corp" in worker.locator("#org-choice option:checked").inner_text()
