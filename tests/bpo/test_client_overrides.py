"""Per-client calling hours stricter than the law, through the API: a BPO administrator sets
client one's hours to 10:00-18:00; one's contact decisions refuse calls outside them, client
two keeps the law's 08:00-21:00, and nothing looser than the law is accepted. The expected
verdicts are a hand-written table of New York local times (a 212 number), not the engine's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.runtime import Runtime
from tests.bpo.test_bpo_dnc import _agent
from tests.bpo.test_clients_api import onboard
from tests.conftest import Tenant
from tests.consent.conftest import number

NY = ZoneInfo("America/New_York")
DAY = dt.date(2026, 11, 18)  # a Wednesday, no holiday


def _at(hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(DAY, dt.time(hour, minute), NY).isoformat()


def _verdicts(client: TestClient, headers: dict[str, str], phone: str) -> list[bool]:
    items = [
        {"identity": phone, "purpose": "marketing", "channel": "voice", "at": _at(h, m)}
        for h, m in TIMES
    ]
    answer = client.post("/v1/contact-decisions", json={"items": items}, headers=headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    for r in results:
        assert r["reasons"] in ([], ["outside_calling_hours"]), r
    return [r["allowed"] for r in results]


TIMES = [(8, 30), (9, 59), (10, 0), (12, 0), (17, 59), (18, 0), (20, 30), (21, 30)]
LAW = [True, True, True, True, True, True, True, False]  # 08:00-21:00
CLIENT = [False, False, True, True, True, False, False, False]  # 10:00-18:00 and the law


def test_a_client_hours_narrow_the_law_for_that_client_only(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one, two = onboard(client, tenant, "one")["id"], onboard(client, tenant, "two")["id"]
    phone = number("212", 81)
    heads = {one: _agent(client, tenant, one), two: _agent(client, tenant, two)}
    assert _verdicts(client, heads[one], phone) == LAW
    put = client.put(
        f"/v1/clients/{one}/overrides",
        json={"calling_hours": {"start": "10:00", "end": "18:00"}, "note": "counsel 2026-12"},
        headers=tenant.headers(),
    )
    assert put.status_code == 200, put.text
    assert _verdicts(client, heads[one], phone) == CLIENT
    assert _verdicts(client, heads[two], phone) == LAW
    # Looser than the law, malformed, or not this BPO's client: refused, nothing changes.
    for body, status in (
        ({"calling_hours": {"start": "07:00", "end": "18:00"}}, 422),
        ({"calling_hours": {"start": "10:00", "end": "21:30"}}, 422),
        ({"calling_hours": {"start": "18:00", "end": "10:00"}}, 422),
        ({"calling_hours": {"start": "9am", "end": "18:00"}}, 422),
        ({"calling_hours": {"start": "10:00", "end": "18:00"}, "note": "x" * 501}, 422),
        ({"calling_hours": {"start": "10:00"}}, 422),
    ):
        answer = client.put(f"/v1/clients/{one}/overrides", json=body, headers=tenant.headers())
        assert answer.status_code == status, (body, answer.text)
    assert (
        "stricter than the law"
        in client.put(
            f"/v1/clients/{one}/overrides",
            json={"calling_hours": {"start": "07:00", "end": "18:00"}},
            headers=tenant.headers(),
        ).json()["detail"]
    )
    refused = client.put(
        f"/v1/clients/{one}/overrides",
        json={"calling_hours": {"start": "11:00", "end": "12:00"}},
        headers=other_tenant.headers(),
    )
    assert refused.status_code == 404
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT organization_id, calling_start, calling_end FROM consent_contact_overrides"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(one, "10:00", "18:00")]
    assert client.get(f"/v1/clients/{one}/overrides", headers=tenant.headers()).json()[
        "calling_hours"
    ] == {"start": "10:00", "end": "18:00"}
    # Cleared: the law alone again.
    assert (
        client.delete(f"/v1/clients/{one}/overrides", headers=tenant.headers()).status_code == 204
    )
    assert _verdicts(client, heads[one], phone) == LAW
