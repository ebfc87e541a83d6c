"""PII detection and redaction over the API (used by the vault's collection path too).

Thin: parse, call `honorbound.detect`, render. Pseudonym and encryption keys are the
organization's own, derived from the master key, so tokens never match across organizations.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from honorbound import audit, detect
from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.crypto.keyring import KeyRing
from honorbound.detect.records import check_entities

router = APIRouter(prefix="/v1/detect", tags=["detect"])
Collector = Annotated[Principal, Depends(require("data.collect"))]
Revealer = Annotated[Principal, Depends(require("data.reveal"))]

Text = Annotated[str, StringConstraints(max_length=1_000_000)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=1000)]
OperatorName = Literal["replace", "mask", "redact", "pseudonym", "encrypt", "synthetic"]


class ScanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: Texts
    entities: list[str] | None = Field(
        default=None, description="Only report these types (default: all)."
    )

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        check_entities(value or [])
        return value


class RedactRequest(ScanRequest):
    operator: OperatorName = Field(default="replace", description="How each finding is replaced.")


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: Texts


class FindingOut(BaseModel):
    type: str
    start: int = Field(description="Offset (code points) into the original text.")
    end: int
    score: float
    value_id: int | None = Field(
        default=None,
        description="Shared by the pieces of one value said in several places of a "
        "conversation (a card read in groups across turns); absent for a value in one piece.",
    )


class ScanResult(BaseModel):
    findings: list[FindingOut]


class RedactResult(BaseModel):
    text: str
    findings: list[FindingOut]


class ScanResponse(BaseModel):
    results: list[ScanResult]


class RedactResponse(BaseModel):
    results: list[RedactResult]


class RevealResponse(BaseModel):
    texts: list[str]


def operator_key(keys: KeyRing, organization_id: int, operator: str) -> bytes | None:
    """The organization's key for an operator that needs one (HMAC or AES-256-GCM)."""
    if operator in ("pseudonym", "encrypt"):
        return keys.derived(f"org:{organization_id}:detect-{operator}")
    return None


def _out(findings: list[detect.Finding]) -> list[FindingOut]:
    return [
        FindingOut(type=f.type, start=f.start, end=f.end, score=f.score, value_id=f.value_id)
        for f in findings
    ]


@router.post("/scan", response_model=ScanResponse, response_model_exclude_none=True)
def scan(body: ScanRequest, principal: Collector) -> ScanResponse:
    return ScanResponse(
        results=[
            ScanResult(findings=_out(detect.scan(text, entities=body.entities)))
            for text in body.texts
        ]
    )


@router.post("/redact", response_model=RedactResponse, response_model_exclude_none=True)
def redact(body: RedactRequest, principal: Collector, runtime: RuntimeDep) -> RedactResponse:
    key = operator_key(runtime.keys, principal.organization_id, body.operator)
    results = []
    for text in body.texts:
        done = detect.redact(text, body.operator, key=key, entities=body.entities)
        wanted = body.entities
        findings = [f for f in done.findings if wanted is None or f.type in wanted]
        results.append(RedactResult(text=done.text, findings=_out(findings)))
    return RedactResponse(results=results)


@router.post("/reveal", response_model=RevealResponse)
def reveal(
    body: RevealRequest, principal: Revealer, runtime: RuntimeDep, session: SessionDep
) -> RevealResponse:
    """Values encrypted by `redact` with operator `encrypt`, back in clear (privacy officer)."""
    key = operator_key(runtime.keys, principal.organization_id, "encrypt")
    assert key is not None
    try:
        texts = [detect.reveal(text, key) for text in body.texts]
    except detect.OperatorError as exc:
        raise Problem(422, "Cannot reveal", str(exc)) from None
    audit.append(
        session,
        principal.organization_id,
        principal.actor,
        "detect.reveal",
        "text",
        "",
        {"texts": len(body.texts)},
    )
    return RevealResponse(texts=texts)
