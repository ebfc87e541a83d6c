"""The rights-request rules as data (`rights/data/requests.yaml`), validated once.

Each row of `types` is the one definition of its request type: its words (`label`), what
carrying it out does (`executes`, which `rights.execution` dispatches on), where it can be made
(`taken_by`), its deadline key into the jurisdiction rules (`clock`), how strong verification
must be, the ledger purpose an opt-out writes. Intake, execution, the portal, the agent desk,
the console and the mails read the row; none of them lists request types of its own.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from honorbound.consent.models import Purpose
from honorbound.rights.models import RequestType

RULES_SCHEMA_ID = "honorbound/rights-rules/v1"

Clock = Literal["respond", "opt_out", "limit", "shine_the_light", "appeal"]
Period = Literal["12_months", "all"]
# What carrying out a request of the type does (see the file's header). `package`, `delete`,
# `correct` and `shine_the_light` run as the `rights.execute` job once verified; `opt_out` is
# applied at intake (no verification); `staff_answer` waits for the privacy team's answer;
# `appeal` is decided by staff (`rights.execution.decide_appeal`).
Executes = Literal[
    "package", "delete", "correct", "shine_the_light", "opt_out", "staff_answer", "appeal"
]
# Where the pages offer the request: the portal's form, by phone (the agent desk, a request
# said in a recorded call). The JSON API takes every type but an appeal.
Channel = Literal["portal", "phone"]
# Clocks of requests that must be honored without verification (11 CCR 7026, 7027).
NO_VERIFICATION_CLOCKS = ("opt_out", "limit")
# Clocks with no extension: opt-outs and limits are applied at once; Shine the Light has its own
# fixed period (Civ. Code 1798.83). An appeal's extension comes from its state's row.
UNEXTENDABLE_CLOCKS = ("opt_out", "limit", "shine_the_light")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TypeRule(_Row):
    # The English words of what the person asked for ("delete your personal information"):
    # the gettext source string of the portal's choice, the mails and the console.
    label: str = Field(min_length=3)
    executes: Executes
    taken_by: list[Channel]
    # The consent-ledger purpose an `opt_out` row writes (honorbound.consent Purpose).
    consent_purpose: Purpose | None = None
    clock: Clock
    data_points: int = Field(ge=0)
    signed_declaration: bool
    sensitive_data_points: int | None = None
    sensitive_signed_declaration: bool | None = None
    metrics_type: str | None
    # The date the law requires the request type (the type is accepted before it too).
    required_from: dt.date | None = None
    # The declaration's rights (`rights[].rights`) this request exercises: an offer of one of
    # them that promises `response_days` / `extension_days` binds the clock when stricter.
    notice_rights: list[str] = Field(default_factory=list)
    source: str
    confirmed: bool
    unconfirmed: list[str] = Field(default_factory=list)
    note: str | None = None

    @property
    def verified(self) -> bool:
        """Whether the person is verified before it is carried out."""
        return self.data_points > 0 or self.signed_declaration

    def problems(self) -> list[str]:
        """What contradicts itself in the row (each a sentence naming the field)."""
        found = []
        if self.clock in NO_VERIFICATION_CLOCKS and self.executes != "opt_out":
            found.append(f"clock {self.clock} is an opt-out's: write `executes: opt_out`")
        if self.executes == "opt_out":
            if self.verified or self.sensitive_data_points or self.sensitive_signed_declaration:
                found.append(
                    "an opt-out may not require verification (11 CCR 7026, 7027): "
                    "write `data_points: 0` and `signed_declaration: false`"
                )
            if self.consent_purpose is None:
                found.append("an opt-out needs the `consent_purpose` it writes into the ledger")
        elif self.consent_purpose is not None:
            found.append("only `executes: opt_out` writes a `consent_purpose`")
        if (self.executes == "appeal") != (self.clock == "appeal"):
            found.append("`executes: appeal` and `clock: appeal` go together")
        if self.executes == "appeal" and self.taken_by:
            found.append("an appeal is filed with the decision letter's link: `taken_by: []`")
        if len(set(self.taken_by)) != len(self.taken_by):
            found.append("taken_by: a channel is listed twice")
        return found


class AgContact(_Row):
    contact: str
    confirmed: bool


class FreeRequests(_Row):
    types: list[str]
    window_months: int = Field(gt=0)
    source: str
    confirmed: bool
    unconfirmed: list[str] = Field(default_factory=list)
    note: str | None = None


class AccessPeriod(_Row):
    default_by_state: dict[str, Period]
    default: Period
    source: str
    confirmed: bool

    def default_for(self, state: str) -> Period:
        return self.default_by_state.get(state.upper(), self.default)


class RightsSettings(_Row):
    verify_link_hours: int = Field(gt=0)
    sms_code_minutes: int = Field(gt=0)
    # One-time codes sent by email (verification without the link, a request's status page).
    email_code_minutes: int = Field(default=60, gt=0)
    download_link_days: int = Field(gt=0)
    appeal_filing_days: int = Field(gt=0)
    max_attempts: int = Field(gt=0)
    reminders_at_percent: list[int]


class RightsRules(_Row):
    schema_id: str = Field(alias="schema")
    types: dict[str, TypeRule]
    appeal_unknown_days: int
    appeal_unknown_source: str
    attorney_general: dict[str, AgContact]
    attorney_general_source: str
    free_requests: FreeRequests
    access_period: AccessPeriod
    settings: RightsSettings

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _known_types(self) -> RightsRules:
        enum = {t.value for t in RequestType}
        problems = []
        if missing := sorted(enum - set(self.types)):
            problems.append(f"types: no row for request type(s) {', '.join(missing)}")
        if extra := sorted(set(self.types) - enum):
            problems.append(
                f"types: {', '.join(extra)} is not a RequestType: add the value to "
                "RequestType in honorbound/rights/models.py"
            )
        problems += [
            f"types.{name}: {problem}"
            for name, row in self.types.items()
            for problem in row.problems()
        ]
        if unknown := sorted(set(self.free_requests.types) - set(self.types)):
            problems.append(f"free_requests.types: unknown request type(s) {', '.join(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def type_rule(self, request_type: str) -> TypeRule:
        return self.types[request_type]

    def taken_by(self, channel: Channel) -> list[str]:
        """The request types a person can make through `channel`, in the file's order."""
        return [name for name, row in self.types.items() if channel in row.taken_by]

    def executing(self, executes: Executes) -> frozenset[str]:
        """The request types whose row says `executes: <executes>`."""
        return frozenset(name for name, row in self.types.items() if row.executes == executes)

    def label(self, request_type: str) -> str:
        """The English words of the type (unknown types: the type itself)."""
        row = self.types.get(request_type)
        return row.label if row is not None else request_type

    def labels(self) -> dict[str, str]:
        return {name: row.label for name, row in self.types.items()}

    def attorney_general_for(self, state: str) -> str:
        row = self.attorney_general.get(state.upper()) or self.attorney_general["default"]
        return row.contact


def parse_rights_rules(text: str, name: str = "rights/data/requests.yaml") -> RightsRules:
    """Validate the file's text; `ValueError` naming the file and every problem."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or data.get("schema") != RULES_SCHEMA_ID:
        raise ValueError(f"{name}: write `schema: {RULES_SCHEMA_ID}`")
    try:
        return RightsRules.model_validate(data)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@lru_cache(maxsize=1)
def load_rights_rules() -> RightsRules:
    """The shipped request-type rules, read once per process (the runtime's `Services` and the
    mails' words share this one object)."""
    text = resources.files("honorbound.rights").joinpath("data/requests.yaml").read_text("utf-8")
    return parse_rights_rules(text)
