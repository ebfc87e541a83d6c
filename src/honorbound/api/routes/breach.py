"""Breach response API: the incident, its affected people, deadlines, notices and report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.accounts.service import Principal
from honorbound.api.deps import RowId, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.breach import (
    contacts,
    incidents,
    letters,
    notices,
    report,
    selection,
    submissions,
)
from honorbound.breach.confirmation import Check
from honorbound.breach.deadlines import Obligation, incident_plan
from honorbound.breach.models import Incident, IncidentStatus, Notice

router = APIRouter(prefix="/v1/breach", tags=["breach"])
Manager = Annotated[Principal, Depends(require("breach.manage"))]
Reader = Annotated[Principal, Depends(require("reports.read"))]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Names = list[Name]


def _org_name(session: Session, organization_id: int) -> str:
    org = session.get(Organization, organization_id)
    return org.name if org else ""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentIn(_Body):
    title: Name
    description: str = Field(default="", max_length=20_000)
    discovered_at: dt.datetime = Field(description="When the incident was discovered (required).")
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None
    systems: Names = Field(default_factory=list, max_length=200)
    categories: Names = Field(default_factory=list, max_length=200)
    clients: Names = Field(default_factory=list, max_length=200, description="For a BPO.")
    encrypted: bool = False
    key_compromised: bool = False
    health_data_covered: bool = Field(
        default=False, description="The organization is a HIPAA covered entity or BA."
    )
    owner: Name
    contact: str = Field(default="", max_length=500)
    status: IncidentStatus = IncidentStatus.OPEN


class IncidentPatch(_Body):
    title: Name | None = None
    description: str | None = Field(default=None, max_length=20_000)
    discovered_at: dt.datetime | None = None
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None
    systems: Names | None = Field(default=None, max_length=200)
    categories: Names | None = Field(default=None, max_length=200)
    clients: Names | None = Field(default=None, max_length=200)
    encrypted: bool | None = None
    key_compromised: bool | None = None
    health_data_covered: bool | None = None
    owner: Name | None = None
    contact: str | None = Field(default=None, max_length=500)
    status: IncidentStatus | None = None


class ObligationOut(BaseModel):
    audience: str
    state: str
    who: str
    required: bool
    due_at: dt.datetime | None
    rule: str
    reason: str
    source: str
    status: Literal["confirmed", "unverified"]
    confidence: str  # `confirmed (reference section)` or `unverified: ... confirm with counsel`
    residents: int


def _obligation(o: Obligation) -> ObligationOut:
    return ObligationOut(
        audience=o.audience, state=o.state, who=o.who, required=o.required, due_at=o.due_at,
        rule=o.rule, reason=o.reason, source=o.source,
        status="confirmed" if o.confirmed else "unverified", confidence=o.confidence,
        residents=o.residents,
    )  # fmt: skip


class CheckOut(BaseModel):
    kind: str  # deadline | notice_content | contact | form
    state: str
    item: str
    status: Literal["confirmed", "unverified"]
    confidence: str
    source: str
    details: str  # a contact's address, phone and website as the rules hold them (staff only)


def _check(c: Check) -> CheckOut:
    return CheckOut(
        kind=c.kind, state=c.state, item=c.item,
        status="confirmed" if c.confirmed else "unverified", confidence=c.status,
        source=c.source, details=c.details,
    )  # fmt: skip


class IncidentOut(BaseModel):
    id: int
    title: str
    description: str
    discovered_at: dt.datetime
    occurred_from: dt.datetime | None
    occurred_to: dt.datetime | None
    systems: list[str]
    categories: list[str]
    clients: list[str]
    encrypted: bool
    key_compromised: bool
    health_data_covered: bool
    status: str
    owner: str
    contact: str
    selection: dict[str, Any]
    selected_at: dt.datetime | None
    affected: int
    by_state: dict[str, int]
    next_deadline: ObligationOut | None


def _incident(session: Session, runtime: Any, i: Incident) -> IncidentOut:
    by_state = selection.counts_by_state(session, i.id)
    nxt = incident_plan(session, runtime.rule_book, i, by_state)[1].next_due()
    return IncidentOut(
        id=i.id, title=i.title, description=i.description, discovered_at=i.discovered_at,
        occurred_from=i.occurred_from, occurred_to=i.occurred_to, systems=i.systems,
        categories=i.categories, clients=i.clients, encrypted=i.encrypted,
        key_compromised=i.key_compromised, health_data_covered=i.health_data_covered,
        status=i.status, owner=i.owner, contact=i.contact, selection=i.selection,
        selected_at=i.selected_at, affected=sum(by_state.values()), by_state=by_state,
        next_deadline=_obligation(nxt) if nxt else None,
    )  # fmt: skip


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def create(
    body: IncidentIn, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> IncidentOut:
    """Record an incident. Every deadline runs from `discovered_at`."""
    i = incidents.create_incident(
        session, principal.organization_id, body.model_dump(), principal.actor
    )
    return _incident(session, runtime, i)


@router.get("/incidents", response_model=list[IncidentOut])
def list_all(principal: Reader, session: SessionDep, runtime: RuntimeDep) -> list[IncidentOut]:
    return [
        _incident(session, runtime, i)
        for i in incidents.list_incidents(session, principal.organization_id)
    ]


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_one(
    incident_id: RowId, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> IncidentOut:
    i = incidents.get_incident(session, principal.organization_id, incident_id)
    return _incident(session, runtime, i)


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
def change(
    incident_id: RowId,
    body: IncidentPatch,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> IncidentOut:
    """Change fields (status, owner, the encryption flags...); each change is audited."""
    values = body.model_dump(exclude_unset=True)
    if values.get("discovered_at", 0) is None:
        raise Problem(
            422,
            "Invalid request",
            "body.discovered_at cannot be removed.",
            errors=[{"field": "body.discovered_at", "message": "cannot be removed"}],
        )
    i = incidents.update_incident(
        session, principal.organization_id, incident_id, values, principal.actor
    )
    return _incident(session, runtime, i)


class SelectionIn(_Body):
    categories: Names = Field(default_factory=list, max_length=200)
    systems: Names = Field(default_factory=list, max_length=200)
    channels: Names = Field(default_factory=list, max_length=10)
    recipients: Names = Field(default_factory=list, max_length=200)
    connected_systems: Names = Field(
        default_factory=list, max_length=50,
        description="Connected systems (keys) to search for people holding `categories`.",
    )  # fmt: skip
    window_from: dt.datetime | None = None
    window_to: dt.datetime | None = None
    read_files: StrictBool = Field(
        False, description="Read the connected files systems whole, within the byte caps."
    )
    file_cap_bytes: StrictInt | None = Field(
        None, description="Bytes read per file (default 8 MiB)."
    )
    system_cap_bytes: StrictInt | None = Field(
        None, description="Bytes read per files system (default 16 MiB)."
    )
    notify_unknown: StrictBool = Field(
        False,
        description="Keep the contact of people found only in connected systems (sealed, for "
        "this incident) so that they are notified too.",
    )


class SelectionOut(BaseModel):
    incident_id: int
    total: int
    by_state: dict[str, int]
    not_in_vault_kept: int = 0
    connected_search: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per connected system named: searched or not (with why), rows read, people "
        "matched to the vault and identity values the vault does not know.",
    )


@router.post("/incidents/{incident_id}/selection", response_model=SelectionOut)
def select_people(
    incident_id: RowId,
    body: SelectionIn,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> SelectionOut:
    """Select the affected people from the vault (replaces an earlier selection). Counts by
    state come from clear columns: nothing is decrypted."""
    incidents.get_incident(session, principal.organization_id, incident_id)
    c = selection.criteria(body.model_dump())
    s = selection.select_affected(
        session, principal.organization_id, incident_id, c, principal.actor,
        runtime.vault_keys,
    )  # fmt: skip
    return SelectionOut(
        incident_id=s.incident_id, total=s.total, by_state=s.by_state,
        connected_search=s.connected_search, not_in_vault_kept=s.not_in_vault_kept,
    )  # fmt: skip


class ErasedOut(BaseModel):
    erased: int


@router.post("/incidents/{incident_id}/contacts/erase", response_model=ErasedOut)
def erase_contacts(
    incident_id: RowId, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> ErasedOut:
    """Crypto-shred the contacts kept for people found only in connected systems (after their
    notices went out); the counts and notice records stay."""
    n = contacts.erase(
        session, runtime.vault_keys, principal.organization_id, incident_id, principal.actor
    )
    return ErasedOut(erased=n)


@router.get("/incidents/{incident_id}/deadlines", response_model=list[ObligationOut])
def deadlines(
    incident_id: RowId, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> list[ObligationOut]:
    """Every duty the incident sets running, required or not (with the reason), from the
    rules data, each with its source and confidence."""
    s = report.summary(session, runtime.rule_book, principal.organization_id, incident_id)
    return [_obligation(o) for o in s.plan.obligations]


@router.get("/incidents/{incident_id}/checks", response_model=list[CheckOut])
def checks(
    incident_id: RowId, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> list[CheckOut]:
    """Every rule the incident relies on (deadlines, notice content, agency contacts,
    regulator forms), each `confirmed` against the reference or `unverified`."""
    s = report.summary(session, runtime.rule_book, principal.organization_id, incident_id)
    return [_check(c) for c in s.checks]


class NoticesIn(_Body):
    language: Literal["en", "es"] = "en"


class SendOut(BaseModel):
    emails: int
    letters: int
    already: int
    not_required: int
    by_state: dict[str, int]
    documents: int


@router.post("/incidents/{incident_id}/notices", response_model=SendOut)
def send(
    incident_id: RowId,
    body: NoticesIn,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> SendOut:
    """Queue the notices to people (email through the outbox; a letter when there is no email)
    and prepare the regulator and client documents. Safe to call again."""
    r = notices.send_individual_notices(
        session, runtime.keys, runtime.vault_keys, runtime.jobs, runtime.rule_book,
        runtime.breach_wording, principal.organization_id,
        _org_name(session, principal.organization_id), incident_id, principal.actor,
        body.language,
    )  # fmt: skip
    docs = notices.prepare_documents(
        session, runtime.rule_book, principal.organization_id, incident_id, principal.actor
    )
    return SendOut(
        emails=r.emails, letters=r.letters, already=r.already, not_required=r.not_required,
        by_state=r.by_state, documents=docs,
    )  # fmt: skip


class NoticeOut(BaseModel):
    id: int
    audience: str
    subject_id: int | None
    contact_id: int | None = Field(
        None, description="A person found only in a connected system (not in the vault)."
    )
    state: str
    recipient: str
    channel: str
    language: str
    status: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


@router.get("/incidents/{incident_id}/notices", response_model=list[NoticeOut])
def list_sent(
    incident_id: RowId,
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> list[NoticeOut]:
    """Every notice with its delivery status (an email's is its outbox message's)."""
    incidents.get_incident(session, principal.organization_id, incident_id)
    return [
        NoticeOut(**n.__dict__) for n in notices.list_notices(session, incident_id, limit, offset)
    ]


def _notice(session: Session, incident_id: int, notice_id: int) -> Notice:
    n = session.get(Notice, notice_id)
    if n is None or n.incident_id != incident_id:
        raise Problem(404, "Not found", f"No notice {notice_id} in incident {incident_id}.")
    return n


@router.get("/incidents/{incident_id}/notices/{notice_id}/document")
def document(
    incident_id: RowId, notice_id: RowId, principal: Reader, session: SessionDep,
    runtime: RuntimeDep,
) -> PlainTextResponse:  # fmt: skip
    """A regulator's or client's notice as text, ready to submit."""
    i = incidents.get_incident(session, principal.organization_id, incident_id)
    n = _notice(session, incident_id, notice_id)
    if n.channel != "document":
        raise Problem(409, "Conflict", "This notice is to a person; ask for its letter instead.")
    text = submissions.submission_text(
        session, runtime.rule_book, runtime.breach_wording, i,
        _org_name(session, principal.organization_id), n,
    )  # fmt: skip
    return PlainTextResponse(text)


@router.get("/incidents/{incident_id}/notices/{notice_id}/letter.pdf")
def letter(
    incident_id: RowId, notice_id: RowId, principal: Manager, session: SessionDep,
    runtime: RuntimeDep,
) -> Response:  # fmt: skip
    """The printable letter to a person (PDF); decrypts only their postal address."""
    pdf = letters.letter_pdf(
        session, runtime.vault_keys, runtime.rule_book, runtime.breach_wording,
        principal.organization_id,
        _org_name(session, principal.organization_id), incident_id, notice_id,
        principal.actor,
    )  # fmt: skip
    return Response(pdf, media_type="application/pdf")


@router.post("/incidents/{incident_id}/notices/{notice_id}/submitted", response_model=NoticeOut)
def submitted(
    incident_id: RowId, notice_id: RowId, principal: Manager, session: SessionDep
) -> NoticeOut:
    """A letter was mailed or a document submitted."""
    notices.mark_submitted(
        session, principal.organization_id, incident_id, notice_id, principal.actor
    )
    found = next(n for n in notices.list_notices(session, incident_id) if n.id == notice_id)
    return NoticeOut(**found.__dict__)


class EventOut(BaseModel):
    at: dt.datetime
    action: str
    actor: str
    details: dict[str, Any]


class ReportOut(BaseModel):
    incident: IncidentOut
    total: int
    by_state: dict[str, int]
    deadlines: list[ObligationOut]
    first_notice: dict[str, dt.datetime]
    delivery: dict[str, dict[str, int]]
    documents: list[NoticeOut]
    timeline: list[EventOut]
    checks: list[CheckOut]


@router.get("/incidents/{incident_id}/report", response_model=None)
def summary(
    incident_id: RowId,
    principal: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    format: Annotated[Literal["json", "text"], Query()] = "json",
) -> ReportOut | PlainTextResponse:
    """The timeline and a regulator-ready summary (`?format=text` for plain text)."""
    s = report.summary(session, runtime.rule_book, principal.organization_id, incident_id)
    if format == "text":
        return PlainTextResponse(report.as_text(s))
    docs = [n for n in notices.list_notices(session, incident_id) if n.channel == "document"]
    return ReportOut(
        incident=_incident(session, runtime, s.incident), total=s.total, by_state=s.by_state,
        deadlines=[_obligation(o) for o in s.plan.obligations], first_notice=s.first_notice,
        delivery=s.delivery, documents=[NoticeOut(**n.__dict__) for n in docs],
        timeline=[EventOut(**e.__dict__) for e in s.timeline],
        checks=[_check(c) for c in s.checks],
    )  # fmt: skip
