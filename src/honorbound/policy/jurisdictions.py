"""US jurisdiction rules as data: `policy/data/us-rules.yaml`, optionally overridden.

The shipped file holds every rule with its source note and a `confirmed` flag. A privacy
officer may override rows with their own YAML file of the same shape; mappings are merged
key by key, lists are replaced whole. The result is validated, and a bad override is
reported as `FILE:LINE: message` in the override file.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from honorbound.policy.loader import translate_errors
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.yamlsource import LineMap, load_yaml

RULES_SCHEMA_ID = "honorbound/jurisdiction-rules/v1"
SHIPPED_RULES = "data/us-rules.yaml"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DayKind(StrEnum):
    calendar = "calendar"
    business = "business"


class Days(_Row):
    days: int = Field(ge=0)
    kind: DayKind
    counted_from: Literal["receipt", "verification"] | None = None
    # For deadlines that start applying on a date (CA breach notice from 2026-01-01).
    from_: dt.date | None = Field(default=None, alias="from")

    def __str__(self) -> str:
        return f"{self.days} {self.kind.value} days"


class Sourced(_Row):
    source: str
    confirmed: bool
    unconfirmed: list[str] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _doubt_is_marked(self) -> Sourced:
        if self.unconfirmed and self.confirmed:
            raise ValueError("a row that lists `unconfirmed` fields must say `confirmed: false`")
        return self


class TypeLimit(_Row):
    """A state's own limit on free requests of some types ("portability twice per calendar
    year"), on top of its general `free_requests` count."""

    types: list[str] = Field(min_length=1)  # request types (rights/data/requests.yaml)
    count: int = Field(ge=0)
    window: Literal["calendar_year", "12_months"]
    source: str


class Appeal(_Row):
    required: bool
    days: Days | None = None
    # One extension of the appeal decision some laws allow (CO, MN: 60 more days).
    extension: Days | None = None


class UniversalOptOut(_Row):
    required: bool
    required_from: dt.date | None = None


class Activity(StrEnum):
    sale = "sale"
    sharing = "sharing"
    targeted_advertising = "targeted_advertising"
    profiling = "profiling"


class MinorRule(_Row):
    min_age: int = Field(ge=0)
    under: int = Field(ge=1)
    # None: the reference does not say which processing the rule covers.
    activities: list[Activity] | None
    requirement: Literal["opt_in", "consent", "prohibited", "sensitive_data", "unspecified"]
    consent_by: Literal["self", "parent"] | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    knowledge: str | None = None

    def covers(self, age: int) -> bool:
        return self.min_age <= age < self.under


class Condition(_Row):
    """One way a threshold is met: every fact named here must hold (numbers are minimums,
    compared as "at least", so an organization on the line counts as covered). Consumer counts
    are of the law's state, in a calendar year. A percent of 0 means "any"."""

    consumers: int | None = Field(default=None, ge=0)
    annual_revenue_usd: int | None = Field(default=None, ge=0)
    annual_revenue_under_usd: int | None = Field(default=None, ge=1)  # revenue below this
    sale_revenue_percent: float | None = Field(default=None, ge=0, le=100)
    sensitive_consumers: int | None = Field(default=None, ge=0)  # 0: any sensitive data
    sale_consumers: int | None = Field(default=None, ge=0)  # 0: any sale
    sells_or_shares: bool | None = None
    automated_decisions: bool | None = None  # ADMT used for significant decisions
    small_business: bool | None = None  # a small business as the U.S. SBA defines it
    employees_under: int | None = Field(default=None, ge=1)
    nonprofit: bool | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Condition:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a condition names at least one fact (e.g. `consumers: 100000`)")
        return self


class Threshold(Sourced):
    """Who a law applies to from a date: any one of `any_of`, unless one of `exempt_if` holds."""

    from_: dt.date | None = Field(default=None, alias="from")
    any_of: list[Condition] = Field(min_length=1)
    exempt_if: list[Condition] = Field(default_factory=list)


