"""Disclosure API: the guard, the ledger, and its reports."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import Offset, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.disclosures.export import export
from honorbound.disclosures.guard import DisclosureCheck, check_disclosure
from honorbound.disclosures.ledger import list_disclosures, record_disclosure
from honorbound.disclosures.models import Basis, Disclosure
from honorbound.disclosures.reports import legal_process_log, shine_the_light, who_received
from honorbound.policy import store
from honorbound.policy.store import AdoptedPolicy

router = APIRouter(prefix="/v1/disclosures", tags=["disclosures"])
Manager = Annotated[Principal, Depends(require("disclosures.manage"))]
Reader = Annotated[Principal, Depends(require("reports.read"))]
SubjectQuery = Annotated[int, Query(ge=1, le=2_147_483_647)]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _policy(session: object, organization_id: int) -> AdoptedPolicy:
    adopted = store.current(session, organization_id)  # type: ignore[arg-type]
    if adopted is None:
        raise Problem(
            409, "Conflict", "This organization has adopted no declaration; adopt one first."
        )
    return adopted


class CheckIn(_Body):
    recipient: Key | None = Field(
        default=None,
        description="A declared recipient id; omit it to ask about the organization's own use "
        "of the data for `purpose`.",
    )
    categories: list[Key] = Field(min_length=1, max_length=100)
    purpose: Key
    basis: Basis | None = None
    subject_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(max_length=10_000)


class ReasonOut(BaseModel):
    code: str
    message: str
    subject_id: int | None
    category: str | None
    record_id: int | None = None


class CheckOut(BaseModel):
    recipient: str | None
    basis: Basis | None
    blocked: bool
    allowed: dict[int, list[str]]
    reasons: list[ReasonOut]


def _check_out(recipient: str | None, check: DisclosureCheck) -> CheckOut:
    return CheckOut(
        recipient=recipient,
        basis=check.basis,
        blocked=check.blocked,
        allowed=check.allowed,
        reasons=[
            ReasonOut(
                code=r.code.value,
                message=r.message,
                subject_id=r.subject_id,
                category=r.category,
                record_id=r.record_id,
            )
            for r in check.reasons
        ],
    )


@router.post("/check", response_model=CheckOut)
def check(body: CheckIn, principal: Manager, session: SessionDep, runtime: RuntimeDep) -> CheckOut:
    """Ask the guard without disclosing anything: who and what may go (or, without a
    recipient, be used by the organization itself for the purpose), and why not."""
    adopted = _policy(session, principal.organization_id)
    result = check_disclosure(
        session,
        runtime.vault_keys,
        runtime.rules,
        principal.organization_id,
        adopted,
        body.subject_ids,
        body.recipient,
        body.categories,
        body.purpose,
        body.basis,
    )
    return _check_out(body.recipient, result)


class DisclosureIn(_Body):
    recipient: Key
    categories: list[Key] = Field(min_length=1, max_length=100)
    purpose: Key
    basis: Basis | None = None
    subject_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = Field(
        default=None, max_length=10_000
    )
    aggregate_count: int | None = Field(default=None, ge=0)
    legal_reference: str | None = Field(default=None, max_length=200)
    disclosed_at: dt.datetime | None = None


class DisclosureOut(BaseModel):
    id: int
    recipient_id: str
    recipient_name: str
    categories: list[str]
    purpose: str
    basis: str
    legal_reference: str | None
    subject_count: int
    aggregate: bool
    initiator: str
    channel: str
    disclosed_at: dt.datetime


def _out(d: Disclosure) -> DisclosureOut:
    return DisclosureOut(
        id=d.id,
        recipient_id=d.recipient_id,
        recipient_name=d.recipient_name,
        categories=d.categories,
        purpose=d.purpose,
        basis=d.basis,
        legal_reference=d.legal_reference,
        subject_count=d.subject_count,
        aggregate=d.aggregate,
        initiator=d.initiator,
        channel=d.channel,
        disclosed_at=d.disclosed_at,
    )


class RecordedOut(BaseModel):
    disclosure: DisclosureOut | None
    check: CheckOut


@router.post("", response_model=RecordedOut, status_code=201)
def record(
    body: DisclosureIn, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> RecordedOut:
    """Record a disclosure made outside an export (answering a subpoena, an aggregate report).
    The guard runs first: only allowed subjects and categories are recorded as disclosed;
    a refusal of the whole disclosure is a 422 listing the reasons, and nothing is recorded."""
    if (body.subject_ids is None) == (body.aggregate_count is None):
        raise Problem(
            422,
            "Invalid request",
            "Give either subject_ids or aggregate_count.",
            errors=[
                {
                    "field": "body.subject_ids",
                    "message": "give either subject_ids or aggregate_count",
                }
            ],
        )
    adopted = _policy(session, principal.organization_id)
    result = check_disclosure(
        session,
        runtime.vault_keys,
        runtime.rules,
        principal.organization_id,
        adopted,
        body.subject_ids or [],
        body.recipient,
        body.categories,
        body.purpose,
        body.basis,
    )
    out = _check_out(body.recipient, result)
    if result.blocked or result.recipient is None or result.basis is None:
        raise Problem(
            422,
            "Disclosure refused",
            "; ".join(r.message for r in result.reasons),
            errors=[{"field": "body.recipient", "message": r.message} for r in result.reasons],
            extra={"reasons": [r.model_dump() for r in out.reasons]},
        )
    usable = [
        c
        for c in body.categories
        if not any(r.category == c and r.subject_id is None for r in result.reasons)
    ]
    if not usable or (body.subject_ids is not None and not result.allowed):
        raise Problem(
            422,
            "Disclosure refused",
            "The guard allows nothing of this disclosure.",
            errors=[{"field": "body.categories", "message": r.message} for r in result.reasons],
            extra={"reasons": [r.model_dump() for r in out.reasons]},
        )
    entry = record_disclosure(
        session,
        principal.organization_id,
        principal.actor,
        recipient=result.recipient,
        categories=usable,
        purpose=body.purpose,
        basis=result.basis,
        subjects=result.allowed if body.subject_ids is not None else None,
        aggregate_count=body.aggregate_count,
        legal_reference=body.legal_reference,
        channel="api",
        policy_version_id=adopted.version_id,
        disclosed_at=body.disclosed_at,
    )
    return RecordedOut(disclosure=_out(entry), check=out)


@router.get("", response_model=list[DisclosureOut])
def ledger(
    principal: Reader,
    session: SessionDep,
    basis: Basis | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[DisclosureOut]:
    return [
        _out(d)
        for d in list_disclosures(
            session,
            principal.organization_id,
            basis=basis,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    ]


class ReceivedOut(BaseModel):
    disclosure_id: int
    recipient_id: str
    recipient_name: str
    recipient_type: str
    categories: list[str]
    purpose: str
    basis: str
    disclosed_at: dt.datetime


@router.get("/received", response_model=list[ReceivedOut])
def received(subject_id: SubjectQuery, principal: Reader, session: SessionDep) -> list[ReceivedOut]:
    """Who received this person's data (the list access packages include)."""
    return [
        ReceivedOut(**vars(r)) for r in who_received(session, principal.organization_id, subject_id)
    ]


