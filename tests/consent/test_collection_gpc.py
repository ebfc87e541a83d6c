"""Issue 14, defect 9 on the collection endpoints: `Sec-GPC: 1` that comes with a collection
call (a web form's backend forwarding the person's request) is recorded for every identity of
the person, the browser's cookie id included, and applied where the law of the person's state
requires it, like on the portal.

Oracles: the consent ledger's rows read directly, `policy/data/us-rules.yaml` read directly for
which states require the signal, and the contact-decision API.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.people import person

GPC = {"Sec-GPC": "1"}
PURPOSES = ["sale", "sharing", "targeted_advertising"]


def _requires_gpc(state: str) -> bool:
    text = (resources.files("honorbound.policy") / "data" / "us-rules.yaml").read_text("utf-8")
    rule = yaml.safe_load(text)["states"][state]["universal_opt_out"]
    since = rule.get("required_from")
    return bool(rule["required"]) and (since is None or since <= dt.date.today())


def _tenant(runtime: Runtime) -> Tenant:
    tenant = make_tenant(runtime, "gpc-collect")
    adopt_example(runtime, tenant.id, "contact-center-1-2024")  # does not promise GPC itself
    return tenant


def _events(runtime: Runtime, tenant: Tenant) -> list[tuple[str, str, str, str, str]]:
    with runtime.db.session() as session:
        rows = session.scalars(
            select(ConsentEvent).where(ConsentEvent.organization_id == tenant.id)
        ).all()
        return sorted((r.identity_kind, r.purpose, r.channel, r.action, r.source) for r in rows)


def _decide(client: TestClient, tenant: Tenant, identities: list[str]) -> list[Any]:
    items = [{"identity": i, "purpose": "sale", "channel": "email"} for i in identities]
    response = client.post(
        "/v1/contact-decisions", json={"items": items}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    return [r["allowed"] for r in response.json()["results"]]


def test_gpc_on_a_subject_upsert_opts_out_every_identity_in_a_state_that_requires_it(
    client: TestClient, runtime: Runtime
) -> None:
    assert _requires_gpc("CA")
    tenant = _tenant(runtime)
    who = person()
    body = {
        "type": "user",
        "jurisdiction": "CA",
        "identities": [
            {"kind": "email", "value": who.email},
            {"kind": "phone", "value": who.phone},
            {"kind": "cookie_id", "value": "browser-7f3a9c21"},
        ],
    }
    headers = {**tenant.headers(Role.AGENT), **GPC}
    created = client.post("/v1/subjects", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["gpc"] == "Opt-out request honored"
    expected = sorted(
        (kind, purpose, "all", "opt_out", "gpc_signal")
        for kind in ("cookie_id", "email", "phone")
        for purpose in PURPOSES
    )
    assert _events(runtime, tenant) == expected
    assert _decide(client, tenant, [who.email, who.phone]) == [False, False]
    # The same browser sends the header on every call: nothing is recorded twice.
    again = client.post("/v1/subjects", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["gpc"] == "Opt-out request honored"
    assert _events(runtime, tenant) == expected


def test_gpc_on_a_record_or_interaction_call_counts_too(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime)
    agent = tenant.headers(Role.AGENT)
    who = person()
    sid = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "jurisdiction": "CO",
            "identities": [{"kind": "email", "value": who.email}],
        },
        headers=agent,
    ).json()["id"]
    assert _events(runtime, tenant) == [] and _decide(client, tenant, [who.email]) == [True]
    record = client.post(
        f"/v1/subjects/{sid}/records",
        json={
            "category": "user.contact.email",
            "value": who.email,
            "purposes": ["support"],
            "source": "web_form",
        },
        headers={**agent, **GPC},
    )
    assert record.status_code == 201, record.text
    assert record.json()["gpc"] == ("Opt-out request honored" if _requires_gpc("CO") else None)
    assert _decide(client, tenant, [who.email]) == [not _requires_gpc("CO")]
    chat = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
            "text": "hello",
        },
        headers={**agent, **GPC},
    )
    assert chat.status_code == 201, chat.text
    assert len(_events(runtime, tenant)) == 3  # once per purpose, not once per call


def test_gpc_is_not_applied_where_no_law_requires_it_and_the_notice_does_not_promise_it(
    client: TestClient, runtime: Runtime
) -> None:
    assert not _requires_gpc("VA")
    tenant = _tenant(runtime)
    who = person()
    created = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "jurisdiction": "VA",
            "identities": [{"kind": "email", "value": who.email}],
        },
        headers={**tenant.headers(Role.AGENT), **GPC},
    )
    assert created.status_code == 201, created.text
    assert created.json()["gpc"] is None
    assert _events(runtime, tenant) == []


def test_gpc_with_no_known_state_takes_the_strictest_default(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime)
    who = person()
    created = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": who.email}]},
        headers={**tenant.headers(Role.AGENT), **GPC},
    )
    assert created.status_code == 201, created.text
    assert created.json()["gpc"] == "Opt-out request honored"
    assert [e[1] for e in _events(runtime, tenant)] == sorted(PURPOSES)
