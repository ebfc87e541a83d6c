"""Every deadline an incident sets running, from the jurisdiction rules data only.

Per state with affected residents: the individual notice, each regulator and consumer
reporting agency (with the state's threshold: one not met is listed as "not required" with the
reason), and, for a BPO, the processor's duty to tell each client controller. The encryption
safe harbor and the HIPAA overlay come from `breach_response` in the same rules file. The
clock starts at discovery; business days skip weekends and US federal holidays
(`rights.clock`). Residents of no known state get the strictest fixed deadline of any state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.breach.models import Incident
from honorbound.policy.client_rules import RuleBook, rules_of
from honorbound.policy.jurisdictions import (
    BreachRule,
    Days,
    JurisdictionRules,
    RegulatorNotice,
)
from honorbound.rights.clock import add


@dataclass(frozen=True)
class Obligation:
    audience: str  # individuals | regulator | agency | owner | hhs | media
    state: str  # two letters; "US" for federal duties; "" for residents of no known state
    who: str
    required: bool
    due_at: dt.datetime | None
    rule: str  # the deadline in words ("30 calendar days after discovery")
    reason: str  # why it is, or is not, required
    source: str
    confirmed: bool  # this duty, as the rules give it, was checked against the reference
    checked_against: str | None = None
    residents: int = 0

    @property
    def confidence(self) -> str:
        """What staff see next to the duty: `confirmed (section)` or `unverified`."""
        return status_words(self.confirmed, self.checked_against)


UNVERIFIED = "unverified: no source confirms it; confirm with counsel"


def status_words(confirmed: bool, checked_against: str | None) -> str:
    if confirmed and checked_against:
        return f"confirmed ({checked_against})"
    return UNVERIFIED


@dataclass(frozen=True)
class Plan:
    discovered_at: dt.datetime
    obligations: list[Obligation]
    identity_protection_months: dict[str, int]  # per state, where an offer is required
    hipaa: bool

    def required(self) -> list[Obligation]:
        return [o for o in self.obligations if o.required]

    def next_due(self) -> Obligation | None:
        dated = [o for o in self.required() if o.due_at is not None]
        return min(dated, key=lambda o: o.due_at or self.discovered_at) if dated else None


def covers(categories: set[str], prefixes: list[str]) -> bool:
    return any(c == p or c.startswith(p + ".") for c in categories for p in prefixes)


def incident_categories(incident: Incident) -> set[str]:
    return set(incident.categories) | set(incident.selection.get("categories") or [])


def _agency(who: str) -> bool:
    return "consumer reporting" in who.lower()


def _residents(n: int) -> str:
    return f"{n:,} resident{'s' if n != 1 else ''}"


def _strictest(rules: JurisdictionRules, on: dt.date) -> Days:
    fixed = [d for r in rules.breach.values() if (d := r.individuals.due_days(on)) is not None]
    return min(fixed, key=lambda d: d.days)


def _regulator(
    state: str,
    rule: BreachRule,
    g: RegulatorNotice,
    n: int,
    discovered: dt.datetime,
    individuals_due: dt.datetime | None,
    individuals_sent: dt.datetime | None,
) -> Obligation:
    audience = "agency" if _agency(g.who) else "regulator"
    base = dict(
        audience=audience,
        state=state,
        who=g.who,
        source=rule.source,
        confirmed=rule.regulator_confirmed(g),
        checked_against=rule.checked_against,
        residents=n,
    )
    if not g.required_for(n):
        assert g.min_residents is not None
        return Obligation(
            required=False,
            due_at=None,
            rule=f"only from {g.min_residents:,} residents",
            reason=f"no {g.who} notice required: {_residents(n)} affected, "
            f"the threshold is {g.min_residents:,}",
            **base,  # type: ignore[arg-type]
        )
    reason = f"{_residents(n)} affected" + (
        f", at or above the threshold of {g.min_residents:,}" if g.min_residents else ""
    )
    due: dt.datetime | None = None
    if g.within_hours is not None:
        due, words = discovered + dt.timedelta(hours=g.within_hours), f"{g.within_hours} hours"
    elif g.timing == "after_individuals" and g.within is not None:
        start = individuals_sent or individuals_due
        due = add(start, g.within) if start is not None else None
        words = f"{g.within} after the individual notices"
    elif g.within is not None:
        due, words = add(discovered, g.within), f"{g.within} after discovery"
    elif g.timing in ("same_time", "no_later_than_individuals", "before_individuals"):
        due = individuals_due
        words = {
            "same_time": "at the same time as the individual notices",
            "no_later_than_individuals": "no later than the individual notices",
            "before_individuals": "before the individual notices",
        }[g.timing]
    else:
        words = "no fixed deadline in the rules"
    if g.note:
        words += f" ({g.note})"
    return Obligation(required=True, due_at=due, rule=words, reason=reason, **base)  # type: ignore[arg-type]


def _owner(
    rule: BreachRule, state: str, client: str, n: int, discovered: dt.datetime
) -> Obligation | None:
    """The processor's duty to tell `client` (its controller) about residents of `state`."""
    p = rule.processor_to_owner
    if p is None:
        return None
    if p.within is not None:
        due, owner_words = add(discovered, p.within), f"{p.within} after discovery"
    elif p.within_hours is not None:
        due = discovered + dt.timedelta(hours=p.within_hours)
        owner_words = f"{p.within_hours} hours after discovery"
    else:
        due, owner_words = discovered, "immediately"
    return Obligation(
        "owner", state, client, True, due, owner_words + (f" ({p.note})" if p.note else ""),
        f"the data of {_residents(n)} is maintained for this client",
        rule.source, rule.is_confirmed("processor_to_owner"), rule.checked_against, n,
    )  # fmt: skip