class StlRecipientOut(BaseModel):
    name: str
    address: str | None
    categories: list[str]


class ShineTheLightOut(BaseModel):
    year: int
    recipients: list[StlRecipientOut]
    categories: list[str]
    note: str


@router.get("/shine-the-light", response_model=ShineTheLightOut)
def shine(
    subject_id: SubjectQuery,
    principal: Reader,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> ShineTheLightOut:
    """California Shine the Light: one person's direct-marketing disclosures of a year."""
    adopted = _policy(session, principal.organization_id)
    report = shine_the_light(
        session, principal.organization_id, subject_id, adopted.declaration, year
    )
    return ShineTheLightOut(
        year=report.year,
        recipients=[
            StlRecipientOut(name=r.name, address=r.address, categories=r.categories)
            for r in report.recipients
        ],
        categories=report.categories,
        note=report.note,
    )


@router.get("/legal-process", response_model=list[DisclosureOut])
def legal_process(
    principal: Reader,
    session: SessionDep,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[DisclosureOut]:
    """Disclosures under legal process, with their references, for the privacy officer."""
    return [_out(d) for d in legal_process_log(session, principal.organization_id, since, until)]


class ExportIn(_Body):
    recipient: Key
    categories: list[Key] = Field(min_length=1, max_length=100)
    purpose: Key
    basis: Basis | None = None
    subject_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = Field(
        default=None, max_length=10_000
    )
    legal_reference: str | None = Field(default=None, max_length=200)


@router.post("/exports", response_class=PlainTextResponse)
def export_file(
    body: ExportIn, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> PlainTextResponse:
    """The same export as `honorbound export`, answered as the JSON Lines file itself (one
    subject a line, only what the guard allows) and recorded in the ledger: the disclosure id
    is in `X-Disclosure-Id`, the file's SHA-256 in `X-Content-SHA256`. A refusal of everything
    is a 422 listing the reasons; nothing is recorded then."""
    adopted = _policy(session, principal.organization_id)
    with tempfile.TemporaryDirectory(prefix="honorbound-export-") as tmp:
        target = Path(tmp) / "export.jsonl"
        # DisclosureRefused carries the errors and the guard's `reasons`: the handler answers.
        result = export(
            session,
            runtime.vault_keys,
            runtime.rules,
            principal.organization_id,
            adopted,
            recipient=body.recipient,
            categories=body.categories,
            purpose=body.purpose,
            out=target,
            actor=principal.actor,
            basis=body.basis,
            legal_reference=body.legal_reference,
            subject_ids=body.subject_ids,
        )
        text = target.read_text(encoding="utf-8")
    return PlainTextResponse(
        text,
        media_type="application/x-ndjson",
        headers={
            "X-Disclosure-Id": str(result.disclosure_id or ""),
            "X-Content-SHA256": result.sha256,
        },
    )