class Cure(Sourced):
    """The right to cure before an enforcement action. `days` null: none. `until`: the last
    day it is available (null: permanent)."""

    days: int | None = Field(ge=1)
    until: dt.date | None = None
    permanent: bool = True  # false: temporary, its end date not known (`until` null)

    def describe(self, on: dt.date) -> str:
        if self.days is None:
            return "no cure period"
        if self.until is None:
            kind = "permanent" if self.permanent else "temporary; its end date is not known"
            return f"{self.days}-day cure period ({kind})"
        if on > self.until:
            return f"{self.days}-day cure period ended {self.until.isoformat()}"
        return f"{self.days}-day cure period until {self.until.isoformat()}"


class StateRule(Sourced):
    name: str
    law: str
    # The law applies from this date: before it the state is a state without a law.
    effective: dt.date
    effective_note: str | None = None
    respond: Days
    extension: Days
    appeal: Appeal
    appeal_note: str | None = None
    free_requests: int | None = Field(ge=0)
    free_requests_note: str | None = None
    free_requests_by_type: list[TypeLimit] = Field(default_factory=list)
    universal_opt_out: UniversalOptOut
    universal_opt_out_note: str | None = None
    sensitive: Literal["opt_in", "opt_out", "strict"]
    sensitive_note: str | None = None
    minors: list[MinorRule] = Field(default_factory=list)
    minors_note: str | None = None
    applicability: list[Threshold] = Field(default_factory=list)
    cure: Cure | None = None

    @property
    def respond_days(self) -> int:
        return self.respond.days

    @property
    def extension_days(self) -> int:
        return self.extension.days

    @property
    def appeal_days(self) -> int | None:
        return self.appeal.days.days if self.appeal.days else None

    def in_force(self, on: dt.date) -> bool:
        return on >= self.effective

    def gpc_required(self, on: dt.date) -> bool:
        opt_out = self.universal_opt_out
        return opt_out.required and (opt_out.required_from is None or on >= opt_out.required_from)

    def minor_rules(self, age: int, on: dt.date | None = None) -> list[MinorRule]:
        return [
            r
            for r in self.minors
            if r.covers(age) and (on is None or r.from_ is None or on >= r.from_)
        ]

    def threshold_on(self, on: dt.date) -> Threshold | None:
        """The applicability threshold in force on `on` (the latest that started by then)."""
        started = [t for t in self.applicability if t.from_ is None or t.from_ <= on]
        return max(started, key=lambda t: t.from_ or dt.date.min, default=None)


class StateDeadline(Sourced):
    state: str
    stop_within: Days | None = None
    honor_within: Days | None = None
    from_: dt.date | None = Field(default=None, alias="from")


class Deadline(Sourced):
    within: Days
    counted_from: Literal["receipt", "verification"] | None = None
    verification_allowed: bool | None = None
    minimum_methods: int | None = None
    no_reask_months: int | None = None


class ExemptUse(_Row):
    use: str
    confirmed: bool


class ExemptUses(Sourced):
    uses: list[ExemptUse]


class NeverDiscloseItem(_Row):
    label: str
    category: str


class StateSince(Sourced):
    state: str
    from_: dt.date | None = Field(default=None, alias="from")


class AccessRules(Sourced):
    items: list[NeverDiscloseItem]
    lookback_months: int
    lookback_floor: dt.date
    # States whose law has the same "say you hold it, never disclose it" rule, and since when.
    # Honorbound applies the list to every access answer (the simplest safe reading).
    states: list[StateSince] = Field(default_factory=list)


class Verification(Sourced):
    categories_data_points: int
    specific_pieces_data_points: int
    specific_pieces_signed_declaration: bool
    account_holders_reauthenticate: bool
    fee_allowed: bool


class AgentRules(Sourced):
    may_require_signed_permission: bool
    may_require_power_of_attorney: bool


class CaliforniaMinors(Sourced):
    parental_consent_under: int
    self_opt_in_from: int
    self_opt_in_under: int


class RequestRecords(Sourced):
    keep_months: int
    fields: list[str]


class Metrics(Sourced):
    threshold_consumers: int
    publish_by_month_day: str
    request_types: list[str]
    figures: list[str]


class California(_Row):
    acknowledge_request: Deadline
    respond: Deadline
    extension: Deadline
    opt_out_sale_sharing: Deadline
    limit_sensitive: Deadline
    limit_exempt_uses: ExemptUses
    delete: Sourced
    access_never_disclose: AccessRules
    verification: Verification
    authorized_agents: AgentRules
    minors: CaliforniaMinors
    request_records: RequestRecords
    metrics: Metrics


