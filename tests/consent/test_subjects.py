"""Decisions that use what the vault knows about a subject: minors, and the state's time zones."""

from __future__ import annotations

import datetime as dt

from _pytest.monkeypatch import MonkeyPatch
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent.decisions import snapshots
from honorbound.policy.store import AdoptedPolicy
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import current_rules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import EXAMPLE_POLICIES, Tenant
from tests.consent.conftest import decide, number, reasons, record, record_attempts
from tests.support.people import person

# Tuesday 2026-05-05 (daylight time): 14:30 UTC is 10:30 in New York, 9:30 in Chicago,
# 8:30 in Denver and 7:30 in Los Angeles.
MORNING = dt.datetime(2026, 5, 5, 14, 30, tzinfo=dt.UTC)
# 01:30 UTC the next day: 21:30 in New York (closed), 18:30 in Los Angeles (open).
NY_NIGHT = dt.datetime(2026, 5, 6, 1, 30, tzinfo=dt.UTC)


def subject(
    runtime: Runtime,
    org: int,
    identity: str,
    kind: IdentityKind,
    *,
    state: str | None = None,
    age: int | None = None,
    birth_date: dt.date | None = None,
) -> int:
    with runtime.db.session() as session:
        rules = current_rules(session, org, runtime.rules)
        assert rules is not None
        done = upsert_subject(
            session,
            runtime.vault_keys,
            org,
            [IdentityInput(kind, identity)],
            Actor("test", "agent"),
            rules,
            subject_type="user",
            jurisdiction=state,
            age=age,
            birth_date=birth_date,
        )
        return done.subject.id


