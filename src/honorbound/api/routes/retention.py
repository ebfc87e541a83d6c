"""Retention API: what is due, sweeps, legal holds, disposal log and certificates, withdrawals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from honorbound.accounts.service import Principal
from honorbound.api.deps import Offset, RowId, RuntimeDep, SessionDep, require
from honorbound.retention import holds as hold_service
from honorbound.retention.certificates import document, public_key_pem
from honorbound.retention.due import forecast
from honorbound.retention.models import LegalHold, RetentionRun
from honorbound.retention.sweep import SWEEP_JOB, disposals
from honorbound.retention.withdrawals import SOURCES, record_withdrawal

router = APIRouter(prefix="/v1/retention", tags=["retention"])
Manager = Annotated[Principal, Depends(require("retention.manage"))]
Reader = Annotated[Principal, Depends(require("reports.read"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepOut(BaseModel):
    rule: str
    trigger: str
    action: str
    categories: list[str]
    subject_types: list[str] | None
    records: int
    subjects: int
    oldest: dt.datetime | None
    held_back: int


class NotEnforcedOut(BaseModel):
    rule: str
    trigger: str
    reason: str


class ForecastOut(BaseModel):
    as_of: dt.datetime
    policy_version_id: int
    records: int
    steps: list[StepOut]
    not_enforced: list[NotEnforcedOut]


@router.get("/due", response_model=ForecastOut)
def due(principal: Reader, session: SessionDep) -> ForecastOut:
    """A dry run: per rule, what a sweep would dispose of now and what holds keep back."""
    result = forecast(session, principal.organization_id)
    return ForecastOut(
        as_of=result.as_of,
        policy_version_id=result.policy_version_id,
        records=result.records,
        steps=[
            StepOut(
                rule=s.rule_id,
                trigger=s.trigger,
                action=s.action,
                categories=s.categories,
                subject_types=s.subject_types,
                records=s.records,
                subjects=s.subjects,
                oldest=s.oldest,
                held_back=s.held_back,
            )
            for s in result.steps
        ],
        not_enforced=[
            NotEnforcedOut(rule=n.rule_id, trigger=n.trigger, reason=n.reason)
            for n in result.not_enforced
        ],
    )


class QueuedOut(BaseModel):
    job_id: int
    status: Literal["queued"] = "queued"


@router.post("/sweep", response_model=QueuedOut, status_code=202)
def queue_sweep(principal: Manager, session: SessionDep, runtime: RuntimeDep) -> QueuedOut:
    """Queue a sweep of this organization now (the daily job does the same)."""
    job = runtime.jobs.enqueue(
        session,
        SWEEP_JOB,
        {"organization_id": principal.organization_id},
        principal.organization_id,
    )
    return QueuedOut(job_id=job.id)


class RunOut(BaseModel):
    id: int
    status: str
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    resumed: int
    batches: int
    records: int
    subjects: int
    summary: dict[str, Any]


@router.get("/runs", response_model=list[RunOut])
def runs(
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunOut]:
    rows = session.scalars(
        select(RetentionRun)
        .where(RetentionRun.organization_id == principal.organization_id)
        .order_by(RetentionRun.id.desc())
        .limit(limit)
    )
    return [
        RunOut(
            id=r.id,
            status=r.status,
            as_of=r.as_of,
            started_at=r.started_at,
            finished_at=r.finished_at,
            resumed=r.resumed,
            batches=r.batches,
            records=r.records,
            subjects=r.subjects,
            summary=r.summary,
        )
        for r in rows
    ]


class DisposalOut(BaseModel):
    id: int
    run_id: int
    batch: int
    rule: str
    trigger: str
    action: str
    records: int
    subjects: int
    categories: dict[str, int]
    range_start: dt.datetime | None
    range_end: dt.datetime | None
    hold_exclusions: dict[str, Any]
    disposed_at: dt.datetime
    certificate: dict[str, Any]


@router.get("/disposals", response_model=list[DisposalOut])
def disposal_log(
    principal: Reader,
    session: SessionDep,
    run_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[DisposalOut]:
    """The disposal log; each entry carries its signed certificate (verify it offline with
    `honorbound retention verify-certificate` and the public key)."""
    return [
        DisposalOut(
            id=e.id,
            run_id=e.run_id,
            batch=e.batch,
            rule=e.rule_id,
            trigger=e.trigger,
            action=e.action,
            records=e.records,
            subjects=e.subjects,
            categories=e.categories,
            range_start=e.range_start,
            range_end=e.range_end,
            hold_exclusions=e.hold_exclusions,
            disposed_at=e.disposed_at,
            certificate=document(e.certificate, e.signature),
        )
        for e in disposals(session, principal.organization_id, run_id, limit, offset)
    ]


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(principal: Reader, runtime: RuntimeDep) -> str:
    """The organization's Ed25519 public key (PEM) that verifies its disposal certificates."""
    return public_key_pem(runtime.keys, principal.organization_id)