class ObligationDeadline(_Row):
    what: str
    due: dt.date
    # Only for organizations meeting this condition (e.g. revenue brackets); null: all.
    when: Condition | None = None
    when_note: str | None = None


class Obligation(Sourced):
    """A dated duty of a law beyond answering requests (CA risk assessments, cybersecurity
    audits, ADMT notices), listed per organization from its declared facts."""

    id: str
    state: str
    title: str
    from_: dt.date = Field(alias="from")
    duties: list[str] = Field(min_length=1)
    # The duty applies when any one holds; empty: to every organization the law covers.
    applies_if: list[Condition] = Field(default_factory=list)
    deadlines: list[ObligationDeadline] = Field(default_factory=list)
    request_types: list[str] = Field(default_factory=list)


class GeolocationSaleBan(Sourced):
    """No sale of precise geolocation data from `from` (consent does not cure it)."""

    state: str
    from_: dt.date = Field(alias="from")
    radius_feet: int | None = Field(default=None, ge=1)


class ShineTheLight(Sourced):
    minimum_employees: int
    requests_per_year: int
    covers: str
    respond_designated: Days
    respond_other: Days


class StateRow(Sourced):
    state: str


class Recording(Sourced):
    all_party_states: list[StateRow]
    disputed_states: list[StateRow]
    rule: str
    notice_counts_as_consent: str


class PciRequirement(_Row):
    id: str
    rule: str
    required_from: dt.date | None = None


class PciDss(Sourced):
    """PCI DSS requirements that touch call recordings and transcripts (the standard is a
    contract term of the card brands, not a law)."""

    version: str
    in_force: dt.date
    requirements: list[PciRequirement] = Field(min_length=1)

    def requirement(self, requirement_id: str) -> PciRequirement:
        found = next((r for r in self.requirements if r.id == requirement_id), None)
        if found is None:
            raise LookupError(f"PCI DSS {self.version} has no requirement {requirement_id!r} here")
        return found


class NoticeDeadline(_Row):
    days: int | None = Field(default=None, ge=0)
    kind: DayKind | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    without_unreasonable_delay: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> NoticeDeadline:
        if (self.days is None) == (not self.without_unreasonable_delay):
            raise ValueError("give either `days` and `kind`, or `without_unreasonable_delay: true`")
        if self.days is not None and self.kind is None:
            raise ValueError("say whether the days are `calendar` or `business` in `kind`")
        return self

    def due_days(self, on: dt.date) -> Days | None:
        """The fixed deadline in force on `on`; None: "without unreasonable delay"."""
        if self.days is None or self.kind is None:
            return None
        if self.from_ is not None and on < self.from_:
            return None
        return Days(days=self.days, kind=self.kind)


RegulatorTiming = Literal[
    "before_individuals", "same_time", "no_later_than_individuals", "after_individuals", "within"
]


class RegulatorNotice(_Row):
    """Who else must be told. `min_residents`: only when at least this many residents of the
    state are affected ("more than 500" is 501); null: whatever the number."""

    who: str
    timing: RegulatorTiming | None = None
    within: Days | None = None
    within_hours: int | None = Field(default=None, ge=1)
    min_residents: int | None = Field(default=None, ge=1)
    note: str | None = None
    # Each regulator is confirmed on its own (who, timing and threshold as the reference gives
    # them); unverified unless the row says so.
    confirmed: bool = False

    def required_for(self, residents: int) -> bool:
        return self.min_residents is None or residents >= self.min_residents


class ProcessorNotice(_Row):
    """The duty of whoever maintains data for its owner (a BPO for its client): tell the owner."""

    within: Days | None = None
    within_hours: int | None = Field(default=None, ge=1)
    immediately: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ProcessorNotice:
        given = [self.within is not None, self.within_hours is not None, self.immediately]
        if sum(given) != 1:
            raise ValueError("give exactly one of `within`, `within_hours` or `immediately: true`")
        return self


REFERENCE_FILES = ("us-privacy-rules.md", "rules-review-2026-12.md")


