"""Deadlines against an oracle: dates worked out by hand from the statutes (calendar days,
business days skipping weekends and Veterans Day 2026-11-11, hours), not read from the rules
file. The plan is computed from the shipped rules the runtime loads."""

from __future__ import annotations

import datetime as dt

import pytest

from honorbound.breach.deadlines import Obligation, plan
from honorbound.breach.models import Incident
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.runtime import read_rules

U = dt.UTC
D = dt.datetime(2026, 11, 2, 15, 0, tzinfo=U)  # a Monday


@pytest.fixture(scope="module")
def rules() -> JurisdictionRules:
    return read_rules(None)


def incident(**kw: object) -> Incident:
    values: dict[str, object] = dict(
        discovered_at=D, categories=["user.contact"], clients=[], encrypted=False,
        key_compromised=False, health_data_covered=False, selection={},
    )  # fmt: skip
    values.update(kw)
    return Incident(**values)


def find(obligations: list[Obligation], audience: str, state: str, who: str = "") -> Obligation:
    hits = [o for o in obligations if o.audience == audience and o.state == state]
    if who:
        hits = [o for o in hits if o.who == who]
    assert len(hits) == 1, (audience, state, who, hits)
    return hits[0]


# (audience, state, who, residents in that state, due) -- hand-computed.
ORACLE = [
    # 30 calendar days: 2026-11-02 + 30 = 2026-12-02
    ("individuals", "CA", "", 600, dt.datetime(2026, 12, 2, 15, tzinfo=U)),
    # CA AG: 15 days after the individual notices (none sent yet: after their deadline)
    ("regulator", "CA", "Attorney General", 600, dt.datetime(2026, 12, 17, 15, tzinfo=U)),
    ("individuals", "CO", "", 500, dt.datetime(2026, 12, 2, 15, tzinfo=U)),
    ("regulator", "CO", "Attorney General", 500, dt.datetime(2026, 12, 2, 15, tzinfo=U)),
    # 45 days: 2026-12-17; VT AG preliminary notice: 14 business days, skipping the weekends
    # and Veterans Day (Wed 2026-11-11) -> Mon 2026-11-23
    ("individuals", "VT", "", 3, dt.datetime(2026, 12, 17, 15, tzinfo=U)),
    ("regulator", "VT", "Attorney General (or the Department of Financial Regulation for its "
     "licensees)", 3, dt.datetime(2026, 11, 23, 15, tzinfo=U)),
    # 60 days: 2027-01-01; TX AG 30 days from discovery when 250+: 2026-12-02
    ("individuals", "TX", "", 250, dt.datetime(2027, 1, 1, 15, tzinfo=U)),
    ("regulator", "TX", "Attorney General", 250, dt.datetime(2026, 12, 2, 15, tzinfo=U)),
    # MN consumer reporting agencies within 48 hours when 501+
    ("agency", "MN", "nationwide consumer reporting agencies", 501,
     dt.datetime(2026, 11, 4, 15, tzinfo=U)),
    # WA AG within 30 days when 501+
    ("regulator", "WA", "Attorney General", 501, dt.datetime(2026, 12, 2, 15, tzinfo=U)),
]  # fmt: skip


@pytest.mark.parametrize(("audience", "state", "who", "n", "due"), ORACLE)
def test_deadline_matches_the_oracle(
    rules: JurisdictionRules, audience: str, state: str, who: str, n: int, due: dt.datetime
) -> None:
    o = find(plan(rules, incident(), {state: n}).obligations, audience, state, who)
    assert o.required
    assert o.due_at == due
    assert o.source and o.confidence


def test_threshold_not_met_says_why(rules: JurisdictionRules) -> None:
    obligations = plan(rules, incident(), {"TX": 249, "CA": 500, "MN": 500}).obligations
    tx = find(obligations, "regulator", "TX", "Attorney General")
    assert not tx.required and tx.due_at is None
    assert tx.reason == (
        "no Attorney General notice required: 249 residents affected, the threshold is 250"
    )
    assert not find(obligations, "regulator", "CA", "Attorney General").required
    assert not find(obligations, "agency", "MN").required
    # KY's law names no attorney general: said so, not silently left out.
    ky = plan(rules, incident(), {"KY": 10_000}).obligations
    ag = find(ky, "regulator", "KY", "Attorney General")
    assert not ag.required and "names none" in ag.reason


