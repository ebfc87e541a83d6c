"""Which state laws and dated obligations apply to an organization, from its declared facts.

The thresholds are rows of the jurisdiction rules (`states.XX.applicability`, `obligations`);
the facts are the declaration's `applicability` section (consumers per state and calendar
year, revenue, share of revenue from selling data, employees, ...) plus what the notice itself
says (sensitive categories, sales, sharing). Every test is three-valued: a fact the
organization did not declare makes a law "may apply", never "does not apply", and the reason
names the fact to declare. Numbers are compared as "at least": an organization on a line is
covered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from honorbound.policy.jurisdictions import (
    Condition,
    JurisdictionRules,
    Obligation,
    StateRule,
    Threshold,
)
from honorbound.policy.schema import Declaration

Status = Literal["applies", "may_apply", "does_not_apply"]
_ORDER: dict[Status, int] = {"applies": 0, "may_apply": 1, "does_not_apply": 2}


@dataclass(frozen=True)
class Facts:
    """What the organization declared about itself, and what its notice says it does."""

    consumers: Mapping[str, int] = field(default_factory=dict)
    consumers_declared: bool = False  # a map was given: states missing from it count as 0
    sensitive_consumers: Mapping[str, int] = field(default_factory=dict)
    sale_consumers: Mapping[str, int] = field(default_factory=dict)
    annual_revenue_usd: int | None = None
    sale_revenue_percent: float | None = None
    employees: int | None = None
    small_business: bool | None = None
    nonprofit: bool | None = None
    automated_decisions: bool | None = None
    processes_sensitive: bool = False
    sells: bool = False
    sells_or_shares: bool = False

    @classmethod
    def of(cls, declaration: Declaration) -> Facts:
        a = declaration.applicability
        sells_or_shares = declaration.sells or declaration.shares
        base = cls(
            processes_sensitive=any(c.sensitive for c in declaration.categories),
            sells=declaration.sells,
            sells_or_shares=sells_or_shares,
        )
        if a is None:
            return base
        return cls(
            consumers=dict(a.consumers_by_state),
            consumers_declared=bool(a.consumers_by_state),
            sensitive_consumers=dict(a.sensitive_consumers_by_state),
            sale_consumers=dict(a.sale_consumers_by_state),
            annual_revenue_usd=a.annual_revenue_usd,
            sale_revenue_percent=a.sale_revenue_percent,
            employees=a.employees,
            small_business=a.small_business,
            nonprofit=a.nonprofit,
            automated_decisions=a.automated_decisions,
            processes_sensitive=base.processes_sensitive,
            sells=base.sells,
            sells_or_shares=sells_or_shares,
        )

    def consumers_in(self, state: str) -> int | None:
        if state in self.consumers:
            return self.consumers[state]
        return 0 if self.consumers_declared else None


# Three-valued logic: True, False, or None (a fact was not declared).
Tri = bool | None


def _all(values: list[Tri]) -> Tri:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _any(values: list[Tri]) -> Tri:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _at_least(value: float | None, minimum: float) -> Tri:
    return None if value is None else value >= minimum


def _count(declared: int | None, total: int | None, minimum: int, happens: bool) -> Tri:
    """A count of consumers some processing touches (sensitive data, sale) against a minimum
    (0: any at all), knowing whether the notice does it and the state's consumer total."""
    if not happens or total == 0:
        return False
    if declared is not None:
        return declared > 0 if minimum == 0 else declared >= minimum
    if total is None:
        return None
    if minimum == 0:
        return True  # the notice does it and the organization has consumers there
    return False if total < minimum else None