class Checked(Sourced):
    """A breach rules row: `confirmed` (or a field not listed in `unconfirmed`) means checked
    against a source, and `checked_against` names it (the shipped rows: a section of the
    reference, `us-privacy-rules.md s.6`; an override: who confirmed it, e.g. counsel and the
    date); everything else is unverified, and staff are told so wherever it is shown."""

    checked_against: str | None = None

    @model_validator(mode="after")
    def _check_is_named(self) -> Checked:
        if self.confirmed and not self.checked_against:
            raise ValueError(
                "a `confirmed: true` row says which reference section it was checked against "
                "in `checked_against`"
            )
        return self

    def is_confirmed(self, part: str) -> bool:
        """Whether `part` of the row (a field name) was checked against the reference."""
        if self.checked_against is None:
            return False
        return self.confirmed or part not in self.unconfirmed


BREACH_PARTS = ("individuals", "regulators", "processor_to_owner", "identity_protection_months")


class BreachRule(Checked):
    statute: str | None = None
    individuals: NoticeDeadline
    regulators: list[RegulatorNotice] = Field(default_factory=list)
    processor_to_owner: ProcessorNotice | None = None
    identity_protection_months: int | None = None
    identity_protection_when: str | None = None

    @model_validator(mode="after")
    def _doubt_is_complete(self) -> BreachRule:
        unknown = sorted(set(self.unconfirmed) - set(BREACH_PARTS))
        if unknown:
            raise ValueError(f"`unconfirmed` names {unknown}: use {', '.join(BREACH_PARTS)}")
        doubtful = any(not g.confirmed for g in self.regulators)
        if doubtful and "regulators" not in self.unconfirmed:
            raise ValueError(
                "a regulator without `confirmed: true` makes `regulators` unverified: list it "
                "in `unconfirmed`"
            )
        if "regulators" in self.unconfirmed and self.regulators and not doubtful:
            raise ValueError("every regulator is confirmed: take `regulators` off `unconfirmed`")
        if self.checked_against is None:
            present = [p for p in BREACH_PARTS if p != "identity_protection_months"] + (
                ["identity_protection_months"] if self.identity_protection_months else []
            )
            if self.processor_to_owner is None:
                present.remove("processor_to_owner")
            silent = [p for p in present if p not in self.unconfirmed]
            if silent:
                raise ValueError(
                    f"{silent} are neither checked (`checked_against`) nor listed in `unconfirmed`"
                )
        return self

    def regulator_confirmed(self, g: RegulatorNotice) -> bool:
        return self.checked_against is not None and g.confirmed

    def regulators_for(self, residents: int) -> list[RegulatorNotice]:
        return [r for r in self.regulators if r.required_for(residents)]


class BreachNoticeFormat(Checked):
    title: str
    minimum_font_points: int
    headings: list[str]
    identity_protection_months: int
    identity_protection_when: str


NoticeElement = Literal[
    "what_happened", "dates", "what_information", "what_we_are_doing", "what_you_can_do",
    "contact", "agencies", "ftc", "state_contacts", "police_report", "security_freeze",
    "resident_count",
]  # fmt: skip


ContactRole = Literal["agency", "ftc", "credit_report", "state"]


