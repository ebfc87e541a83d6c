"""The protocols' constants as data (`data/protocols.yaml`), validated once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "honorbound/protocols/v1"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrpPaths(_Row):
    exercise: str
    status: str
    revoke: str
    agent: str


class DrpLimits(_Row):
    body_bytes: int = Field(gt=0)
    id_chars: int = Field(gt=0)
    text_chars: int = Field(gt=0)
    url_chars: int = Field(gt=0)
    reason_chars: int = Field(gt=0)
    relationships: int = Field(gt=0)


class Drp(_Row):
    source: str
    version: str
    paths: DrpPaths
    signed_content_type: str
    signature_bytes: int
    verify_key_bytes: int
    max_window_minutes: int = Field(gt=0)
    clock_skew_seconds: int = Field(ge=0)
    regimes: dict[str, str]
    exercises: dict[str, str]
    unsupported_exercises: list[str]
    statuses: list[str]
    denial_reasons: list[str]
    status_of: dict[str, str]
    reason_of: dict[str, str]
    supported_verifications: list[str]
    business_id_pattern: str
    limits: DrpLimits


class OpenDsrPaths(_Row):
    discovery: str
    requests: str
    request: str
    certificate: str


class OpenDsrHeaders(_Row):
    domain: list[str]
    signature: list[str]


class OpenDsrLimits(_Row):
    identities: int = Field(gt=0)
    callback_urls: int = Field(gt=0)
    url_chars: int = Field(gt=0)
    value_chars: int = Field(gt=0)


class OpenDsr(_Row):
    source: str
    api_version: str
    paths: OpenDsrPaths
    headers: OpenDsrHeaders
    signature: str
    supported_subject_request_types: list[str]
    request_types: dict[str, str]
    regulations: dict[str, str]
    supported_identities: list[dict[str, str]]
    statuses: list[str]
    status_of: dict[str, str]
    limits: OpenDsrLimits


class Processor(_Row):
    default_contract_days: int = Field(gt=0, le=366)
    contract_source: str
    forwarding_source: str
    confirmed: bool
    unconfirmed: list[str] = Field(default_factory=list)


class ProtocolRules(_Row):
    schema_: str = Field(alias="schema")
    drp: Drp
    opendsr: OpenDsr
    processor: Processor


@lru_cache(maxsize=1)
def load() -> ProtocolRules:
    """The shipped protocols file, parsed and checked (the only reader of it)."""
    text = (resources.files("honorbound.rights.protocols") / "data" / "protocols.yaml").read_text(
        encoding="utf-8"
    )
    rules = ProtocolRules.model_validate(yaml.safe_load(text))
    if rules.schema_ != SCHEMA_ID:
        raise ValueError(f"protocols.yaml: schema must be {SCHEMA_ID!r}")
    return rules