def holds(condition: Condition, facts: Facts, state: str) -> tuple[Tri, list[str]]:
    """Whether every fact of `condition` holds for `state`, and the facts left undeclared."""
    results: list[Tri] = []
    missing: list[str] = []

    def add(value: Tri, fact: str) -> None:
        results.append(value)
        if value is None:
            missing.append(fact)

    c, f = condition, facts
    total = f.consumers_in(state)
    if c.consumers is not None:
        add(_at_least(total, c.consumers), f"consumers_by_state.{state}")
    if c.annual_revenue_usd is not None:
        add(_at_least(f.annual_revenue_usd, c.annual_revenue_usd), "annual_revenue_usd")
    if c.annual_revenue_under_usd is not None:
        under = (
            None
            if f.annual_revenue_usd is None
            else f.annual_revenue_usd < c.annual_revenue_under_usd
        )
        add(under, "annual_revenue_usd")
    if c.sale_revenue_percent is not None:
        share = f.sale_revenue_percent
        if share is None and not f.sells_or_shares:
            share = 0.0  # the notice says no personal data is sold or shared
        if share is None:
            add(None, "sale_revenue_percent")
        else:
            add(share > 0 if c.sale_revenue_percent == 0 else share >= c.sale_revenue_percent, "")
    if c.sensitive_consumers is not None:
        value = _count(
            f.sensitive_consumers.get(state), total, c.sensitive_consumers, f.processes_sensitive
        )
        add(value, f"sensitive_consumers_by_state.{state}")
    if c.sale_consumers is not None:
        value = _count(f.sale_consumers.get(state), total, c.sale_consumers, f.sells_or_shares)
        add(value, f"sale_consumers_by_state.{state}")
    if c.sells_or_shares is not None:
        add(f.sells_or_shares == c.sells_or_shares, "")
    if c.automated_decisions is not None:
        value = (
            None
            if f.automated_decisions is None
            else f.automated_decisions == c.automated_decisions
        )
        add(value, "automated_decisions")
    if c.small_business is not None:
        value = None if f.small_business is None else f.small_business == c.small_business
        add(value, "small_business")
    if c.employees_under is not None:
        add(None if f.employees is None else f.employees < c.employees_under, "employees")
    if c.nonprofit is not None:
        add(None if f.nonprofit is None else f.nonprofit == c.nonprofit, "nonprofit")
    result = _all(results)
    return result, ([] if result is not None else sorted(set(missing)))


def _any_of(conditions: list[Condition], facts: Facts, state: str) -> tuple[Tri, list[str]]:
    found = [holds(c, facts, state) for c in conditions]
    result = _any([r for r, _ in found])
    missing = sorted({m for r, ms in found if r is None for m in ms})
    return result, ([] if result is not None else missing)


def _declare(missing: list[str]) -> str:
    return "declare " + ", ".join(f"applicability.{m}" for m in missing)


def _status(value: Tri) -> Status:
    return "applies" if value else ("may_apply" if value is None else "does_not_apply")


@dataclass(frozen=True)
class LawStatus:
    state: str
    law: str
    status: Status
    effective: dt.date
    in_force: bool
    reasons: list[str]
    cure: str | None
    confirmed: bool
    unconfirmed: list[str]


@dataclass(frozen=True)
class Due:
    what: str
    due: dt.date
    note: str | None


@dataclass(frozen=True)
class ObligationStatus:
    id: str
    state: str
    title: str
    status: Status
    starts: dt.date
    duties: list[str]
    deadlines: list[Due]
    reasons: list[str]
    request_types: list[str]
    confirmed: bool


@dataclass(frozen=True)
class Report:
    on: dt.date
    laws: list[LawStatus]
    obligations: list[ObligationStatus]
    # Rows the organization relies on (laws that apply or may apply) that are not confirmed.
    unconfirmed: list[str]

    def applicable(self) -> list[LawStatus]:
        return [law for law in self.laws if law.status != "does_not_apply"]


def describe(condition: Condition) -> str:
    """A condition in words: "25,000 consumers and 50% of revenue from sale"."""
    c = condition
    parts = []
    if c.consumers is not None:
        parts.append(f"{c.consumers:,} consumers")
    if c.annual_revenue_usd is not None:
        parts.append(f"revenue of ${c.annual_revenue_usd:,}")
    if c.annual_revenue_under_usd is not None:
        parts.append(f"revenue under ${c.annual_revenue_under_usd:,}")
    if c.sale_revenue_percent is not None:
        parts.append(
            "any revenue from selling personal data"
            if c.sale_revenue_percent == 0
            else f"{c.sale_revenue_percent:g}% of revenue from selling personal data"
        )
    if c.sensitive_consumers is not None:
        parts.append(
            "any sensitive data"
            if c.sensitive_consumers == 0
            else f"sensitive data of {c.sensitive_consumers:,} consumers"
        )
    if c.sale_consumers is not None:
        parts.append(
            "any sale of personal data"
            if c.sale_consumers == 0
            else f"selling the data of {c.sale_consumers:,} consumers"
        )
    for name, label in (
        ("sells_or_shares", "sells or shares personal data"),
        ("automated_decisions", "uses automated decisions with significant effects"),
        ("small_business", "a small business (SBA)"),
        ("nonprofit", "a nonprofit"),
    ):
        value = getattr(c, name)
        if value is not None:
            parts.append(label if value else f"not {label.removeprefix('a ')}")
    if c.employees_under is not None:
        parts.append(f"fewer than {c.employees_under:,} employees")
    return " and ".join(parts)