class BreachContact(_Row):
    """An agency a notice names, with how to reach it and where that came from. An unverified
    contact is shown to staff (marked so) and printed to people by name only."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    role: ContactRole
    name: str
    phone: str | None = None
    website: str | None = None
    address: str | None = None
    source: str
    confirmed: bool = False
    checked_against: str | None = None

    @model_validator(mode="after")
    def _check_is_named(self) -> BreachContact:
        if self.confirmed and not self.checked_against:
            raise ValueError(
                f"contact {self.id!r}: `confirmed: true` needs `checked_against`: the section of "
                f"{' or '.join(REFERENCE_FILES)} that gives it, or who confirmed it and when "
                "(your counsel, in your override file)"
            )
        return self

    def details(self) -> str:
        return ", ".join(x for x in (self.address, self.phone, self.website) if x)


# Every notice names the nationwide consumer reporting agencies and the FTC: the "*" row of
# `breach_notice_content` must list them (checked when the rules are loaded).
ALL_STATES_CONTACT_ROLES = ("agency", "ftc")


class BreachNoticeContent(Checked):
    """What a state's notice to a resident must carry (`include`) or leave out (`exclude`), on
    top of what every notice carries (the `"*"` row)."""

    include: list[NoticeElement] = Field(default_factory=list)
    exclude: list[NoticeElement] = Field(default_factory=list)
    contacts: list[BreachContact] = Field(default_factory=list)
    plain_language: bool = False

    @model_validator(mode="after")
    def _contacts_given(self) -> BreachNoticeContent:
        if "state_contacts" in self.include and not self.of_role("state"):
            raise ValueError(
                "`include` names state_contacts: list them in `contacts` with `role: state`"
            )
        return self

    def of_role(self, role: str) -> list[BreachContact]:
        return [c for c in self.contacts if c.role == role]


SubmissionField = Literal[
    "organization", "contact", "date_breach_began", "date_breach_ended", "date_discovered",
    "date_individuals_notified", "residents_affected", "total_affected", "information_types",
    "description", "notice_method", "identity_protection", "encrypted", "steps_taken",
    "law_enforcement_delay", "notice_sample",
]  # fmt: skip


class SubmissionForm(Checked):
    """The fields a regulator's submission asks for, in its form's order."""

    fields: list[SubmissionField] = Field(min_length=1)
    submit: str | None = None  # where and how it is filed
    attach_notice_sample: bool = False


class SafeHarbor(Checked):
    """The encryption safe harbor: encrypted data is not a breach unless the key went too."""

    encrypted_exempt: bool
    unless_key_compromised: bool
    states_without: list[str] = Field(default_factory=list)

    def applies(self, state: str, encrypted: bool, key_compromised: bool) -> bool:
        if not (self.encrypted_exempt and encrypted) or state.upper() in self.states_without:
            return False
        return not (self.unless_key_compromised and key_compromised)


class HipaaBreach(Checked):
    """The HIPAA breach notification rule, for health data of a covered entity or its BA."""

    categories: list[str] = Field(min_length=1)  # category prefixes that make it health data
    individuals: Days
    secretary_min_people: int = Field(ge=1)
    secretary_within: Days
    secretary_after_year_end: Days
    media_min_residents: int = Field(ge=1)
    media_within: Days
    business_associate_within: Days


class BreachResponse(_Row):
    safe_harbor: SafeHarbor
    identity_protection_categories: list[str] = Field(min_length=1)
    identity_protection_note: str
    hipaa: HipaaBreach


class Coppa(Sourced):
    under_age: int
    verifiable_parental_consent: bool
    parent_rights: list[str]
    retention: str
    amendments_compliance_from: dt.date
    amendments: list[str]


_SENSITIVE_ORDER = {"opt_out": 0, "opt_in": 1, "strict": 2}


def _shortest(values: list[Days]) -> Days:
    # Calendar and business days are compared as written; the rows of one field use one kind.
    return min(values, key=lambda d: (d.days, d.kind is DayKind.calendar))


class JurisdictionRules(_Row):
    schema_id: str = Field(alias="schema")
    as_of: dt.date
    states: dict[str, StateRule]
    consent_revocation: list[StateDeadline]
    opt_out_deadlines: list[StateDeadline]
    geolocation_sale_bans: list[GeolocationSaleBan] = Field(default_factory=list)
    california: California
    obligations: list[Obligation] = Field(default_factory=list)
    shine_the_light: ShineTheLight
    recording: Recording
    pci_dss: PciDss
    breach: dict[str, BreachRule]
    breach_notice_format: dict[str, BreachNoticeFormat]
    breach_notice_content: dict[str, BreachNoticeContent] = Field(default_factory=dict)
    breach_submission_forms: dict[str, SubmissionForm] = Field(default_factory=dict)
    breach_response: BreachResponse
    coppa: Coppa

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    # unknown_state_rule results by (date, scope): the rules never change once loaded.
    _unknown: dict[tuple[dt.date, frozenset[str] | None], StateRule] = PrivateAttr(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _every_notice_names_the_agencies(self) -> JurisdictionRules:
        every = self.breach_notice_content.get("*")
        if every is None:
            raise ValueError(
                "breach_notice_content needs a '*' row: what every notice carries, with the "
                "consumer reporting agencies and the FTC in `contacts`"
            )
        missing = [r for r in ALL_STATES_CONTACT_ROLES if not every.of_role(r)]
        if missing:
            raise ValueError(
                f"breach_notice_content '*' lists no contact with role {missing}: every notice "
                "names the nationwide consumer reporting agencies and the FTC"
            )
        for element, role in (("agencies", "agency"), ("ftc", "ftc")):
            if element not in every.include:
                raise ValueError(
                    f"breach_notice_content '*' must `include` {element} (its {role} contacts)"
                )
        return self

    # --- accessors --------------------------------------------------------------------------

    def state(self, code: str) -> StateRule:
        try:
            return self.states[code.upper()]
        except KeyError:
            raise LookupError(
                f"no comprehensive privacy law rules for {code!r}; "
                f"known states: {', '.join(sorted(self.states))}"
            ) from None

    def in_force(self, code: str | None, on: dt.date) -> StateRule | None:
        """The state's row when its law applies on `on`; None for a state without a law (or
        before its law's effective date) and for an unknown state."""
        row = self.states.get((code or "").upper())
        return row if row is not None and row.in_force(on) else None

    def states_in_force(self, on: dt.date) -> list[str]:
        return sorted(code for code, row in self.states.items() if row.in_force(on))

    def strictest_states(self, on: dt.date, scope: frozenset[str] | None = None) -> list[str]:
        """The states whose rules make up the rule for an unknown state: those of `scope` (the
        states the organization's notice covers plus any it chose; None: every state) whose
        law is in force on `on`, or every state in force when none of them is."""
        in_force = self.states_in_force(on)
        chosen = [c for c in in_force if scope is None or c in scope]
        # Before any law took effect (a date before 2020), every state's rules stand in.
        return chosen or in_force or sorted(self.states)

    def unknown_state_rule(self, on: dt.date, scope: frozenset[str] | None = None) -> StateRule:
        """The rule for a person whose state is unknown or has no comprehensive law in force on
        `on`: the organization's default, at least as strict as the strictest state `scope`
        covers. Field by field: the shortest answer, extension and appeal periods, the most
        free requests, the strictest sensitive-data rule and every minors rule; an appeal is
        always allowed (most laws grant one, and the person may live in such a state), and the
        opt-out preference signal (GPC) always honored (CA expects it processed per browser
        even when the person is unknown, 11 CCR 7025)."""
        cached = self._unknown.get((on, scope))
        if cached is not None:
            return cached
        codes = self.strictest_states(on, scope)
        rows = [self.states[c] for c in codes]
        appeals = [r.appeal for r in rows if r.appeal.required]
        appeal_days = [a.days for a in appeals if a.days is not None]
        # The strictest extension of an appeal is none, unless every appeal state allows one.
        appeal_ext = [a.extension for a in appeals]
        free = [r.free_requests for r in rows if r.free_requests is not None]
        doubt = sorted({f"{c}: {f}" for c in codes for f in self.states[c].unconfirmed})
        rule = StateRule(
            name="Unknown state (organization default)",
            law=f"the strictest of the laws of {', '.join(codes)}",
            effective=on,
            respond=_shortest([r.respond for r in rows]),
            extension=_shortest([r.extension for r in rows]),
            appeal=Appeal(
                required=True,
                days=_shortest(appeal_days) if appeal_days else None,
                extension=(
                    _shortest([e for e in appeal_ext if e is not None])
                    if appeal_ext and all(e is not None for e in appeal_ext)
                    else None
                ),
            ),
            free_requests=max(free) if free else None,
            universal_opt_out=UniversalOptOut(required=True, required_from=None),
            sensitive=max((r.sensitive for r in rows), key=_SENSITIVE_ORDER.__getitem__),
            minors=[m for r in rows for m in r.minors if m.from_ is None or m.from_ <= on],
            source=f"derived from the rules of {', '.join(codes)}",
            confirmed=not doubt and all(r.confirmed for r in rows),
            unconfirmed=doubt,
        )
        if len(self._unknown) < 1024:
            self._unknown[(on, scope)] = rule
        return rule

    def rule_for(
        self, code: str | None, on: dt.date, scope: frozenset[str] | None = None
    ) -> StateRule:
        """The rule that applies to a person of `code` on `on`: their state's when its law is in
        force, otherwise the unknown-state rule (`unknown_state_rule`)."""
        return self.in_force(code, on) or self.unknown_state_rule(on, scope)

    @property
    def all_party_recording_states(self) -> frozenset[str]:
        return frozenset(r.state for r in self.recording.all_party_states)

    @property
    def disputed_recording_states(self) -> frozenset[str]:
        return frozenset(r.state for r in self.recording.disputed_states)

    def call_is_all_party(self, *states: str) -> bool:
        """All-party when any party is in an all-party (or disputed) state."""
        strict = self.all_party_recording_states | self.disputed_recording_states
        return any(s.upper() in strict for s in states)

    @property
    def state_names(self) -> dict[str, str]:
        """`{"US-CA": "California", ...}` for every state with rules."""
        return {f"US-{code}": row.name for code, row in self.states.items()}

    def breach_rule(self, state: str) -> BreachRule | None:
        return self.breach.get(state.upper())

    def submission_form(self, state: str, agency: bool = False) -> SubmissionForm:
        """The form of a state's regulator; the general one for an agency or a state without."""
        own = None if agency else self.breach_submission_forms.get(state.upper())
        found = own or self.breach_submission_forms.get("*")
        if found is None:
            raise LookupError("the rules data has no breach_submission_forms '*' row")
        return found

    def notice_contacts(self, state: str, role: str) -> list[BreachContact]:
        """The contacts of `role` a notice to a resident of `state` names: the state's own row's
        when it lists some, else every notice's (the `"*"` row)."""
        own = self.breach_notice_content.get(state.upper())
        if own is not None and own.of_role(role):
            return own.of_role(role)
        every = self.breach_notice_content.get("*")
        return every.of_role(role) if every else []

    def notice_elements(self, state: str) -> list[NoticeElement]:
        """The parts of a notice to a resident of `state`: every notice's, plus the state's
        own, less what the state forbids (in the order of the vocabulary)."""
        base = self.breach_notice_content.get("*")
        own = self.breach_notice_content.get(state.upper())
        wanted = set(base.include if base else []) | set(own.include if own else [])
        wanted -= set(own.exclude if own else [])
        order = list(NoticeElement.__args__)  # type: ignore[attr-defined]
        return sorted(wanted, key=order.index)

    def consent_revocation_deadline(
        self, state: str | None, on: dt.date | None = None, scope: frozenset[str] | None = None
    ) -> Days | None:
        """How soon processing must stop after consent is revoked. A state without a law in force
        (or unknown) gets the shortest deadline of the states making up the unknown-state rule."""
        if on is not None and self.in_force(state, on) is None:
            codes = set(self.strictest_states(on, scope))
            found = [
                r.stop_within
                for r in self.consent_revocation
                if r.state in codes and r.stop_within and (r.from_ is None or r.from_ <= on)
            ]
            return _shortest(found) if found else None
        row = next(
            (
                r
                for r in self.consent_revocation
                if r.state == (state or "").upper()
                and (on is None or r.from_ is None or r.from_ <= on)
            ),
            None,
        )
        return row.stop_within if row else None

    def opt_out_deadline(self, state: str) -> Days | None:
        row = next((r for r in self.opt_out_deadlines if r.state == state.upper()), None)
        return row.honor_within if row else None

    def geolocation_sale_banned(self, state: str, on: dt.date) -> GeolocationSaleBan | None:
        return next(
            (b for b in self.geolocation_sale_bans if b.state == state.upper() and on >= b.from_),
            None,
        )

    def obligation(self, obligation_id: str) -> Obligation:
        found = next((o for o in self.obligations if o.id == obligation_id), None)
        if found is None:
            raise LookupError(f"no obligation {obligation_id!r} in the rules")
        return found

    def change_dates(self, after: dt.date) -> list[dt.date]:
        """Every date after `after` on which a rule starts to apply: laws taking effect, signal
        and minors rules, thresholds, geolocation bans, obligations. `policy check` looks at
        each of them so a notice that will fall short is warned before the day."""
        dates: set[dt.date] = set()
        for row in self.states.values():
            dates.add(row.effective)
            if row.universal_opt_out.required_from:
                dates.add(row.universal_opt_out.required_from)
            dates.update(m.from_ for m in row.minors if m.from_)
            dates.update(t.from_ for t in row.applicability if t.from_)
        dates.update(b.from_ for b in self.geolocation_sale_bans)
        dates.update(o.from_ for o in self.obligations)
        return sorted(d for d in dates if d > after)

    def unconfirmed_rows(self) -> list[str]:
        """Where every row not confirmed from a primary or reliable secondary source is, as
        `section.key` (for `policy rules`, the docs table and the check's notes)."""
        found = [f"states.{c}" for c, r in sorted(self.states.items()) if not r.confirmed]
        found += [
            f"states.{c}.{part}"
            for c, r in sorted(self.states.items())
            for part, row in (("cure", r.cure),)
            + tuple((f"applicability[{i}]", t) for i, t in enumerate(r.applicability))
            if row is not None and not row.confirmed
        ]
        found += [
            f"consent_revocation.{r.state}" for r in self.consent_revocation if not r.confirmed
        ]
        found += [
            f"geolocation_sale_bans.{r.state}"
            for r in self.geolocation_sale_bans
            if not r.confirmed
        ]
        found += [f"obligations.{o.id}" for o in self.obligations if not o.confirmed]
        found += [f"breach.{c}" for c, r in sorted(self.breach.items()) if not r.confirmed]
        found += [
            f"breach_response.{name}"
            for name, row in (
                ("safe_harbor", self.breach_response.safe_harbor),
                ("hipaa", self.breach_response.hipaa),
            )
            if not row.confirmed
        ]
        return found