def test_minor_in_a_state_needs_an_opt_in(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    # Connecticut: under 18 needs consent (activities not listed: every restricted purpose).
    minor, adult, elsewhere = person().email, person().email, person().email
    # The snapshot exists before the subjects do: new identities must still be seen.
    assert decide(runtime, tenant.id, [minor], "marketing", "email").allowed[0]
    subject(runtime, tenant.id, minor, IdentityKind.EMAIL, state="CT", age=17)
    subject(runtime, tenant.id, adult, IdentityKind.EMAIL, state="CT", age=30)
    subject(runtime, tenant.id, elsewhere, IdentityKind.EMAIL, state="IA", age=17)
    result = decide(runtime, tenant.id, [minor, adult, elsewhere], "marketing", "email")
    assert reasons(result) == [("minor",), (), ()]
    # Purposes the rules do not restrict stay open.
    assert decide(runtime, tenant.id, [minor], "service_messages", "email").allowed[0]
    # A recorded opt-in is the consent the rule asks for.
    record(runtime, tenant.id, minor, "marketing", "email", action="opt_in")
    assert decide(runtime, tenant.id, [minor], "marketing", "email").allowed[0]
    # ... for that purpose only.
    assert reasons(decide(runtime, tenant.id, [minor], "sale", "email")) == [("minor",)]


def test_prohibited_activity_ignores_an_opt_in(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    # Connecticut bans targeted advertising to under-18s from 2026-07-01.
    minor = person().email
    subject(runtime, tenant.id, minor, IdentityKind.EMAIL, state="CT", birth_date=_years_ago(17))
    record(runtime, tenant.id, minor, "targeted_advertising", "email", action="opt_in")
    result = decide(runtime, tenant.id, [minor], "targeted_advertising", "email")
    assert reasons(result) == [("minor",)]


def test_the_declarations_minimum_age_refuses_even_with_an_opt_in(
    runtime: Runtime, tenant: Tenant, client: TestClient
) -> None:
    from honorbound.policy.store import adopt_text

    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    lowered = text.replace("  minimum_age: 16\n", "  minimum_age: 13\n")
    assert lowered != text

    def adopt(body: str) -> None:
        with runtime.db.session() as session:
            adopt_text(
                session,
                tenant.id,
                body,
                Actor("test", "system"),
                filename="policy.yaml",
                jobs=runtime.jobs,
            )

    adopt(lowered)
    teen = number("515", 40)  # Iowa: no state minors rule, so only the declaration counts
    subject(runtime, tenant.id, teen, IdentityKind.PHONE, state="IA", age=14)
    record(runtime, tenant.id, teen, "marketing", "email", action="opt_in")
    assert decide(runtime, tenant.id, [teen], "marketing", "email").allowed[0]
    # The organization now says it does not use the data of children under 16.
    adopt(text)
    response = client.post(
        "/v1/contact-decisions",
        json={"items": [{"identity": teen, "purpose": "marketing", "channel": "email"}]},
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"allowed": False, "reasons": ["minor"]}]


def test_calling_hours_use_the_subjects_state(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    in_california, unknown = number("212", 41), number("212", 42)
    subject(runtime, tenant.id, in_california, IdentityKind.PHONE, state="CA", age=40)
    morning = decide(runtime, tenant.id, [in_california, unknown], "marketing", "voice", MORNING)
    assert reasons(morning) == [("outside_calling_hours",), ()]
    night = decide(runtime, tenant.id, [in_california, unknown], "marketing", "voice", NY_NIGHT)
    assert reasons(night) == [(), ("outside_calling_hours",)]
    # A zone named in the item still wins over the vault's state.
    named = decide(
        runtime,
        tenant.id,
        [in_california],
        "marketing",
        "voice",
        MORNING,
        time_zones=["America/New_York"],
        states=["NY"],
    )
    assert named.allowed[0]


def test_a_state_spanning_zones_must_be_open_in_all(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    # A Dallas number is Central only; Texas also has Mountain time (El Paso). Texas allows
    # calls from 9:00: at 9:30 Central it is 8:30 Mountain.
    texan, dallas = number("214", 43), number("214", 44)
    subject(runtime, tenant.id, texan, IdentityKind.PHONE, state="TX")
    result = decide(runtime, tenant.id, [texan, dallas], "marketing", "voice", MORNING)
    assert reasons(result) == [("outside_calling_hours",), ()]
    later = MORNING + dt.timedelta(hours=1)
    assert decide(runtime, tenant.id, [texan, dallas], "marketing", "voice", later).allowed.all()


def _years_ago(years: int) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today.replace(year=today.year - years) - dt.timedelta(days=30)


def test_an_age_learned_later_is_picked_up(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy, monkeypatch: MonkeyPatch
) -> None:
    # Updates in place are found by a periodic scan; scan on every batch here.
    monkeypatch.setattr(snapshots, "SUBJECT_SCAN_EVERY", dt.timedelta(0))
    who = person().email
    subject(runtime, tenant.id, who, IdentityKind.EMAIL)
    assert decide(runtime, tenant.id, [who], "sale", "email").allowed[0]
    subject(runtime, tenant.id, who, IdentityKind.EMAIL, state="DE", age=17)
    # Delaware: 13-17 need an opt-in for sale.
    assert reasons(decide(runtime, tenant.id, [who], "sale", "email")) == [("minor",)]
    assert decide(runtime, tenant.id, [who], "sharing", "email").allowed[0]


def test_call_caps_use_the_subjects_state(
    runtime: Runtime, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    """A New York number whose owner the vault knows lives in Florida: Florida's cap (three
    calls per 24 hours) applies; the same number with no subject is not capped."""
    in_florida, unknown = number("212", 46), number("212", 47)
    subject(runtime, tenant.id, in_florida, IdentityKind.PHONE, state="FL")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    decide(runtime, tenant.id, [in_florida, unknown], "marketing", "voice", now)
    for phone in (in_florida, unknown):
        record_attempts(
            runtime, tenant.id, phone, [now - dt.timedelta(hours=h) for h in (20, 10, 2)]
        )
    result = decide(runtime, tenant.id, [in_florida, unknown], "marketing", "voice", now)
    assert "call_cap_reached" in result.reasons_of(0)
    assert "call_cap_reached" not in result.reasons_of(1)
