"""The data map of all my clients (/console/all-clients/data-map): the notices of every
organization a person is a member of, side by side by category. Checked against the notices'
YAML read here (categories, and the purposes naming each category), not the page's matrix;
two clients with the same notice never differ; someone of another BPO sees none of it."""

from __future__ import annotations

import html
import re
from typing import Any

import yaml
from fastapi.testclient import TestClient

from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.conftest import EXAMPLE_POLICIES, Tenant, adopt_example
from tests.foundation.test_tenancy import _console_admin
from tests.web.spanish_oracle import english_left

ROW = re.compile(r'<tr data-category="([^"]+)" data-aspect="([^"]+)".*?</tr>', re.S)
CELL = re.compile(r'<td class="long-value( warn-cell)?"(?: lang="en")?>(.*?)</td>', re.S)


def _table(page: str) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    found = {}
    for match in ROW.finditer(page):
        cells = [
            (html.unescape(re.sub(r"\s*<small>\(differs\)</small>", "", text)).strip(), bool(w))
            for w, text in CELL.findall(match.group(0))
        ]
        found[(match.group(1), match.group(2))] = cells
    return found


def _within(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _purposes(notice: dict[str, Any], key: str) -> str:
    """The purposes of a notice that use the category, from its YAML."""
    names = sorted(
        p["name"]
        for p in notice["purposes"]
        if p["categories"] == "all" or any(_within(key, k) for k in p["categories"])
    )
    return "; ".join(names) or "none"


def test_notices_side_by_side_for_members_only(
    app: Any, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    owner = TestClient(app)
    _console_admin(owner, runtime, tenant, "bpo.admin")
    names = {
        "one": "contact-center-1-2024",
        "two": "contact-center-1-2024",
        "three": "liveops-2018",
    }
    for slug, notice in names.items():
        made = onboard(owner, tenant, slug)
        adopt_example(runtime, made["id"], notice)
        with runtime.db.session() as session:
            clients.grant_client_access(
                session, tenant.id, made["id"], "bpo.admin", "auditor", Actor("t", "system")
            )
    page = owner.get("/console/all-clients/data-map")
    assert page.status_code == 200
    heads = re.findall(r'<th scope="col" data-org="([^"]+)">', page.text)
    assert sorted(heads) == ["one", "org-a", "three", "two"]  # the BPO has no notice
    table = _table(page.text)
    yamls = {
        s: yaml.safe_load((EXAMPLE_POLICIES / f"{n}.yaml").read_text()) for s, n in names.items()
    }
    keys = {c["key"] for y in yamls.values() for c in y["categories"]}
    assert {k for k, _ in table} == keys
    col = {slug: heads.index(slug) for slug in heads}
    for key in keys:
        purposes = table[(key, "purposes")]
        in_one = key in {c["key"] for c in yamls["one"]["categories"]}
        in_three = key in {c["key"] for c in yamls["three"]["categories"]}
        # Same notice, same words; the BPO without a notice never declares it.
        assert purposes[col["one"]][0] == purposes[col["two"]][0]
        assert purposes[col["org-a"]][0] == "not in this notice"
        expected_one = _purposes(yamls["one"], key) if in_one else "not in this notice"
        expected_three = _purposes(yamls["three"], key) if in_three else "not in this notice"
        assert purposes[col["one"]][0] == expected_one, key
        assert purposes[col["three"]][0] == expected_three, key
        # Marked as differing exactly when the four columns do not all say the same.
        texts = {text for text, _ in purposes}
        assert all(marked == (len(texts) > 1) for _, marked in purposes), key
    # In Spanish: no English product string left (the notices' own words are marked lang="en",
    # which the oracle skips); the product's "not in this notice" in Spanish words.
    spanish = owner.get("/console/all-clients/data-map", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    assert english_left(spanish.text, console=True) == []
    assert "no figura en este aviso" in spanish.text and "not in this notice" not in spanish.text
    english = page.text.replace('<html lang="en"', '<html lang="es"')
    assert english_left(english, console=True)  # the oracle can fail
    # Someone of another BPO: only their own organization, none of these notices.
    intruder = TestClient(app)
    _console_admin(intruder, runtime, other_tenant, "b.admin")
    theirs = intruder.get("/console/all-clients/data-map")
    assert theirs.status_code == 200
    assert re.findall(r'<th scope="col" data-org="([^"]+)">', theirs.text) == ["org-b"]
    assert _table(theirs.text) == {}


def test_one_notice_compared_with_itself_never_differs(
    app: Any, runtime: Runtime, tenant: Tenant
) -> None:
    owner = TestClient(app)
    _console_admin(owner, runtime, tenant, "bpo.admin")
    adopt_example(runtime, tenant.id, "alorica-2012")
    made = onboard(owner, tenant, "twin")
    adopt_example(runtime, made["id"], "alorica-2012")
    with runtime.db.session() as session:
        clients.grant_client_access(
            session, tenant.id, made["id"], "bpo.admin", "agent", Actor("t", "system")
        )
    table = _table(owner.get("/console/all-clients/data-map").text)
    assert table and not any(marked for cells in table.values() for _, marked in cells)
    assert all(len(cells) == 2 and cells[0] == cells[1] for cells in table.values())