# The section of the override file that overrides the contact rules (consent/data/
# contact-rules.yaml); `consent.rules.load` reads it, the jurisdiction rules leave it out.
CONTACT_RULES_SECTION = "contact_rules"


def merge_over(base: Any, override: Any) -> Any:
    """`override` merged over `base`: mappings key by key, anything else (lists too) replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_over(base[key], value) if key in base else value
        return merged
    return override


def read_override(path: Path) -> tuple[dict[str, Any], LineMap]:
    """The override file (`HONORBOUND_RULES_FILE`) as a mapping with its lines;
    `DeclarationError` if it is not YAML or not a mapping, `OSError` if unreadable."""
    return read_override_text(Path(path).read_text(encoding="utf-8"), str(path))


def read_override_text(text: str, name: str) -> tuple[dict[str, Any], LineMap]:
    """An override given as text (a file's, or a client's stored override), named `name` in
    every problem; `DeclarationError` if it is not YAML or not a mapping."""
    extra, lines = load_yaml(text, name)
    if not isinstance(extra, dict):
        raise DeclarationError([Problem(name, 1, "an override file is a YAML mapping")])
    return extra, lines


def _shipped_text() -> str:
    return resources.files("honorbound.policy").joinpath(SHIPPED_RULES).read_text("utf-8")


def merged_data(
    base: tuple[dict[str, Any], LineMap], extra: tuple[dict[str, Any], LineMap]
) -> tuple[dict[str, Any], LineMap]:
    """`extra` merged over `base` (all but its `contact_rules` section), lines included; the
    inputs are left as they were."""
    data, lines = base
    more = {k: v for k, v in extra[0].items() if k != CONTACT_RULES_SECTION}
    merged_lines = LineMap(lines.file, dict(lines.lines), dict(lines.files))
    merged_lines.merge(extra[1])
    return merge_over(data, more), merged_lines


def rules_data(override_path: Path | None = None) -> tuple[dict[str, Any], LineMap]:
    """The shipped rules' data with `override_path` merged over them, not yet validated."""
    data, lines = load_yaml(_shipped_text(), "honorbound/policy/" + SHIPPED_RULES)
    if override_path is not None:
        data, lines = merged_data((data, lines), read_override(override_path))
    return data, lines


def validate_rules(data: dict[str, Any], lines: LineMap) -> JurisdictionRules:
    """The rules object of merged data; `DeclarationError` with every problem's file and line."""
    if data.get("schema") != RULES_SCHEMA_ID:
        raise DeclarationError([lines.problem(("schema",), f"write `schema: {RULES_SCHEMA_ID}`")])
    try:
        return JurisdictionRules.model_validate(data)
    except ValidationError as exc:
        raise DeclarationError(translate_errors(exc, data, lines, JurisdictionRules)) from exc


def load_rules(override_path: Path | None = None) -> JurisdictionRules:
    """The shipped rules, with `override_path` merged over them (all but its
    `contact_rules` section); `DeclarationError` if invalid."""
    return validate_rules(*rules_data(override_path))
