"""The US rules brought current to December 2026 (issue 19), table-driven, one row per state.

Every expected value below is typed from rules-review-2026-12.md (the section is named in each
table), not read from us-rules.yaml: a wrong, missing or mis-dated row fails here. Due dates are
computed here by plain date arithmetic, not by the clock under test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from honorbound.consent import gpc
from honorbound.consent.minors import (
    OPT_IN_NEEDED,
    REFUSED,
    ChildrenPolicy,
    requirements,
)
from honorbound.consent.rules import load as contact_rules
from honorbound.policy.applicability import report
from honorbound.policy.check import check_text
from honorbound.policy.jurisdictions import load_rules
from honorbound.policy.loader import parse_declaration
from honorbound.policy.rulesdoc import embedded, markdown
from honorbound.rights import clock
from honorbound.rights.rules import load_rights_rules

LAWS = load_rules()
RIGHTS = load_rights_rules()
ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text(encoding="utf-8")
LATER = dt.date(2028, 6, 1)  # every law of the table in force
RECEIVED = dt.datetime(2028, 6, 1, 15, 0, tzinfo=dt.UTC)

# s.1.1 and s.2.1: the laws and their effective dates.
EFFECTIVE = {
    "CA": "2020-01-01", "CO": "2023-07-01", "CT": "2023-07-01", "DE": "2025-01-01",
    "IA": "2025-01-01", "MT": "2024-10-01", "NE": "2025-01-01", "NH": "2025-01-01",
    "NJ": "2025-01-15", "OR": "2024-07-01", "TX": "2024-07-01", "UT": "2023-12-31",
    "VA": "2023-01-01", "TN": "2025-07-01", "MN": "2025-07-31", "MD": "2025-10-01",
    "IN": "2026-01-01", "KY": "2026-01-01", "RI": "2026-01-01", "OK": "2027-01-01",
    "LA": "2027-01-01", "AL": "2027-05-01", "VT": "2028-01-01",
}  # fmt: skip

# s.1.2: respond days, extension days, appeal decision days (None: no appeal; 45 where the
# law grants one but no deadline was found: the shortest confirmed, rights/data/requests.yaml),
# appeal extension days.
CLOCKS: dict[str, tuple[int, int, int | None, int | None]] = {
    "CA": (45, 45, None, None), "CO": (45, 45, 45, 60), "CT": (45, 45, 60, None),
    "DE": (45, 45, 60, None), "IA": (90, 45, 60, None), "MT": (45, 45, 60, None),
    "NE": (45, 45, 60, None), "NH": (45, 45, 60, None), "NJ": (45, 45, 45, None),
    "OR": (45, 45, 45, None), "TX": (45, 45, 60, None), "UT": (45, 45, None, None),
    "VA": (45, 45, 60, None), "TN": (45, 45, 60, None), "MN": (45, 45, 45, 60),
    "MD": (45, 45, 60, None), "IN": (45, 45, 60, None), "KY": (45, 45, 60, None),
    "RI": (45, 45, 60, None), "OK": (45, 45, 60, None), "LA": (45, 45, 45, None),
    "AL": (45, 45, 45, None), "VT": (45, 45, 45, None),
}  # fmt: skip

# s.1.2: free requests per 12 months (None: not known).
FREE = {
    "CA": 2, "CO": 1, "CT": 1, "DE": 1, "IA": 2, "MT": 1, "NE": 2, "NH": 1, "NJ": 1, "OR": 1,
    "TX": 2, "UT": 1, "VA": 2, "TN": 2, "MN": 2, "MD": 1, "IN": 1, "KY": 2, "RI": 1,
    "OK": None, "LA": None, "AL": None, "VT": None,
}  # fmt: skip

# s.1.3: universal opt-out (GPC) required from (None: not required; "always": CA).
GPC = {
    "CA": "always", "CO": "2024-07-01", "CT": "2025-01-01", "DE": "2026-01-01", "IA": None,
    "MT": "2025-01-01", "NE": "2025-01-01", "NH": "2025-01-01", "NJ": "2025-07-15",
    "OR": "2026-01-01", "TX": "2025-01-01", "UT": None, "VA": None, "TN": None,
    "MN": "2025-07-31", "MD": "2025-10-01", "IN": None, "KY": None, "RI": None, "OK": None,
    "LA": "2027-01-01", "AL": None, "VT": "2028-01-01",
}  # fmt: skip


def test_the_table_covers_every_state_of_the_review() -> None:
    assert set(LAWS.states) == set(EFFECTIVE) == set(CLOCKS) == set(FREE) == set(GPC)


@pytest.mark.parametrize("state", sorted(CLOCKS))
def test_due_dates_per_state(state: str) -> None:
    respond, extension, appeal, appeal_ext = CLOCKS[state]
    due = clock.clock_for(LAWS, RIGHTS, "delete", state, RECEIVED).due_at
    assert due == RECEIVED + dt.timedelta(days=respond)
    assert clock.extension_for(LAWS, state, LATER).days == extension
    if appeal is None:
        assert not clock.appeal_allowed(LAWS, state, LATER)
        with pytest.raises(clock.NoAppealRight):
            clock.clock_for(LAWS, RIGHTS, "appeal", state, RECEIVED)
    else:
        timing = clock.clock_for(LAWS, RIGHTS, "appeal", state, RECEIVED)
        assert timing.due_at == RECEIVED + dt.timedelta(days=appeal)
    if appeal_ext is None:
        with pytest.raises(clock.NoAppealExtension):
            clock.appeal_extension_for(LAWS, state, LATER)
    else:
        assert clock.appeal_extension_for(LAWS, state, LATER).days == appeal_ext


@pytest.mark.parametrize("state", sorted(EFFECTIVE))
def test_a_law_applies_from_its_effective_date(state: str) -> None:
    starts = dt.date.fromisoformat(EFFECTIVE[state])
    assert LAWS.state(state).effective == starts
    assert LAWS.rule_for(state, starts).name == LAWS.state(state).name
    before = LAWS.rule_for(state, starts - dt.timedelta(days=1))
    assert before.name == "Unknown state (organization default)"
    # Before its law, a resident may appeal (the default); CA and UT never may under theirs.
    assert before.appeal.required


@pytest.mark.parametrize("state", sorted(FREE))
def test_free_requests_per_state(state: str) -> None:
    assert LAWS.state(state).free_requests == FREE[state]


@pytest.mark.parametrize("state", sorted(GPC))
def test_universal_opt_out_per_state(state: str) -> None:
    row = LAWS.state(state)
    expected = GPC[state]
    if expected is None:
        assert not row.gpc_required(LATER)
    elif expected == "always":
        assert row.gpc_required(dt.date(2021, 1, 1))
    else:
        starts = dt.date.fromisoformat(expected)
        assert row.gpc_required(starts) and not row.gpc_required(starts - dt.timedelta(days=1))


# --- unknown state: the organization's default, at least as strict as the strictest ---------


@pytest.mark.parametrize("code", ["OH", "FL", "ZZ", "", None])
def test_unknown_or_lawless_states_get_the_strict_default(code: str | None) -> None:
    on = dt.date(2026, 12, 2)
    rule = LAWS.rule_for(code, on)
    assert rule.appeal.required and rule.appeal_days == 45  # CO, NJ, OR, MN: 45
    assert rule.respond_days == 45 and rule.extension_days == 45  # IA's 90 is not the strictest
    assert rule.gpc_required(on)
    assert rule.sensitive == "strict"  # MD
    assert rule.free_requests == 2
    assert gpc.applies(code, False, on, LAWS)
    # The states it was built from are those in force, not OK/LA/AL/VT yet.
    assert set(LAWS.strictest_states(on)) == {
        s for s, d in EFFECTIVE.items() if dt.date.fromisoformat(d) <= on
    }


def test_the_default_follows_the_states_the_notice_covers() -> None:
    on = dt.date(2026, 12, 2)
    iowa_only = LAWS.unknown_state_rule(on, frozenset({"IA", "UT"}))
    assert iowa_only.respond_days == 45  # UT 45 beats IA 90
    assert iowa_only.sensitive == "opt_out"
    assert iowa_only.appeal.required and iowa_only.appeal_days == 60  # IA's 60
    assert iowa_only.gpc_required(on)  # always, whatever the covered states say
    assert iowa_only.appeal.extension is None
    co_mn = LAWS.unknown_state_rule(on, frozenset({"CO", "MN"}))
    assert co_mn.appeal.extension is not None and co_mn.appeal.extension.days == 60
    # A scope whose laws are not in force yet falls back to every state in force.
    assert LAWS.strictest_states(on, frozenset({"VT"})) == LAWS.states_in_force(on)
    # A declaration chooses: its covered states plus the ones it names, or all.
    text = MINIMAL.replace("children:", "applicability:\n  unknown_state: [CO]\nchildren:", 1)
    declaration = parse_declaration(text, "n.yaml")[0]
    assert declaration.unknown_state_scope() == frozenset({"CA", "VA", "CO"})


def test_a_known_state_whose_law_does_not_require_gpc_is_not_recorded() -> None:
    on = dt.date(2026, 12, 2)
    assert not gpc.applies("VA", False, on, LAWS)
    assert gpc.applies("VA", True, on, LAWS)  # the notice promises it everywhere
    assert not gpc.applies("OK", False, dt.date(2027, 1, 1), LAWS)  # OK: no UOOM duty
    assert gpc.applies("OK", False, dt.date(2026, 12, 31), LAWS)  # before: the default


# --- minors (s.1.3) -------------------------------------------------------------------------

MINOR_PURPOSES = contact_rules().minors
NO_CHILD_POLICY = ChildrenPolicy(None, False, None)

# state, age, date: purpose -> requirement (REFUSED: whatever the consent).
MINORS = [
    ("CT", 16, "2026-06-30", {"sale": OPT_IN_NEEDED, "targeted_advertising": OPT_IN_NEEDED}),
    ("CT", 16, "2026-07-01", {"sale": REFUSED, "targeted_advertising": REFUSED}),
    ("MT", 17, "2025-10-01", {"sale": OPT_IN_NEEDED, "targeted_advertising": OPT_IN_NEEDED,
                              "profiling": OPT_IN_NEEDED}),
    ("MT", 17, "2025-09-30", {}),
    ("VA", 12, "2025-01-01", {"sale": OPT_IN_NEEDED, "targeted_advertising": OPT_IN_NEEDED,
                              "profiling": OPT_IN_NEEDED}),
    ("VA", 12, "2024-12-31", {}),
    ("VA", 13, "2025-06-01", {}),
    ("OR", 15, "2026-01-01", {"sale": REFUSED, "targeted_advertising": REFUSED,
                              "profiling": REFUSED}),
]  # fmt: skip


@pytest.mark.parametrize(("state", "age", "on", "expected"), MINORS)
def test_minors_rules(state: str, age: int, on: str, expected: dict[str, int]) -> None:
    found = requirements(
        MINOR_PURPOSES, LAWS, NO_CHILD_POLICY, age, state, dt.date.fromisoformat(on)
    )
    assert {p: found[p] for p in expected} == expected
    if not expected:
        assert not {p: v for p, v in found.items() if p in ("sale", "targeted_advertising")}


# --- consent revocation, geolocation, access (s.1.3) ------------------------------------------

REVOCATION = {"RI": 15, "OR": 15, "MT": 45, "CT": 15, "DE": 15, "NH": 15, "NJ": 15, "MD": 15,
              "MN": 15}  # fmt: skip


@pytest.mark.parametrize("state", sorted(REVOCATION))
def test_consent_revocation_deadline(state: str) -> None:
    deadline = LAWS.consent_revocation_deadline(state)
    assert deadline is not None and deadline.days == REVOCATION[state]


def test_revocation_for_a_state_without_a_law_is_the_shortest() -> None:
    found = LAWS.consent_revocation_deadline("OH", dt.date(2026, 12, 2))
    assert found is not None and found.days == 15
    assert LAWS.consent_revocation_deadline("VT", dt.date(2027, 12, 31)) is not None  # default
    assert LAWS.consent_revocation_deadline("VT", dt.date(2028, 1, 1)).days == 15  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("state", "starts"), [("OR", "2026-01-01"), ("VA", "2026-07-01"), ("CT", "2026-10-01")]
)
def test_sale_of_precise_geolocation_banned_from(state: str, starts: str) -> None:
    day = dt.date.fromisoformat(starts)
    assert LAWS.geolocation_sale_banned(state, day) is not None
    assert LAWS.geolocation_sale_banned(state, day - dt.timedelta(days=1)) is None


def test_never_disclose_in_access_answers_covers_mt_and_ct() -> None:
    rule = LAWS.california.access_never_disclose
    assert {s.state for s in rule.states} >= {"CA", "MT", "CT"}
    labels = " ".join(i.label for i in rule.items)
    assert "Social Security number" in labels and "password" in labels


# --- applicability (s.1.4), one row per state --------------------------------------------------

# state: (facts that meet the threshold, facts just below it); `sensitive`/`sells` change the
# notice itself (minimal.yaml has a sensitive category and no sale).
ABOVE_BELOW: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "CA": ({"annual_revenue_usd": 26625000}, {"annual_revenue_usd": 26000000, "CA": 50000}),
    "CO": ({"CO": 100000}, {"CO": 99999}),
    "CT": ({"CT": 35000, "sensitive": False}, {"CT": 34999, "sensitive": False}),
    "DE": ({"DE": 35000}, {"DE": 34999}),
    "IA": ({"IA": 100000}, {"IA": 99999}),
    "MT": ({"MT": 25000}, {"MT": 24999}),
    "NE": ({"small_business": False}, {"small_business": True}),
    "NH": ({"NH": 35000}, {"NH": 34999}),
    "NJ": ({"NJ": 100000}, {"NJ": 99999}),
    "OR": ({"OR": 100000}, {"OR": 99999}),
    "TX": ({"small_business": False}, {"small_business": True}),
    "UT": ({"UT": 100000, "annual_revenue_usd": 25000000},
           {"UT": 100000, "annual_revenue_usd": 24999999}),
    "VA": ({"VA": 25000, "sale_revenue_percent": 50, "sells": True},
           {"VA": 25000, "sale_revenue_percent": 49, "sells": True}),
    "TN": ({"TN": 175000, "annual_revenue_usd": 25000000},
           {"TN": 174999, "annual_revenue_usd": 25000000}),
    "MN": ({"MN": 100000, "small_business": False}, {"MN": 100000, "small_business": True}),
    "MD": ({"MD": 35000}, {"MD": 34999}),
    "IN": ({"IN": 100000}, {"IN": 99999}),
    "KY": ({"KY": 100000}, {"KY": 99999}),
    "RI": ({"RI": 35000}, {"RI": 34999}),
    "OK": ({"OK": 100000}, {"OK": 99999}),
    "LA": ({"LA": 75000}, {"LA": 74999, "annual_revenue_usd": 20000000}),
    "AL": ({"AL": 25000, "employees": 600}, {"AL": 25000, "employees": 100}),
    "VT": ({"VT": 100, "sensitive_VT": 3000}, {"VT": 34999, "sensitive_VT": 2999}),
}  # fmt: skip


def _with_facts(facts: dict[str, object]) -> str:
    text = MINIMAL
    if facts.get("sensitive") is False:
        text = text.replace("    sensitive: true\n", "", 1)
    if facts.get("sells"):
        text = text.replace(
            "    purposes: [support]\n", "    purposes: [support]\n    sale: true\n", 1
        ).replace("changes:\n", "commitments:\n  sells_personal_data: true\nchanges:\n", 1)
    counts = {k: v for k, v in facts.items() if len(k) == 2 and k.isupper()}
    sensitive = {k[-2:]: v for k, v in facts.items() if k.startswith("sensitive_")}
    lines = ["applicability:"]
    if counts:
        lines.append(
            "  consumers_by_state: {" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "}"
        )
    if sensitive:
        lines.append(
            "  sensitive_consumers_by_state: {"
            + ", ".join(f"{k}: {v}" for k, v in sensitive.items())
            + "}"
        )
    for key in ("annual_revenue_usd", "sale_revenue_percent", "employees"):
        if key in facts:
            lines.append(f"  {key}: {facts[key]}")
    if "small_business" in facts:
        lines.append(f"  small_business: {str(facts['small_business']).lower()}")
    lines.append("  nonprofit: false")
    return text.replace("children:", "\n".join(lines) + "\nchildren:", 1)


@pytest.mark.parametrize("state", sorted(ABOVE_BELOW))
def test_applicability_per_state(state: str) -> None:
    above, below = ABOVE_BELOW[state]
    for facts, expected in ((above, "applies"), (below, "does_not_apply")):
        declaration = parse_declaration(_with_facts(facts), "n.yaml")[0]
        found = {law.state: law for law in report(LAWS, declaration, LATER).laws}
        assert found[state].status == expected, (state, facts, found[state].reasons)
        assert found[state].reasons


def test_undeclared_facts_make_a_law_may_apply_and_name_the_fact() -> None:
    declaration = parse_declaration(MINIMAL, "n.yaml")[0]
    found = {law.state: law for law in report(LAWS, declaration, dt.date(2026, 12, 2)).laws}
    assert found["CO"].status == "may_apply"
    assert any("applicability.consumers_by_state.CO" in r for r in found["CO"].reasons)
    assert found["OK"].in_force is False and "takes effect 2027-01-01" in found["OK"].reasons


# state: cure period on 2026-12-02, as `Cure.describe` words it (s.1.4).
CURES = {
    "CA": "no cure period", "CO": "60-day cure period ended 2024-12-31",
    "IA": "90-day cure period (permanent)", "MD": "60-day cure period until 2027-04-01",
    "MT": "60-day cure period ended 2025-09-30", "NJ": "30-day cure period ended 2026-07-15",
    "TN": "60-day cure period (permanent)", "RI": "no cure period",
    "OK": "30-day cure period (permanent)", "AL": "45-day cure period (permanent)",
    "VT": "60-day cure period until 2029-06-30",
}  # fmt: skip


@pytest.mark.parametrize("state", sorted(CURES))
def test_cure_periods(state: str) -> None:
    cure = LAWS.state(state).cure
    assert cure is not None and cure.describe(dt.date(2026, 12, 2)) == CURES[state]


# --- California 2025 regulations (s.1.5) --------------------------------------------------------


def test_california_obligations_are_dated() -> None:
    assert LAWS.obligation("ca_admt").from_ == dt.date(2027, 1, 1)
    assert LAWS.obligation("ca_admt").request_types == ["opt_out_admt", "access_admt"]
    risk = LAWS.obligation("ca_risk_assessment")
    assert risk.from_ == dt.date(2026, 1, 1)
    assert dt.date(2028, 4, 1) in {d.due for d in risk.deadlines}
    audit = LAWS.obligation("ca_cyber_audit")
    assert {d.due for d in audit.deadlines} == {
        dt.date(2028, 4, 1), dt.date(2029, 4, 1), dt.date(2030, 4, 1)
    }  # fmt: skip
    for request_type in ("opt_out_admt", "access_admt"):
        assert RIGHTS.type_rule(request_type).required_from == dt.date(2027, 1, 1)
    assert RIGHTS.type_rule("access_admt").executes == "staff_answer"


def test_obligations_listed_from_declared_facts() -> None:
    facts = {"CA": 300000, "annual_revenue_usd": 60000000, "sells": True}
    declaration = parse_declaration(_with_facts(facts), "n.yaml")[0]
    found = {o.id: o for o in report(LAWS, declaration, dt.date(2026, 12, 2)).obligations}
    assert found["ca_risk_assessment"].status == "applies"
    assert found["ca_cyber_audit"].status == "applies"
    # $60M of revenue: the 2029-04-01 bracket only.
    assert [d.due for d in found["ca_cyber_audit"].deadlines] == [dt.date(2029, 4, 1)]
    assert found["ca_admt"].status == "may_apply"  # automated_decisions not declared
    small = parse_declaration(_with_facts({"CA": 10, "annual_revenue_usd": 900000}), "n.yaml")[0]
    statuses = {o.id: o.status for o in report(LAWS, small, dt.date(2026, 12, 2)).obligations}
    assert statuses == dict.fromkeys(statuses, "does_not_apply")


# --- breach (s.1.8), card data (s.1.7) ---------------------------------------------------------

STATES_DC_PR = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR",
}  # fmt: skip
FIXED_DAYS = {
    "NY": 30, "WA": 30, "FL": 30, "ME": 30, "CA": 30, "CO": 30, "AL": 45, "AZ": 45, "NM": 45,
    "OH": 45, "VT": 45, "WI": 45, "OR": 45, "TN": 45, "IN": 45, "MD": 45, "RI": 45, "LA": 60,
    "SD": 60, "CT": 60, "DE": 60, "TX": 60,
}  # fmt: skip


def test_breach_rules_for_every_state_typed() -> None:
    assert set(LAWS.breach) == STATES_DC_PR
    for code, row in LAWS.breach.items():
        assert row.source and row.statute, code
        if code in FIXED_DAYS:
            due = row.individuals.due_days(LATER)
            assert due is not None and due.days == FIXED_DAYS[code], code
        else:
            assert row.individuals.without_unreasonable_delay, code
    ny, oregon = LAWS.breach_rule("NY"), LAWS.breach_rule("OR")
    assert ny is not None and ny.processor_to_owner is not None
    assert ny.processor_to_owner.within is not None and ny.processor_to_owner.within.days == 30
    assert oregon is not None and oregon.processor_to_owner is not None
    assert (
        oregon.processor_to_owner.within is not None and oregon.processor_to_owner.within.days == 10
    )
    # AG notice thresholds are numbers: "more than 500" in CA is 501 residents.
    california = LAWS.breach_rule("CA")
    assert california is not None
    assert [g.who for g in california.regulators_for(501)] == ["Attorney General"]
    assert california.regulators_for(500) == []
    oklahoma = LAWS.breach_rule("OK")
    assert oklahoma is not None and {g.min_residents for g in oklahoma.regulators} == {500, 1000}
    # CA's 30-day deadline starts 2026-01-01.
    assert california.individuals.due_days(dt.date(2025, 12, 31)) is None


def test_pci_dss_v401_citations() -> None:
    pci = LAWS.pci_dss
    assert pci.version == "4.0.1"
    assert "card verification code" in pci.requirement("3.3.1.2").rule
    assert pci.requirement("3.3.2").required_from == dt.date(2025, 3, 31)
    assert pci.requirement("12.10.7").required_from == dt.date(2025, 3, 31)
    text = (ROOT / "docs" / "jurisdiction-rules.md").read_text(encoding="utf-8")
    assert "3.3.1.2" in text and "3.3.2" in text and "12.10.7" in text and "v4.0.1" in text


# --- policy check: future dates and unconfirmed rules -------------------------------------------


def test_check_warns_before_a_law_takes_effect() -> None:
    text = MINIMAL.replace("jurisdictions: [US-CA, US-VA]", "jurisdictions: [US-CA, US-OK]")
    text = text.replace("response_days: 45", "response_days: 50")
    today = dt.date(2026, 12, 2)
    messages = [p.message for p in check_text(text, "n.yaml", LAWS, today)]
    assert any(m.startswith("from 2027-01-01: rights 'us' promise an answer in 50 days, but OK law")
               for m in messages), messages  # fmt: skip
    assert any(m.startswith("from 2027-01-01: OK law requires an appeal") for m in messages)
    # On or after the date the same shortfall is reported without the prefix.
    after = [p.message for p in check_text(text, "n.yaml", LAWS, dt.date(2027, 1, 2))]
    assert any(m.startswith("OK law requires an appeal") for m in after), after


def test_check_warns_of_a_future_geolocation_ban() -> None:
    text = (
        MINIMAL.replace(
            "  - key: user.health_and_medical\n",
            "  - key: user.location.precise\n    subjects: [customer]\n"
            "  - key: user.health_and_medical\n",
        )
        .replace(
            "    categories: [user.contact.email]\n    purposes: [support]\n",
            "    categories: [user.contact.email, user.location.precise]\n    purposes: [support]\n"
            "    sale: true\n",
        )
        .replace("changes:\n", "commitments:\n  sells_personal_data: true\nchanges:\n")
    )
    messages = [p.message for p in check_text(text, "n.yaml", LAWS, dt.date(2026, 3, 1))]
    assert any(
        m.startswith("from 2026-07-01: recipient 'crm' is sold 'user.location.precise'")
        and "VA" in m
        for m in messages
    ), messages


def test_check_says_when_a_warning_rests_on_an_unconfirmed_rule() -> None:
    text = MINIMAL.replace("jurisdictions: [US-CA, US-VA]", "jurisdictions: [US-LA]")
    text = text.replace("response_days: 45", "response_days: 50")
    messages = [p.message for p in check_text(text, "n.yaml", LAWS, dt.date(2027, 2, 1))]
    assert any("LA law allows 45" in m and "not confirmed for LA" in m for m in messages)


# --- docs ------------------------------------------------------------------------------------


def test_docs_list_every_rule_as_the_data_says() -> None:
    document = (ROOT / "docs" / "jurisdiction-rules.md").read_text(encoding="utf-8")
    generated = markdown(LAWS, contact_rules())
    assert embedded(document) == generated, (
        "docs/jurisdiction-rules.md and the rules data differ; regenerate the table with "
        "`honorbound policy rules --markdown` and paste it between the markers"
    )
    for code in LAWS.states:
        assert f"| {code}: requests |" in document
    breach_rows = {line.split(" |")[0][len("| breach ") :] for line in document.splitlines()
                   if line.startswith("| breach ") and "format" not in line}  # fmt: skip
    assert breach_rows == STATES_DC_PR
