"""Contact decisions: the ledger, consent requirements, revocations at once, bad items alone."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, number, reasons, record
from tests.support.people import person

NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)


def test_revocation_takes_effect_in_the_next_batch(runtime: Runtime, tenant: Tenant) -> None:
    a, b = number("212", 20), number("212", 21)
    assert decide(runtime, tenant.id, [a, b], "marketing", "voice", NOON_NY).allowed.all()
    record(runtime, tenant.id, a, "marketing", "voice")  # after the snapshot was built
    result = decide(runtime, tenant.id, [a, b], "marketing", "voice", NOON_NY)
    assert reasons(result) == [("opted_out",), ()]
    # Opting back in wins because it is newer.
    record(runtime, tenant.id, a, "marketing", "voice", action="opt_in")
    assert decide(runtime, tenant.id, [a], "marketing", "voice", NOON_NY).allowed[0]


def test_wildcards_cover_every_purpose_and_channel(runtime: Runtime, tenant: Tenant) -> None:
    who = person().email
    record(runtime, tenant.id, who, "all", "email")
    assert reasons(decide(runtime, tenant.id, [who], "profiling", "email")) == [("opted_out",)]
    assert decide(runtime, tenant.id, [who], "profiling", "mail").allowed[0]
    other = person().email
    record(runtime, tenant.id, other, "sale", "all")
    assert reasons(decide(runtime, tenant.id, [other], "sale", "fax")) == [("opted_out",)]
    assert decide(runtime, tenant.id, [other], "sharing", "fax").allowed[0]


def test_snapshot_rebuild_gives_the_same_answers(runtime: Runtime, tenant: Tenant) -> None:
    people = [person().email for _ in range(6)]
    record(runtime, tenant.id, people[0], "marketing", "email")
    record(runtime, tenant.id, people[1], "marketing", "email", scope="newsletter")
    record(runtime, tenant.id, people[2], "all", "all")
    record(runtime, tenant.id, people[2], "marketing", "email", action="opt_in")
    first = reasons(decide(runtime, tenant.id, people, "marketing", "email"))
    from honorbound.consent import service

    service.engine(runtime.keys).invalidate(tenant.id)
    assert reasons(decide(runtime, tenant.id, people, "marketing", "email")) == first
    assert first == [("opted_out",), ("opted_out",), (), (), (), ()]
    # Scoped to a list: other lists are still allowed when the list is named.
    named = decide(runtime, tenant.id, [people[1]], "marketing", "email", senders=["offers"])
    assert named.allowed[0]
    named = decide(runtime, tenant.id, [people[1]], "marketing", "email", senders=["newsletter"])
    assert not named.allowed[0]


def test_consent_required_and_sensitive(runtime: Runtime, tenant: Tenant) -> None:
    phone, who = number("415", 22), person().email
    assert reasons(decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY)) == [
        ("consent_required",)
    ]
    record(runtime, tenant.id, phone, "marketing", "sms", action="opt_in")
    assert decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY).allowed[0]
    assert reasons(decide(runtime, tenant.id, [who], "sensitive_data_use", "email")) == [
        ("consent_required",)
    ]
    record(runtime, tenant.id, who, "sensitive_data_use", "all", action="opt_in")
    assert decide(runtime, tenant.id, [who], "sensitive_data_use", "email").allowed[0]
    record(runtime, tenant.id, who, "sensitive_data_use", "all")
    # A later "limit the use of my sensitive data" is reported as such.
    assert reasons(decide(runtime, tenant.id, [who], "sensitive_data_use", "email")) == [
        ("sensitive_limited",)
    ]


def test_same_person_written_differently_is_the_same_identity(
    runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("617", 23)
    record(runtime, tenant.id, phone, "marketing", "voice")
    spellings = [phone, phone[2:], "1" + phone[2:], f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"]
    result = decide(runtime, tenant.id, spellings, "marketing", "voice", NOON_NY)
    assert reasons(result) == [("opted_out",)] * 4


def test_bulk_endpoint_bad_items_fail_alone(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    a, b = number("212", 24), number("212", 25)
    record(runtime, tenant.id, b, "marketing", "voice")
    items = [
        {
            "identity": a,
            "purpose": "marketing",
            "channel": "voice",
            "at": "2026-11-18T12:00:00-05:00",
        },
        {
            "identity": b,
            "purpose": "marketing",
            "channel": "voice",
            "at": "2026-11-18T12:00:00-05:00",
        },
        {"identity": a, "purpose": "marketing", "channel": "voice", "at": "yesterday"},
        {"identity": "not a number", "purpose": "marketing", "channel": "voice"},
        {"identity": a, "purpose": "marketing", "channel": "pigeon"},
        {"identity": a, "purpose": "marketing", "channel": "voice", "colour": "red"},
        "just a string",
        {"identity": 12345, "purpose": "marketing", "channel": "voice"},
    ]
    response = client.post(
        "/v1/contact-decisions", json={"items": items}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(items)
    results = body["results"]
    assert results[0] == {"allowed": True, "reasons": []}
    assert results[1] == {"allowed": False, "reasons": ["opted_out"]}
    fields = [[e["field"] for e in r.get("errors", [])] for r in results[2:]]
    assert fields == [
        ["items[2].at"],
        ["items[3].identity"],
        ["items[4].channel"],
        ["items[5].colour"],
        ["items[6].item"],
        ["items[7].identity"],
    ]
    assert all(r["reasons"] == ["invalid_item"] and not r["allowed"] for r in results[2:])
    assert "national_dnc_registry_missing" in body["warnings"]
    assert a not in response.text and a[2:] not in response.text


def test_bulk_endpoint_rejects_more_than_the_limit_and_non_lists(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post("/v1/contact-decisions", json={"items": "x"}, headers=tenant.headers())
    assert response.status_code == 422
    response = client.post("/v1/contact-decisions", json={"item": []}, headers=tenant.headers())
    assert response.status_code == 422
    response = client.post(
        "/v1/contact-decisions", json={"items": []}, headers=tenant.headers(Role.AUDITOR)
    )
    assert response.status_code == 200 and response.json()["results"] == []


def test_organizations_do_not_see_each_other(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    who = person().email
    record(runtime, tenant.id, who, "marketing", "email")
    assert not decide(runtime, tenant.id, [who], "marketing", "email").allowed[0]
    assert decide(runtime, other_tenant.id, [who], "marketing", "email").allowed[0]
