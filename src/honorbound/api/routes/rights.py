"""Rights requests over HTTP: staff under `/v1/requests`, the consumer portal under
`/v1/public/orgs/{org_slug}/requests`. Thin: parse, call one `honorbound.rights` function, render.

The public intake answers the same sentence whether or not the email or phone is known; the
rest reaches the consumer by mail. Tokens travel in the query string of the emailed links
(GET previews, POST acts) and are never logged (the access log records route templates).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response as HttpResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.roles import Role
from honorbound.accounts.service import Principal
from honorbound.api.deps import (
    Offset,
    PublicOrg,
    PublicReadOrg,
    RowId,
    RuntimeDep,
    SessionDep,
    client_address,
    limit_identity,
    require,
)
from honorbound.api.problems import Problem
from honorbound.rights import closing, execution, limits, metrics, queries, verification
from honorbound.rights.context import Services
from honorbound.rights.downloads import download
from honorbound.rights.intake import Correction, NewRequest, take_request
from honorbound.rights.jobs import services
from honorbound.rights.models import (
    DenialBasis,
    Manner,
    RequestEvent,
    RequestType,
    RightsRequest,
)
from honorbound.rights.timeline import CONSUMER, events

router = APIRouter(tags=["rights requests"])
Intaker = Annotated[Principal, Depends(require("rights.intake"))]
Reader = Annotated[Principal, Depends(require("rights.read"))]
Manager = Annotated[Principal, Depends(require("rights.manage"))]
Reporter = Annotated[Principal, Depends(require("reports.read"))]
Token = Annotated[str, Query(min_length=3, max_length=200)]

ACCEPTED = (
    "Thank you. If the details match our records or not, we handle every request the same way: "
    "check your email (or phone) for the next step and the date to expect an answer."
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CorrectionIn(_In):
    category: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=5000)


class AgentIn(_In):
    name: str = Field(min_length=1, max_length=200)
    permission_document: str = Field(
        min_length=4, max_length=2_000_000, description="The consumer's signed permission, base64."
    )


class PublicRequestIn(_In):
    type: RequestType
    jurisdiction: str = Field(min_length=2, max_length=2, description="US state, e.g. CA")
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    corrections: list[CorrectionIn] = Field(default_factory=list, max_length=50)
    agent: AgentIn | None = None
    period: Literal["12_months", "all"] | None = Field(
        default=None,
        description="Access and portability: the 12 months before the request or all data "
        "held (default from the rules: 12_months in CA, all elsewhere).",
    )


class StaffRequestIn(PublicRequestIn):
    manner: Manner
    received_at: AwareDatetime | None = None


class Accepted(BaseModel):
    message: str


class RequestOut(BaseModel):
    id: int
    reference: str
    type: str
    status: str
    manner: str
    jurisdiction: str
    subject_id: int | None
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledge_by: dt.datetime
    due_at: dt.datetime
    extended_at: dt.datetime | None
    extension_reason: str | None
    verified_at: dt.datetime | None
    verification_points: int
    declaration_on_file: bool
    agent_permission_sha256: str | None
    closed_at: dt.datetime | None
    response: str | None
    denial_basis: str | None
    response_note: str | None
    merged_count: int
    appeal_of_id: int | None
    period: str | None = Field(description="Period the access package covers.")
    excess_request: int | None = Field(
        description="Set when the request is beyond the state's free requests in the window: "
        "its count (staff may deny it with basis 'excessive')."
    )


class CreatedOut(RequestOut):
    merged: bool


class EventOut(BaseModel):
    at: dt.datetime
    kind: str
    actor: str
    details: dict[str, object]


class RequestDetail(RequestOut):
    events: list[EventOut]


class DataPointsIn(_In):
    phone: str | None = Field(default=None, max_length=40)
    account_id: str | None = Field(default=None, max_length=200)
    external_id: str | None = Field(default=None, max_length=200)
    birth_date: dt.date | None = None


class DeclarationIn(_In):
    typed_name: str = Field(max_length=200)
    agreed: bool


class VerifyIn(_In):
    token: str | None = Field(default=None, min_length=3, max_length=200)
    reference: str | None = Field(default=None, min_length=3, max_length=24)
    code: str | None = Field(default=None, min_length=6, max_length=6, pattern=r"^\d{6}$")
    data_points: DataPointsIn = Field(default_factory=DataPointsIn)
    declaration: DeclarationIn | None = None


class VerifyOut(BaseModel):
    reference: str
    verified: bool
    matched: int
    data_points_needed: int
    declaration_needed: bool
    status: str


class PreviewOut(BaseModel):
    reference: str
    type: str
    due_at: dt.datetime
    data_points_needed: int
    declaration_needed: bool
    verified: bool


class StatusOut(BaseModel):
    reference: str
    type: str
    status: str
    received_at: dt.datetime
    due_at: dt.datetime


# Bodies of the staff actions validate their fields in the domain (after the request is found),
# so another organization's id is a 404 whatever the body holds.
class ReasonIn(_In):
    reason: str = Field(default="", max_length=2000)


class ManualVerifyIn(_In):
    level: int | None = Field(
        default=None, ge=0, le=10, description="How many data points staff matched."
    )
    note: str = Field(default="", max_length=2000, description="How the person was verified.")
    declaration: bool = Field(
        default=False, description="A signed declaration was received (where the type needs it)."
    )


class DenyIn(_In):
    basis: DenialBasis | None = None
    explanation: str = Field(default="", max_length=5000)


class AppealIn(_In):
    token: str = Field(min_length=3, max_length=200)
    reason: str = Field(min_length=1, max_length=5000)


class AppealDecisionIn(_In):
    outcome: Literal["granted", "denied"] | None = None
    explanation: str = Field(default="", max_length=5000)


class MetricsRow(BaseModel):
    request_type: str
    received: int
    complied_in_whole_or_part: int
    denied: int
    denied_unverifiable: int
    denied_not_a_consumer: int
    denied_exempt: int
    denied_other: int
    median_days: str
    mean_days: str


# -- helpers -----------------------------------------------------------------------------------
def _svc(runtime: RuntimeDep) -> Services:
    return services(runtime)


SvcDep = Annotated[Services, Depends(_svc)]


def _new(body: PublicRequestIn, manner: Manner, received_at: dt.datetime | None) -> NewRequest:
    permission = None
    if body.agent is not None:
        try:
            permission = base64.b64decode(body.agent.permission_document, validate=True)
        except (binascii.Error, ValueError):
            raise Problem(
                422,
                "Invalid request",
                "agent.permission_document must be base64",
                errors=[{"field": "body.agent.permission_document", "message": "not base64"}],
            ) from None
    if body.agent is not None:
        manner = Manner.AUTHORIZED_AGENT
    return NewRequest(
        type=body.type,
        jurisdiction=body.jurisdiction,
        manner=manner,
        email=body.email,
        phone=body.phone,
        corrections=tuple(Correction(c.category, c.value) for c in body.corrections),
        agent_name=body.agent.name if body.agent else None,
        agent_permission=permission,
        received_at=received_at,
        period=body.period,
    )


def _out(
    request: RightsRequest, session: Session, found: limits.Marks | None = None
) -> dict[str, object]:
    if found is None:
        found = limits.marks(session, [request.id]).get(request.id, limits.Marks())
    return {
        "id": request.id,
        "reference": request.reference,
        "type": request.type,
        "status": request.status,
        "manner": request.manner,
        "jurisdiction": request.jurisdiction,
        "subject_id": request.subject_id,
        "received_at": request.received_at,
        "acknowledged_at": request.acknowledged_at,
        "acknowledge_by": request.acknowledge_by,
        "due_at": request.due_at,
        "extended_at": request.extended_at,
        "extension_reason": request.extension_reason,
        "verified_at": request.verified_at,
        "verification_points": request.verification_points,
        "declaration_on_file": request.declaration_at is not None,
        "agent_permission_sha256": request.agent_permission_sha256,
        "closed_at": request.closed_at,
        "response": request.response,
        "denial_basis": request.denial_basis,
        "response_note": request.response_note,
        "merged_count": request.merged_count,
        "appeal_of_id": request.appeal_of_id,
        "period": found.period,
        "excess_request": found.excess_request,
    }


def _event(e: RequestEvent) -> EventOut:
    return EventOut(at=e.at, kind=e.kind, actor=e.actor, details=dict(e.details))


# -- staff -------------------------------------------------------------------------------------
@router.post("/v1/requests", response_model=CreatedOut, status_code=201)
def create_request(
    body: StaffRequestIn, principal: Intaker, session: SessionDep, svc: SvcDep
) -> CreatedOut:
    """Log a request taken by phone, mail or in person, from an authorized agent, or sent by
    a controller's system (role `client`)."""
    manner = Manner.CONTROLLER if principal.role is Role.CLIENT else body.manner
    result = take_request(
        session,
        svc,
        principal.organization_id,
        _new(body, manner, body.received_at),
        principal.actor,
    )
    return CreatedOut(**_out(result.request, session), merged=result.merged)  # type: ignore[arg-type]