def test_ca_attorney_general_runs_from_the_notices_actually_sent(rules: JurisdictionRules) -> None:
    sent = dt.datetime(2026, 11, 20, 10, 0, tzinfo=U)
    o = find(plan(rules, incident(), {"CA": 501}, {"CA": sent}).obligations, "regulator", "CA")
    assert o.due_at == dt.datetime(2026, 12, 5, 10, 0, tzinfo=U)  # 15 calendar days later


def test_before_a_fixed_deadline_applied_it_is_without_unreasonable_delay(
    rules: JurisdictionRules,
) -> None:
    # CA's 30 days apply from 2026-01-01; a 2025 discovery has no fixed date.
    old = incident(discovered_at=dt.datetime(2025, 6, 2, 9, tzinfo=U))
    o = find(plan(rules, old, {"CA": 3}).obligations, "individuals", "CA")
    assert o.required and o.due_at is None and "without unreasonable delay" in o.rule


def test_processor_to_owner_ny_30_or_10_ga_24_hours(rules: JurisdictionRules) -> None:
    obligations = plan(rules, incident(clients=["acme"]), {"NY": 1, "OR": 1, "GA": 1}).obligations
    assert find(obligations, "owner", "NY").due_at == dt.datetime(2026, 12, 2, 15, tzinfo=U)
    assert find(obligations, "owner", "OR").due_at == dt.datetime(2026, 11, 12, 15, tzinfo=U)
    assert find(obligations, "owner", "GA").due_at == dt.datetime(2026, 11, 3, 15, tzinfo=U)
    # No client named: no owner duty.
    assert not [o for o in plan(rules, incident(), {"NY": 1}).obligations if o.audience == "owner"]


def test_encryption_safe_harbor(rules: JurisdictionRules) -> None:
    safe = plan(rules, incident(encrypted=True), {"NY": 40, "CA": 700}).obligations
    assert all(not o.required for o in safe)
    assert "safe harbor" in find(safe, "individuals", "NY").reason
    leaked = plan(rules, incident(encrypted=True, key_compromised=True), {"NY": 40}).obligations
    assert find(leaked, "individuals", "NY").required


def test_hipaa_for_health_data(rules: JurisdictionRules) -> None:
    health = incident(categories=["user.health_and_medical"], health_data_covered=True)
    big = plan(rules, health, {"TX": 300, "FL": 300}).obligations
    # 60 calendar days from 2026-11-02: 2027-01-01; 600 people: HHS with the notices.
    assert find(big, "individuals", "US").due_at == dt.datetime(2027, 1, 1, 15, tzinfo=U)
    assert find(big, "hhs", "US").due_at == dt.datetime(2027, 1, 1, 15, tzinfo=U)
    assert not find(big, "media", "TX").required  # 300 residents: not more than 500
    small = plan(rules, health, {"TX": 10}).obligations
    # Fewer than 500: the annual log, 60 days after 2026-12-31 = 2027-03-01.
    assert find(small, "hhs", "US").due_at == dt.datetime(2027, 3, 1, tzinfo=U)
    many = plan(rules, health, {"TX": 501}).obligations
    assert find(many, "media", "TX").required
    # Not a covered entity: no HIPAA duty at all.
    plain = plan(rules, incident(categories=["user.health_and_medical"]), {"TX": 501})
    assert not plain.hipaa and not [o for o in plain.obligations if o.state == "US"]


def test_identity_protection_months(rules: JurisdictionRules) -> None:
    ssn = incident(categories=["user.government_id.national_identification_number"])
    p = plan(rules, ssn, {"CT": 1, "CA": 1, "TX": 1})
    assert p.identity_protection_months == {"CT": 24, "CA": 12}
    assert plan(rules, incident(), {"CT": 1}).identity_protection_months == {}


def test_unknown_state_gets_the_strictest_deadline(rules: JurisdictionRules) -> None:
    o = find(plan(rules, incident(), {"": 4}).obligations, "individuals", "")
    assert o.due_at == dt.datetime(2026, 12, 2, 15, tzinfo=U)  # 30 days, the shortest fixed one