def _threshold_reason(threshold: Threshold, value: Tri, missing: list[str]) -> str:
    what = threshold.note or "; or ".join(describe(c) for c in threshold.any_of)
    if value is True:
        return f"meets the threshold: {what}"
    if value is False:
        return f"below the threshold: {what}"
    return f"cannot tell ({what}); {_declare(missing)}"


def law_status(row: StateRule, code: str, facts: Facts, on: dt.date) -> LawStatus:
    """Whether the state's law applies to the organization on `on` (or, for a law not yet in
    force, on its effective date, saying so)."""
    when = max(on, row.effective)
    threshold = row.threshold_on(when)
    reasons: list[str] = []
    if not row.in_force(on):
        reasons.append(f"takes effect {row.effective.isoformat()}")
    if threshold is None:
        value: Tri = None
        reasons.append("no threshold in the rules; check the law")
    else:
        value, missing = _any_of(threshold.any_of, facts, code)
        reasons.append(_threshold_reason(threshold, value, missing))
        if value is not False and threshold.exempt_if:
            exempt, gaps = _any_of(threshold.exempt_if, facts, code)
            if exempt is True:
                value = False
                reasons.append("exempt: " + (threshold.note or "an exemption of the law holds"))
            elif exempt is None:
                value = None if value else value
                reasons.append(f"may be exempt; {_declare(gaps)}")
    if row.minors_note and "whatever the thresholds" in row.minors_note:
        reasons.append("its minors rules apply whatever the thresholds")
    doubt = list(row.unconfirmed)
    if threshold is not None and not threshold.confirmed:
        doubt.append("applicability")
    return LawStatus(
        state=code,
        law=row.law,
        status=_status(value),
        effective=row.effective,
        in_force=row.in_force(on),
        reasons=reasons,
        cure=row.cure.describe(on) if row.cure is not None else None,
        confirmed=not doubt,
        unconfirmed=doubt,
    )


def obligation_status(
    obligation: Obligation, law: LawStatus | None, facts: Facts
) -> ObligationStatus:
    reasons: list[str] = []
    if law is None or law.status == "does_not_apply":
        value: Tri = False
        reasons.append(f"the {obligation.state} law does not apply to the organization")
    else:
        value = True if law.status == "applies" else None
        if law.status == "may_apply":
            reasons.append(f"only if the {obligation.state} law applies (it may)")
        if obligation.applies_if:
            met, missing = _any_of(obligation.applies_if, facts, obligation.state)
            value = _all([value, met])
            if met is True:
                reasons.append("the organization's processing meets its condition")
            elif met is False:
                reasons.append("the organization's processing does not meet its condition")
            else:
                reasons.append(f"cannot tell; {_declare(missing)}")
    deadlines = []
    for d in obligation.deadlines:
        if d.when is not None:
            met, _ = holds(d.when, facts, obligation.state)
            if met is False:
                continue
            note = d.when_note if met is True else f"if {d.when_note}"
        else:
            note = None
        deadlines.append(Due(d.what, d.due, note))
    return ObligationStatus(
        id=obligation.id,
        state=obligation.state,
        title=obligation.title,
        status=_status(value),
        starts=obligation.from_,
        duties=list(obligation.duties),
        deadlines=deadlines,
        reasons=reasons,
        request_types=list(obligation.request_types),
        confirmed=obligation.confirmed,
    )


def report(rules: JurisdictionRules, declaration: Declaration, on: dt.date) -> Report:
    """Every state law in the rules with whether it applies to the organization, and the dated
    obligations (CA risk assessments, cybersecurity audits, ADMT), applicable ones first."""
    facts = Facts.of(declaration)
    laws = [law_status(row, code, facts, on) for code, row in rules.states.items()]
    laws.sort(key=lambda law: (_ORDER[law.status], not law.in_force, law.state))
    by_state = {law.state: law for law in laws}
    obligations = [obligation_status(o, by_state.get(o.state), facts) for o in rules.obligations]
    obligations.sort(key=lambda o: (_ORDER[o.status], o.starts))
    doubt = [
        f"{law.state}: {', '.join(law.unconfirmed)}"
        for law in laws
        if law.status != "does_not_apply" and law.unconfirmed
    ]
    doubt += [
        f"obligation {o.id}"
        for o in obligations
        if o.status != "does_not_apply" and not o.confirmed
    ]
    return Report(on, laws, obligations, doubt)
