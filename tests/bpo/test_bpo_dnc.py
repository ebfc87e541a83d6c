"""The BPO-wide do-not-call list, through the API a dialer uses (/v1/dnc/company, then
/v1/contact-decisions), for a BPO dialing for two clients and an unrelated organization.

The oracle is the rule as the reference states it (rules-review-2026-12 s.5, contact-rules.yaml
company_dnc.binds), written here as a table: a request on client one's call binds client one
only; a request addressed to the call center binds every client the BPO dials for, and the
BPO's own calls; an organization no BPO operates is never touched. Rows on disk are read with
plain SQL: where each request was written (whose list), and that the client's audit chain names
the event without the number."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.conftest import Tenant
from tests.consent.conftest import number

# A weekday noon in New York: calling hours never get in the way of the DNC checks.
NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)


def _agent(client: TestClient, bpo: Tenant, client_id: int) -> dict[str, str]:
    made = client.post(
        f"/v1/clients/{client_id}/api-keys", json={"name": "dialer", "role": "agent"},
        headers=bpo.headers(),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def _reasons(client: TestClient, headers: dict[str, str], phones: list[str]) -> list[list[str]]:
    items = [
        {"identity": p, "purpose": "marketing", "channel": "voice", "at": NOON_NY.isoformat()}
        for p in phones
    ]
    answer = client.post("/v1/contact-decisions", json={"items": items}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [r["reasons"] for r in answer.json()["results"]]


def _rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_telemarketer_request_binds_every_client_seller_request_binds_one(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one = onboard(client, tenant, "one")["id"]
    two = onboard(client, tenant, "two")["id"]
    heads = {one: _agent(client, tenant, one), two: _agent(client, tenant, two)}
    heads[tenant.id] = tenant.headers(Role.AGENT)
    heads[other_tenant.id] = other_tenant.headers(Role.AGENT)
    seller_only, call_center, untouched = number("212", 61), number("212", 62), number("212", 63)
    phones = [seller_only, call_center, untouched]
    # Decide once first, so the snapshots exist and the requests below arrive as their delta.
    for headers in heads.values():
        assert _reasons(client, headers, phones) == [[], [], []]
    said = client.post(
        "/v1/dnc/company", json={"identity": seller_only}, headers=heads[one]
    )  # default: the rules' default (seller)
    assert said.status_code == 201 and said.json()["binds"] == "seller", said.text
    said = client.post(
        "/v1/dnc/company",
        json={"identity": call_center, "binds": "telemarketer", "source": "phone_call"},
        headers=heads[one],
    )
    assert said.status_code == 201 and said.json()["binds"] == "telemarketer", said.text
    expected = {
        one: [["company_dnc"], ["bpo_dnc"], []],
        two: [[], ["bpo_dnc"], []],
        tenant.id: [[], ["company_dnc"], []],  # the BPO dialing for itself: its own list
        other_tenant.id: [[], [], []],  # no BPO dials for it
    }
    for org, headers in heads.items():
        assert _reasons(client, headers, phones) == expected[org], org
    # A client onboarded after the request is bound too (a fresh snapshot reads the list).
    three = onboard(client, tenant, "three")["id"]
    assert _reasons(client, _agent(client, tenant, three), phones) == [[], ["bpo_dnc"], []]
    # On disk: the seller's request on client one's list, the call center's on the BPO's.
    lists = _rows(runtime, "SELECT organization_id FROM consent_company_dnc ORDER BY id")
    assert lists == [(one,), (tenant.id,)]
    taken = _rows(
        runtime,
        "SELECT organization_id, details FROM audit_entries WHERE action = :a",
        a="consent.telemarketer_dnc_taken",
    )
    assert [r[0] for r in taken] == [one]
    assert call_center[2:] not in taken[0][1] and call_center[5:] not in taken[0][1]


def test_bad_binds_change_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one = onboard(client, tenant, "one")["id"]
    headers = _agent(client, tenant, one)
    phone = number("415", 64)
    for body, who, field in (
        ({"identity": phone, "binds": "everyone"}, headers, "binds"),
        ({"identity": phone, "binds": "telemarketer"}, other_tenant.headers(), "binds"),
        ({"identity": "not a phone", "binds": "telemarketer"}, headers, "identity"),
        ({"identity": phone, "binds": "telemarketer", "source": "gossip"}, headers, "source"),
    ):
        answer = client.post("/v1/dnc/company", json=body, headers=who)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text, (body, answer.text)
    assert _rows(runtime, "SELECT count(*) FROM consent_company_dnc") == [(0,)]
    assert _rows(
        runtime, "SELECT count(*) FROM audit_entries WHERE action LIKE 'consent.%dnc%'"
    ) == [(0,)]


def test_hint_shows_other_clients_lists_to_bpo_staff_only(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one = onboard(client, tenant, "one")["id"]
    two = onboard(client, tenant, "two")["id"]
    phone, clean = number("305", 65), number("305", 66)
    said = client.post(
        "/v1/dnc/company", json={"identity": phone}, headers=_agent(client, tenant, one)
    )
    assert said.status_code == 201, said.text

    def hint(headers: dict[str, str], value: str) -> Any:
        return client.post("/v1/desk/dnc-hints", json={"identity": value}, headers=headers)

    assert hint(tenant.headers(), phone).json() == {"organizations": ["one"]}
    assert hint(tenant.headers(), clean).json() == {"organizations": []}
    assert hint(other_tenant.headers(), phone).json() == {"organizations": []}
    # A client's own key sees its own list only: client one's request never reaches it.
    assert hint(_agent(client, tenant, two), phone).json() == {"organizations": []}
    assert hint(tenant.headers(), "not a number").status_code == 422
    # The hint changes nothing: client two may still call (its own list is its own).
    assert _reasons(client, _agent(client, tenant, two), [phone]) == [[]]
