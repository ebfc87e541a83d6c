"""The console's cross-client desk (/console/all-clients) shows the breach notices the BPO owes
each client: one row per client and state with its due date and status, counted in the
per-client and total figures, filterable by client; the same page in Spanish leaves no English
product string; another BPO's administrator sees none of it (a client's own key: the API test
in tests/bpo/test_client_rules.py). The dates are the hand calendar's (NY 30 days, OR 10 days
after Mon 2026-11-02 15:00 UTC)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example
from tests.foundation.test_tenancy import _console_admin
from tests.web.spanish_oracle import english_left

ROW = re.compile(
    r'<tr data-org="([^"]+)" data-state="([^"]+)" data-status="([^"]+)">\s*<td[^>]*>([^<]+)</td>'
)


def _rows(page: str) -> list[tuple[str, ...]]:
    table = page.split('id="desk-owner-notices"', 1)[1].split("</table>", 1)[0]
    return [tuple(m) for m in ROW.findall(table)]


def test_owner_notices_on_the_console_desk(
    app: Any, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    owner = TestClient(app)
    _console_admin(owner, runtime, tenant, "bpo.admin")
    adopt_example(runtime, tenant.id)
    ids = {}
    for slug in ("one", "two"):
        ids[slug] = onboard(owner, tenant, slug)["id"]
        with runtime.db.session() as session:
            clients.grant_client_access(
                session, tenant.id, ids[slug], "bpo.admin", "auditor", Actor("t", "system")
            )
    for state in ("NY", "OR"):
        resident(runtime, tenant.id, state)
    api = TestClient(app)
    made = api.post(
        "/v1/breach/incidents",
        json={"title": "Dialer export", "owner": "Sec", "clients": ["one", "two"],
              "discovered_at": "2026-11-02T15:00:00Z"},
        headers=tenant.headers(),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    picked = api.post(
        f"/v1/breach/incidents/{made.json()['id']}/selection", json={"systems": ["web_form"]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert picked.status_code == 200, picked.text
    page = owner.get("/console/all-clients")
    assert page.status_code == 200
    assert _rows(page.text) == [
        ("one", "OR", "overdue", "2026-11-12 15:00 UTC"),
        ("two", "OR", "overdue", "2026-11-12 15:00 UTC"),
        ("one", "NY", "overdue", "2026-12-02 15:00 UTC"),
        ("two", "NY", "overdue", "2026-12-02 15:00 UTC"),
    ]
    one_row = re.search(r'<tr data-org="one">.*?</tr>', page.text, re.S)
    assert one_row and "2 (2 overdue)" in one_row[0]
    total = re.search(r'<tr id="desk-total">.*?</tr>', page.text, re.S)
    assert total and "4 (4 overdue)" in total[0]
    only_two = owner.get("/console/all-clients?client=two")
    assert [r[0] for r in _rows(only_two.text)] == ["two", "two"]
    spanish = owner.get("/console/all-clients", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    assert english_left(spanish.text, console=True) == []
    assert "Avisos de brecha debidos a clientes" in spanish.text
    # Another BPO's administrator: none of it.
    intruder = TestClient(app)
    _console_admin(intruder, runtime, other_tenant, "b.admin")
    assert _rows(intruder.get("/console/all-clients").text) == []