class HoldIn(_Body):
    reason: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200)
    subject_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    category: str | None = Field(default=None, max_length=200)
    collected_from: dt.datetime | None = None
    collected_to: dt.datetime | None = None


class HoldOut(BaseModel):
    id: int
    subject_id: int | None
    category: str | None
    collected_from: dt.datetime | None
    collected_to: dt.datetime | None
    reason: str
    owner: str
    placed_by: str
    placed_at: dt.datetime
    released_at: dt.datetime | None
    release_reason: str | None


def _hold(h: LegalHold) -> HoldOut:
    return HoldOut(
        id=h.id,
        subject_id=h.subject_id,
        category=h.category,
        collected_from=h.collected_from,
        collected_to=h.collected_to,
        reason=h.reason,
        owner=h.owner,
        placed_by=h.placed_by,
        placed_at=h.placed_at,
        released_at=h.released_at,
        release_reason=h.release_reason,
    )


@router.get("/holds", response_model=list[HoldOut])
def list_holds(
    principal: Reader, session: SessionDep, include_released: bool = False
) -> list[HoldOut]:
    return [
        _hold(h)
        for h in hold_service.list_holds(session, principal.organization_id, include_released)
    ]


@router.post("/holds", response_model=HoldOut, status_code=201)
def place_hold(body: HoldIn, principal: Manager, session: SessionDep) -> HoldOut:
    """Place a legal hold. Each given field narrows it; none given holds the organization."""
    hold = hold_service.place_hold(
        session, principal.organization_id, principal.actor, **body.model_dump()
    )
    return _hold(hold)


class ReleaseIn(_Body):
    # Checked by the domain (after the hold is found, so another organization's id is a 404).
    reason: str = Field(default="", max_length=500)


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(
    hold_id: RowId, body: ReleaseIn, principal: Manager, session: SessionDep
) -> HoldOut:
    """Release a hold: what it covered is due again at the next sweep."""
    hold = hold_service.release_hold(
        session, principal.organization_id, hold_id, principal.actor, body.reason
    )
    return _hold(hold)


class WithdrawalIn(_Body):
    subject_id: int = Field(ge=1, le=2_147_483_647)
    source: Literal[SOURCES] = "api"  # type: ignore[valid-type]
    asked_at: dt.datetime | None = None


class WithdrawalOut(BaseModel):
    subject_id: int
    asked_at: dt.datetime
    source: str
    created: bool


@router.post("/withdrawals", response_model=WithdrawalOut, status_code=201)
def withdraw(body: WithdrawalIn, principal: Manager, session: SessionDep) -> WithdrawalOut:
    """Record that a subject asked not to be kept longer than needed (an applicant who does not
    want to be considered for future openings)."""
    row, created = record_withdrawal(
        session,
        principal.organization_id,
        body.subject_id,
        principal.actor,
        body.source,
        body.asked_at,
    )
    return WithdrawalOut(
        subject_id=row.subject_id, asked_at=row.asked_at, source=row.source, created=created
    )
