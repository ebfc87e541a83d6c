"""Do-not-call across clients (`/console/all-clients/dnc`) without a browser: the role checks
are the API's in the organization concerned, the hint is for BPO staff only, the list pages,
and the page is in Spanish. Checked against the rows on disk (plain SQL) and the Spanish
oracle (the templates' msgids read independently)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.consent import dnc
from honorbound.consent.identity import identify
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import number
from tests.foundation.test_tenancy import console_sign_in
from tests.web.conftest import PASSWORD, StaffLogin, add_staff
from tests.web.spanish_oracle import english_left

ACTOR = Actor("test", "system")
PAGE = "/console/all-clients/dnc"


def _signed_in(app: Any, login: Any, language: str = "en") -> tuple[TestClient, str]:
    browser = TestClient(app, headers={"Accept-Language": language})
    return browser, console_sign_in(browser, login, PAGE)


def _rows(runtime: Runtime) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, organization_id FROM consent_company_dnc ORDER BY id"))]  # fmt: skip


def _clients(runtime: Runtime, bpo: Tenant, *slugs: str) -> dict[str, int]:
    made = {}
    with runtime.db.session() as session:
        for slug in slugs:
            made[slug] = clients.onboard_client(
                session, bpo.id, slug, slug.title(), f"p@{slug}.example", ACTOR
            ).id
    return made


def test_roles_hint_and_paging(app: Any, runtime: Runtime, tenant: Tenant) -> None:
    ids = _clients(runtime, tenant, "acme", "globex")
    agent = add_staff(runtime, tenant, "bpo.agent", Role.AGENT)
    inside = add_staff(runtime, tenant, "acme.admin", Role.ADMIN)  # BPO admin ...
    with runtime.db.session() as session:
        for slug in ("acme", "globex"):
            clients.grant_client_access(session, tenant.id, ids[slug], "bpo.agent", "agent", ACTOR)
        clients.grant_client_access(session, tenant.id, ids["acme"], "acme.admin", "admin", ACTOR)
    with runtime.db.session() as session:  # someone who works for Acme only: no hint
        create_user(session, "client.only", PASSWORD, "Client", ACTOR, ids["acme"], Role.ADMIN)
    phone = number("332", 91)
    with runtime.db.session() as session:
        ref = identify(runtime.keys, ids["globex"], phone)
        dnc.add_company_request(session, ids["globex"], ref, runtime.contact_rules, ACTOR)
    # The agent records on Acme's call; the hint shows Globex (agents are BPO staff too).
    browser, token = _signed_in(app, agent)
    said = browser.post(PAGE, data={"csrf_token": token, "organization": "acme",
                                    "identity": phone, "binds": "seller"})  # fmt: skip
    assert said.status_code == 201, said.text
    assert "Globex" in said.text.split('id="dnc-hint"')[1].split("</p>")[0]
    assert phone[2:] not in said.text and phone[5:] not in said.text
    # The agent may not remove (dnc.replace): 403, nothing removed.
    acme_row = _rows(runtime)[-1][0]
    before = _rows(runtime)
    refused = browser.post(f"{PAGE}/{acme_row}/remove",
                           data={"csrf_token": token, "reason": "duplicate"})  # fmt: skip
    assert refused.status_code == 403 and _rows(runtime) == before
    assert f'action="{PAGE}/{acme_row}/remove"' not in said.text  # no button either
    # A bad choice: one sentence, nothing written.
    for data, words in (
        ({"organization": "acme", "identity": phone, "binds": "all"}, "choose whom"),
        ({"organization": "acme", "identity": ""}, "enter the phone number"),
        ({"organization": "nope", "identity": phone}, "choose one of your"),
    ):
        bad = browser.post(PAGE, data={"csrf_token": token, **data})
        assert bad.status_code == 422 and words in bad.text, data
    assert _rows(runtime) == before
    # Acme's client-side admin (member of Acme only): no hint form, and a check is refused.
    client_user, client_token = _signed_in(app, StaffLogin("client.only", PASSWORD))
    page = client_user.get(PAGE).text
    assert 'id="dnc-check"' not in page and "Globex" not in page
    assert f'data-dnc="{acme_row}"' in page and f'data-dnc="{before[0][0]}"' not in page
    checked = client_user.post(
        f"{PAGE}/check", data={"csrf_token": client_token, "identity": phone}
    )
    assert checked.status_code == 403 and "Globex" not in checked.text
    # The BPO admin who is admin in Acme may remove Acme's request, with a reason.
    admin, admin_token = _signed_in(app, inside)
    bad = admin.post(f"{PAGE}/{acme_row}/remove", data={"csrf_token": admin_token, "reason": "x"})
    assert bad.status_code == 422 and "reason must be one of" in bad.text
    assert _rows(runtime) == before
    gone = admin.post(f"{PAGE}/{acme_row}/remove",
                      data={"csrf_token": admin_token, "reason": "duplicate"},
                      follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303 and _rows(runtime) == before[:-1]
    # Paging: 55 requests on the BPO's list, 50 a page, then the rest.
    with runtime.db.session() as session:
        for n in range(55):
            ref = identify(runtime.keys, tenant.id, number("929", n))
            dnc.add_company_request(session, tenant.id, ref, runtime.contact_rules, ACTOR)
    first = browser.get(PAGE).text
    shown = re.findall(r'data-dnc="(\d+)"', first)
    assert len(shown) == 50
    older = re.search(r'href="/console/all-clients/dnc\?before=(\d+)" id="dnc-next"', first)
    assert older and older[1] == shown[-1]
    rest = re.findall(r'data-dnc="(\d+)"', browser.get(f"{PAGE}?before={older[1]}").text)
    assert len(rest) == 56 - 50 and not set(rest) & set(shown)  # 55 + Globex's
    assert browser.get(f"{PAGE}?before=abc").status_code == 422


def test_spanish_page(app: Any, runtime: Runtime, tenant: Tenant) -> None:
    ids = _clients(runtime, tenant, "acme")
    login = add_staff(runtime, tenant, "bpo.admin", Role.ADMIN)
    with runtime.db.session() as session:
        clients.grant_client_access(session, tenant.id, ids["acme"], "bpo.admin", "admin", ACTOR)
    browser, token = _signed_in(app, login, "es")
    form = {"organization": "acme", "identity": number("332", 92), "binds": "telemarketer"}
    said = browser.post(PAGE, data={"csrf_token": token, **form})
    assert said.status_code == 201 and said.headers["content-language"] == "es"
    assert "del centro de contacto" in said.text
    assert english_left(said.text, console=True) == []
    english, _ = _signed_in(app, login)
    assert english_left(english.get(PAGE).text.replace('<html lang="en"', '<html lang="es"'),
                        console=True)  # fmt: skip