RulesSource = JurisdictionRules | RuleBook


def client_organizations(session: Session, incident: Incident) -> dict[str, Organization]:
    """The incident's `clients` entries that name a client of its organization (by slug or
    name, case aside): entry -> that client organization."""
    wanted = {c.strip().lower(): c for c in incident.clients if c.strip()}
    if not wanted:
        return {}
    rows = session.scalars(
        select(Organization).where(
            Organization.operated_by_id == incident.organization_id,
            or_(
                Organization.slug.in_(list(wanted)),
                Organization.name.in_(list(incident.clients)),
            ),
        )
    )
    out: dict[str, Organization] = {}
    for org in rows:
        for key in (org.slug.lower(), org.name.strip().lower()):
            if key in wanted:
                out[wanted[key]] = org
    return out


def incident_plan(
    session: Session,
    source: RulesSource,
    incident: Incident,
    by_state: dict[str, int],
    individuals_sent: dict[str, dt.datetime] | None = None,
) -> tuple[JurisdictionRules, Plan]:
    """The rules of the incident's organization and its plan: with a `RuleBook`, each
    client's duty to be told comes from that client's own rules (policy.client_rules)."""
    rules = rules_of(source, session, incident.organization_id)
    owners: dict[str, JurisdictionRules] = {}
    if isinstance(source, RuleBook):
        owners = {
            entry: source.of(session, org.id)
            for entry, org in client_organizations(session, incident).items()
        }
    return rules, plan(rules, incident, by_state, individuals_sent, owners)