@router.get("/v1/requests", response_model=list[RequestOut])
def list_requests(
    principal: Reader,
    session: SessionDep,
    state: Annotated[Literal["open", "all"], Query(alias="status")] = "open",
    type_: Annotated[RequestType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[RequestOut]:
    """Requests by due date, soonest first (open ones unless `status=all`)."""
    rows = queries.list_requests(
        session,
        principal.organization_id,
        open_only=state == "open",
        request_type=type_.value if type_ else None,
        limit=limit,
        offset=offset,
    )
    found = limits.marks(session, [r.id for r in rows])
    return [RequestOut(**_out(r, session, found.get(r.id, limits.Marks()))) for r in rows]  # type: ignore[arg-type]


@router.get("/v1/requests/metrics", response_model=list[MetricsRow])
def request_metrics(
    principal: Reporter,
    session: SessionDep,
    svc: SvcDep,
    year: Annotated[int, Query(ge=2020, le=2100)],
) -> list[MetricsRow]:
    """The CA 7102 table for one calendar year (requests received that year)."""
    rows = metrics.compute(
        session,
        principal.organization_id,
        year,
        svc.rules,
        list(svc.laws.california.metrics.request_types),
    )
    return [MetricsRow(**r.as_dict()) for r in rows]  # type: ignore[arg-type]


@router.get("/v1/requests/{request_id}", response_model=RequestDetail)
def get_request(request_id: RowId, principal: Reader, session: SessionDep) -> RequestDetail:
    request = closing.get_request(session, principal.organization_id, request_id)
    timeline = [_event(e) for e in events(session, request)]
    return RequestDetail(**_out(request, session), events=timeline)  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/extend", response_model=RequestOut)
def extend_request(
    request_id: RowId, body: ReasonIn, principal: Manager, session: SessionDep, svc: SvcDep
) -> RequestOut:
    """The one extension (+45 days in most states), with the reason the consumer is told."""
    request = execution.extend(
        session, svc, principal.organization_id, request_id, body.reason, principal.actor
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/hold", response_model=RequestOut)
def hold_request(
    request_id: RowId, body: ReasonIn, principal: Manager, session: SessionDep, svc: SvcDep
) -> RequestOut:
    """Fraud suspicion: nothing is carried out until the request is released or denied."""
    request = execution.hold(
        session, svc, principal.organization_id, request_id, body.reason, principal.actor
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/verify", response_model=RequestOut)
def verify_request_manually(
    request_id: RowId, body: ManualVerifyIn, principal: Manager, session: SessionDep, svc: SvcDep
) -> RequestOut:
    """Staff verified the consumer another way (e.g. a call back to the number on file): marks
    the request verified at `level` data points, with the note kept sealed, and carries it out
    (unless it is held). Closed or already verified requests are refused (409)."""
    request = verification.verify_manually(
        session,
        svc,
        principal.organization_id,
        request_id,
        principal.actor,
        body.level,
        body.note,
        body.declaration,
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/release", response_model=RequestOut)
def release_request(
    request_id: RowId, principal: Manager, session: SessionDep, svc: SvcDep
) -> RequestOut:
    request = execution.release(
        session, svc, principal.organization_id, request_id, principal.actor
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/deny", response_model=RequestOut)
def deny_request(
    request_id: RowId, body: DenyIn, principal: Manager, session: SessionDep, svc: SvcDep
) -> RequestOut:
    request = execution.deny(
        session,
        svc,
        principal.organization_id,
        request_id,
        body.basis,
        body.explanation,
        principal.actor,
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


class AnswerIn(_In):
    # Checked by the domain (after the request is found): "" gets a 422 naming body.text.
    text: str = Field(default="", max_length=20000)


@router.post("/v1/requests/{request_id}/answer", response_model=RequestOut)
def answer_request(
    request_id: RowId,
    body: AnswerIn,
    principal: Manager,
    session: SessionDep,
    svc: SvcDep,
) -> RequestOut:
    """The written answer to a verified request the privacy team answers itself (request types
    with `executes: staff_answer`, such as `access_admt`); mailed to the consumer. 409 for other
    types or an unverified request."""
    request = execution.answer(
        session, svc, principal.organization_id, request_id, body.text, principal.actor
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


@router.post("/v1/requests/{request_id}/appeal-decision", response_model=RequestOut)
def decide_appeal(
    request_id: RowId,
    body: AppealDecisionIn,
    principal: Manager,
    session: SessionDep,
    svc: SvcDep,
) -> RequestOut:
    request = execution.decide_appeal(
        session,
        svc,
        principal.organization_id,
        request_id,
        None if body.outcome is None else body.outcome == "granted",
        body.explanation,
        principal.actor,
    )
    return RequestOut(**_out(request, session))  # type: ignore[arg-type]


# -- the consumer portal -----------------------------------------------------------------------
PUBLIC = "/v1/public/orgs/{org_slug}/requests"


@router.post(PUBLIC, response_model=Accepted, status_code=202)
def public_intake(
    org_id: PublicOrg,
    body: PublicRequestIn,
    runtime: RuntimeDep,
    session: SessionDep,
    svc: SvcDep,
) -> Accepted:
    """A consumer's request. Limited per client address and per person asked about (the
    same limits as the portal's form): nobody can have a flood of emails sent to someone."""
    limit_identity(runtime, org_id, body.email or body.phone)
    take_request(session, svc, org_id, _new(body, Manner.PORTAL, None), CONSUMER)
    return Accepted(message=ACCEPTED)


@router.get(PUBLIC + "/verify", response_model=PreviewOut)
def public_verify_preview(
    org_id: PublicOrg, token: Token, request: Request, session: SessionDep, svc: SvcDep
) -> PreviewOut:
    """What the emailed link shows: how many details to confirm, whether to sign."""
    outcome = verification.preview(session, svc, org_id, token, client_address(request))
    return PreviewOut(
        reference=outcome.request.reference,
        type=outcome.request.type,
        due_at=outcome.request.due_at,
        data_points_needed=outcome.requirement.data_points,
        declaration_needed=outcome.requirement.declaration,
        verified=outcome.verified,
    )


@router.post(PUBLIC + "/verify", response_model=VerifyOut)
def public_verify(
    org_id: PublicOrg, body: VerifyIn, request: Request, session: SessionDep, svc: SvcDep
) -> VerifyOut:
    points = verification.DataPoints(
        phone=body.data_points.phone,
        account_id=body.data_points.account_id,
        external_id=body.data_points.external_id,
        birth_date=body.data_points.birth_date,
    )
    declaration = (
        verification.SignedDeclaration(body.declaration.typed_name, body.declaration.agreed)
        if body.declaration
        else None
    )
    outcome = verification.verify(
        session,
        svc,
        org_id,
        points,
        declaration,
        token=body.token,
        reference=body.reference,
        code=body.code,
        client=client_address(request),
    )
    return VerifyOut(
        reference=outcome.request.reference,
        verified=outcome.verified,
        matched=outcome.matched,
        data_points_needed=outcome.requirement.data_points,
        declaration_needed=outcome.requirement.declaration,
        status=outcome.request.status,
    )


@router.get(PUBLIC + "/status", response_model=StatusOut)
def public_status(
    org_id: PublicReadOrg,
    reference: Annotated[str, Query(min_length=3, max_length=24)],
    session: SessionDep,
) -> StatusOut:
    request = session.scalar(
        select(RightsRequest).where(
            RightsRequest.organization_id == org_id,
            RightsRequest.reference == reference.strip().upper(),
        )
    )
    if request is None:
        raise Problem(404, "Not found", "No request with that reference.")
    return StatusOut(
        reference=request.reference,
        type=request.type,
        status=request.status,
        received_at=request.received_at,
        due_at=request.due_at,
    )


@router.get(PUBLIC + "/download", response_class=HttpResponse)
def public_download(
    org_id: PublicOrg, token: Token, request: Request, session: SessionDep, svc: SvcDep
) -> HttpResponse:
    """The access package (ZIP). The link expires; every download is recorded."""
    found, package = download(session, svc, org_id, token, client_address(request))
    return HttpResponse(
        package.content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{found.reference}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.post(PUBLIC + "/appeal", response_model=Accepted, status_code=202)
def public_appeal(
    org_id: PublicOrg, body: AppealIn, request: Request, session: SessionDep, svc: SvcDep
) -> Accepted:
    execution.file_appeal(
        session, svc, org_id, body.token, body.reason, client=client_address(request)
    )
    return Accepted(message="We received your appeal; we sent you a confirmation by email.")
