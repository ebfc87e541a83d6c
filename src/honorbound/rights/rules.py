"""The rights-request rules as data (`rights/data/requests.yaml`), validated once."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

RULES_SCHEMA_ID = "honorbound/rights-rules/v1"

Clock = Literal["respond", "opt_out", "limit", "shine_the_light", "appeal"]
Period = Literal["12_months", "all"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TypeRule(_Row):
    clock: Clock
    data_points: int = Field(ge=0)
    signed_declaration: bool
    sensitive_data_points: int | None = None
    sensitive_signed_declaration: bool | None = None
    metrics_type: str | None
    # `automatic`: Honorbound carries the request out (package, deletion, ledger entry);
    # `staff_answer`: the privacy team writes the answer (POST /v1/requests/{id}/answer).
    handling: Literal["automatic", "staff_answer"] = "automatic"
    # The date the law requires the request type (the type is accepted before it too).
    required_from: dt.date | None = None
    # The declaration's rights (`rights[].rights`) this request exercises: an offer of one of
    # them that promises `response_days` / `extension_days` binds the clock when stricter.
    notice_rights: list[str] = Field(default_factory=list)
    source: str
    confirmed: bool
    unconfirmed: list[str] = Field(default_factory=list)
    note: str | None = None


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
    consent_purposes: dict[str, str]
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
        unknown = sorted(set(self.free_requests.types) - set(self.types))
        if unknown:
            raise ValueError(f"free_requests.types: unknown request type(s) {', '.join(unknown)}")
        return self

    def type_rule(self, request_type: str) -> TypeRule:
        return self.types[request_type]

    def attorney_general_for(self, state: str) -> str:
        row = self.attorney_general.get(state.upper()) or self.attorney_general["default"]
        return row.contact


@lru_cache(maxsize=1)
def load_rights_rules() -> RightsRules:
    text = resources.files("honorbound.rights").joinpath("data/requests.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if data.get("schema") != RULES_SCHEMA_ID:
        raise ValueError(f"rights/data/requests.yaml: write `schema: {RULES_SCHEMA_ID}`")
    return RightsRules.model_validate(data)