def plan(
    rules: JurisdictionRules,
    incident: Incident,
    by_state: dict[str, int],
    individuals_sent: dict[str, dt.datetime] | None = None,
    owners: Mapping[str, JurisdictionRules] | None = None,
) -> Plan:
    """The deadlines of `incident` for the residents counted in `by_state` (state -> people).
    `individuals_sent`: when each state's individual notices went out (for the duties that run
    from them, CA's and IA's attorney general). `owners`: the rules of the clients named in
    `incident.clients` (their duty to be told); a client not in it gets `rules`."""
    sent = individuals_sent or {}
    discovered = incident.discovered_at
    on = discovered.date()
    categories = incident_categories(incident)
    response = rules.breach_response
    harbor = response.safe_harbor
    id_theft = covers(categories, response.identity_protection_categories)
    out: list[Obligation] = []
    protection: dict[str, int] = {}
    for state, n in sorted(by_state.items()):
        rule = rules.breach_rule(state) if state else None
        if rule is None:
            days = _strictest(rules, on)
            out.append(
                Obligation(
                    "individuals", state, "affected people of no known state", True,
                    add(discovered, days), f"{days} after discovery (the strictest state's)",
                    f"{_residents(n)} affected whose state the vault does not hold",
                    "derived: the shortest fixed individual deadline of the breach rules",
                    False, None, n,
                )
            )  # fmt: skip
            continue
        if harbor.applies(state, incident.encrypted, incident.key_compromised):
            reason = (
                "not required: the data was encrypted and the key was not compromised "
                "(encryption safe harbor)"
            )
            out.append(
                Obligation(
                    "individuals", state, f"residents of {state}", False, None, "none", reason,
                    harbor.source, harbor.is_confirmed("encrypted_exempt"), harbor.checked_against,
                    n,
                )
            )  # fmt: skip
            continue
        fixed = rule.individuals.due_days(on)
        individuals_due = add(discovered, fixed) if fixed is not None else None
        words = (
            f"{fixed} after discovery" if fixed is not None else "without unreasonable delay"
        ) + (f" ({rule.individuals.note})" if rule.individuals.note else "")
        out.append(
            Obligation(
                "individuals", state, f"residents of {state}", True, individuals_due, words,
                f"{_residents(n)} affected", rule.source, rule.is_confirmed("individuals"),
                rule.checked_against, n,
            )
        )  # fmt: skip
        out += [
            _regulator(state, rule, g, n, discovered, individuals_due, sent.get(state))
            for g in rule.regulators
        ]
        if not any(not _agency(g.who) for g in rule.regulators):
            out.append(
                Obligation(
                    "regulator", state, "Attorney General", False, None, "none",
                    "no Attorney General notice required: the state's law names none"
                    + (f" ({rule.note})" if rule.note else ""),
                    rule.source, rule.is_confirmed("regulators"), rule.checked_against, n,
                )
            )  # fmt: skip
        for client in incident.clients:
            own = (owners or {}).get(client)
            owner_rule = own.breach_rule(state) if own is not None else rule
            duty = _owner(owner_rule or rule, state, client, n, discovered)
            if duty is not None:
                out.append(duty)
        if id_theft and rule.identity_protection_months:
            protection[state] = rule.identity_protection_months
    fmt = rules.breach_notice_format
    for state in by_state:
        f = fmt.get(state)
        if id_theft and f is not None and state not in protection:
            protection[state] = f.identity_protection_months
    hipaa_rule = response.hipaa
    hipaa = incident.health_data_covered and covers(categories, hipaa_rule.categories)
    if hipaa:
        total = sum(by_state.values())
        h = hipaa_rule
        seen = h.checked_against
        out.append(
            Obligation(
                "individuals", "US", "every affected person (HIPAA)", True,
                add(discovered, h.individuals), f"{h.individuals} after discovery",
                "health data of a covered entity or business associate", h.source,
                h.is_confirmed("individuals"), seen, total,
            )
        )  # fmt: skip
        if total >= h.secretary_min_people:
            due, words = (
                add(discovered, h.secretary_within),
                f"{h.secretary_within} after discovery",
            )
            reason = f"{total:,} people affected, at or above {h.secretary_min_people}"
        else:
            year_end = dt.datetime(on.year, 12, 31, tzinfo=dt.UTC)
            due = add(year_end, h.secretary_after_year_end)
            words = f"{h.secretary_after_year_end} after the end of the calendar year (annual log)"
            reason = f"{total:,} people affected, fewer than {h.secretary_min_people}"
        out.append(
            Obligation(
                "hhs", "US", "Secretary of Health and Human Services", True, due, words, reason,
                h.source, h.is_confirmed("secretary_min_people")
                and h.is_confirmed("secretary_within" if total >= h.secretary_min_people
                                   else "secretary_after_year_end"), seen, total,
            )
        )  # fmt: skip
        for state, n in sorted(by_state.items()):
            if not state:
                continue
            media = n >= h.media_min_residents
            out.append(
                Obligation(
                    "media", state, f"prominent media outlets in {state}", media,
                    add(discovered, h.media_within) if media else None,
                    f"{h.media_within} after discovery" if media else "none",
                    f"{_residents(n)} affected"
                    + ("" if media else f": no media notice required, the threshold is "
                       f"{h.media_min_residents:,}"),
                    h.source,
                    h.is_confirmed("media_min_residents") and h.is_confirmed("media_within"),
                    seen, n,
                )
            )  # fmt: skip
        for client in incident.clients:
            out.append(
                Obligation(
                    "owner", "US", client, True, add(discovered, h.business_associate_within),
                    f"{h.business_associate_within} after discovery (business associate to "
                    "covered entity)", "health data maintained for this client", h.source,
                    h.is_confirmed("business_associate_within"), seen, total,
                )
            )  # fmt: skip
    return Plan(discovered, out, protection, hipaa)
