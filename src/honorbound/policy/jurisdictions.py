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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from honorbound.policy.loader import translate_errors
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.yamlsource import load_yaml

RULES_SCHEMA_ID = "honorbound/jurisdiction-rules/v1"
SHIPPED_RULES = "data/us-rules.yaml"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class StateRule(Sourced):
    name: str
    law: str
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

    @property
    def respond_days(self) -> int:
        return self.respond.days

    @property
    def extension_days(self) -> int:
        return self.extension.days

    @property
    def appeal_days(self) -> int | None:
        return self.appeal.days.days if self.appeal.days else None

    def gpc_required(self, on: dt.date) -> bool:
        opt_out = self.universal_opt_out
        return opt_out.required and (opt_out.required_from is None or on >= opt_out.required_from)

    def minor_rules(self, age: int, on: dt.date | None = None) -> list[MinorRule]:
        return [
            r
            for r in self.minors
            if r.covers(age) and (on is None or r.from_ is None or on >= r.from_)
        ]


class StateDeadline(Sourced):
    state: str
    stop_within: Days | None = None
    honor_within: Days | None = None


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


class AccessRules(Sourced):
    items: list[NeverDiscloseItem]
    lookback_months: int
    lookback_floor: dt.date


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


class ShineTheLight(Sourced):
    minimum_employees: int
    requests_per_year: int
    covers: str
    respond_designated: Days
    respond_other: Days


class TcpaRevocation(Sourced):
    in_force: dt.date
    keywords: list[str]
    honor_within: Days
    confirmation_within_minutes: int
    revoke_all_delayed_until: dt.date


class DoNotCall(Sourced):
    national_scrub_every: Days
    national_registration_expires: bool
    company_request_lasts_years: int
    company_request_honor_within: Days
    telemarketing_records_years: int


class Window(_Row):
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("a calling window must end after it starts")
        return self


class StateHours(Sourced):
    start: dt.time | None = None
    end: dt.time | None = None
    sunday: Window | None = None
    max_calls_per_24h: int | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    includes_texts: bool = False


class CallingHours(_Row):
    default: Window
    default_source: str
    states: dict[str, StateHours]


class SmsKeywords(Sourced):
    help: list[str]
    stop: list[str]
    start: list[str]
    help_reply_contains: list[str]


class CanSpam(Sourced):
    honor_within: Days
    mechanism_works_for: Days
    postal_address_required: bool


class Calling(_Row):
    tcpa_revocation: TcpaRevocation
    do_not_call: DoNotCall
    hours: CallingHours
    sms_keywords: SmsKeywords
    can_spam: CanSpam


class StateRow(Sourced):
    state: str


class Recording(Sourced):
    all_party_states: list[StateRow]
    disputed_states: list[StateRow]
    rule: str
    notice_counts_as_consent: str
    pci_3_3_1: str


class NoticeDeadline(_Row):
    days: int | None = None
    kind: DayKind | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    without_unreasonable_delay: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> NoticeDeadline:
        if (self.days is None) == (not self.without_unreasonable_delay):
            raise ValueError("give either `days` and `kind`, or `without_unreasonable_delay: true`")
        if self.days is not None and self.kind is None:
            raise ValueError("say whether the days are `calendar` or `business` in `kind`")
        return self


class RegulatorNotice(_Row):
    who: str
    when: str | None = None
    threshold: str | None = None


class BreachRule(Sourced):
    individuals: NoticeDeadline
    regulator: RegulatorNotice | None = None
    identity_protection_months: int | None = None
    identity_protection_when: str | None = None


class BreachNoticeFormat(Sourced):
    title: str
    minimum_font_points: int
    headings: list[str]
    identity_protection_months: int
    identity_protection_when: str


class Coppa(Sourced):
    under_age: int
    verifiable_parental_consent: bool
    parent_rights: list[str]
    retention: str
    amendments_compliance_from: dt.date
    amendments: list[str]


class JurisdictionRules(_Row):
    schema_id: str = Field(alias="schema")
    as_of: dt.date
    states: dict[str, StateRule]
    consent_revocation: list[StateDeadline]
    opt_out_deadlines: list[StateDeadline]
    california: California
    shine_the_light: ShineTheLight
    calling: Calling
    recording: Recording
    breach: dict[str, BreachRule]
    breach_notice_format: dict[str, BreachNoticeFormat]
    coppa: Coppa

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # --- accessors --------------------------------------------------------------------------

    def state(self, code: str) -> StateRule:
        try:
            return self.states[code.upper()]
        except KeyError:
            raise LookupError(
                f"no comprehensive privacy law rules for {code!r}; "
                f"known states: {', '.join(sorted(self.states))}"
            ) from None

    def calling_hours(self, state: str, weekday: int, on: dt.date | None = None) -> Window:
        """Allowed calling window in the called party's local time; weekday 0 = Monday."""
        hours = self.calling.hours
        row = hours.states.get(state.upper())
        if row is None or (on is not None and row.from_ is not None and on < row.from_):
            return hours.default
        if weekday == 6 and row.sunday is not None:
            return row.sunday
        return Window(start=row.start or hours.default.start, end=row.end or hours.default.end)

    def max_calls_per_24h(self, state: str) -> int | None:
        row = self.calling.hours.states.get(state.upper())
        return row.max_calls_per_24h if row else None

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

    def consent_revocation_deadline(self, state: str) -> Days | None:
        row = next((r for r in self.consent_revocation if r.state == state.upper()), None)
        return row.stop_within if row else None

    def opt_out_deadline(self, state: str) -> Days | None:
        row = next((r for r in self.opt_out_deadlines if r.state == state.upper()), None)
        return row.honor_within if row else None


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def _shipped_text() -> str:
    return resources.files("honorbound.policy").joinpath(SHIPPED_RULES).read_text("utf-8")


def load_rules(override_path: Path | None = None) -> JurisdictionRules:
    """The shipped rules, with `override_path` merged over them; `DeclarationError` if invalid."""
    data, lines = load_yaml(_shipped_text(), "honorbound/policy/" + SHIPPED_RULES)
    if override_path is not None:
        override_path = Path(override_path)
        extra, extra_lines = load_yaml(
            override_path.read_text(encoding="utf-8"), str(override_path)
        )
        if not isinstance(extra, dict):
            raise DeclarationError(
                [Problem(str(override_path), 1, "an override file is a YAML mapping")]
            )
        data = _merge(data, extra)
        lines.merge(extra_lines)
    if data.get("schema") != RULES_SCHEMA_ID:
        raise DeclarationError([lines.problem(("schema",), f"write `schema: {RULES_SCHEMA_ID}`")])
    try:
        return JurisdictionRules.model_validate(data)
    except ValidationError as exc:
        raise DeclarationError(translate_errors(exc, data, lines, JurisdictionRules)) from exc
