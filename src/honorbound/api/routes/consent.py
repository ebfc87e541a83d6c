"""Consent ledger, contact decisions and do-not-call lists (JSON API). Thin: parse, call the
consent package, render."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from honorbound.accounts.roles import allowed
from honorbound.accounts.service import Principal
from honorbound.api.deps import RawBody, ReadSessionDep, RowId, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.consent import calls, dnc, ledger, links, received, report, service
from honorbound.consent.decisions import MAX_ITEMS, batch_from_items
from honorbound.consent.models import STAFF_SOURCES, ConsentEvent, Source
from honorbound.errors import HonorboundError

router = APIRouter(tags=["consent"])
Writer = Annotated[Principal, Depends(require("consent.write"))]
Reader = Annotated[Principal, Depends(require("consent.read"))]
Officer = Annotated[Principal, Depends(require("reports.read"))]
Receiver = Annotated[Principal, Depends(require("consent.record_received"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityIn(_Body):
    identity: str = Field(min_length=1, max_length=254)
    kind: str | None = Field(default=None, max_length=16)


class EventIn(IdentityIn):
    purpose: str = Field(max_length=32)
    channel: str = Field(max_length=8)
    action: str = Field(max_length=8)
    source: str = Field(max_length=32)
    scope: str = Field(default="", max_length=120)
    occurred_at: dt.datetime | None = None
    external_ref: str | None = Field(default=None, max_length=200)
    evidence: dict[str, str] = Field(default_factory=dict)
    ip: str | None = Field(default=None, max_length=64, description="Hashed, never stored.")
    user_agent: str | None = Field(default=None, max_length=500, description="Hashed.")


class ReceivedOptOutIn(IdentityIn):
    source: str = Field(max_length=32, description="email, phone_call or letter.")
    purpose: str = Field(default="all", max_length=32)
    channel: str = Field(default="all", max_length=8)
    received_at: dt.datetime | None = Field(
        default=None, description="When the person sent or said it (default now)."
    )
    reference: str | None = Field(
        default=None, max_length=80, description="Ticket, letter or call id; never a name."
    )


class EventOut(BaseModel):
    id: int
    purpose: str
    channel: str
    scope: str
    action: str
    source: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    receipt_id: str
    evidence: dict[str, Any]


class StateOut(BaseModel):
    purpose: str
    channel: str
    scope: str
    action: str
    since: dt.datetime


class HistoryOut(BaseModel):
    events: list[EventOut]
    state: list[StateOut]


class RecordedOut(EventOut):
    created: bool
    receipt: str


class DecisionsIn(_Body):
    items: list[Any] = Field(max_length=MAX_ITEMS)


class CompanyDncIn(IdentityIn):
    source: str = Field(default=Source.AGENT_VERBAL.value, max_length=32)
    requested_at: dt.datetime | None = None
    binds: dnc.Binds | None = Field(
        default=None,
        description="seller: this organization's own list; telemarketer: the list of the BPO "
        "that calls for it (the person asked the call center itself not to call), read by "
        "every client's decisions. Default: contact-rules.yaml company_dnc.binds.default.",
    )


class CallAttemptIn(IdentityIn):
    purpose: str = Field(max_length=32)
    called_at: dt.datetime | None = None
    outcome: str = Field(default="", max_length=32)


class LinkIn(IdentityIn):
    list_id: str = Field(min_length=1, max_length=100)


def _identity(runtime: Any, principal: Principal, body: IdentityIn) -> Any:
    # InvalidIdentity names the field ("identity", or "kind"); the handler answers it.
    return service.resolve(runtime.keys, principal.organization_id, body.identity, body.kind)


def _event_out(event: ConsentEvent) -> EventOut:
    return EventOut(
        id=event.id,
        purpose=event.purpose,
        channel=event.channel,
        scope=event.scope,
        action=event.action,
        source=event.source,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        receipt_id=event.receipt_id,
        evidence=json.loads(event.evidence or "{}"),
    )


@router.post("/v1/consent/events", status_code=201, response_model=RecordedOut)
def record_event(
    body: EventIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> RecordedOut:
    if body.source in {s.value for s in STAFF_SOURCES} and not allowed(
        principal.role, "consent.record_received"
    ):
        raise Problem(
            403,
            "Forbidden",
            f"The role '{principal.role.value}' may not record source '{body.source}' (needs "
            "'consent.record_received': staff who received the opt-out).",
        )
    ref = _identity(runtime, principal, body)
    evidence: dict[str, Any] = dict(body.evidence)
    org = principal.organization_id
    if body.ip:
        evidence["ip_hash"] = ledger.hash_evidence(runtime.keys, org, body.ip)
    if body.user_agent:
        evidence["user_agent_hash"] = ledger.hash_evidence(runtime.keys, org, body.user_agent)
    subject_id = service.subject_for(session, runtime.vault_keys, org, ref, body.identity)
    event, created = ledger.record(
        session,
        org,
        ref,
        body.purpose,
        body.channel,
        body.action,
        body.source,
        principal.actor,
        scope=body.scope,
        subject_id=subject_id,
        evidence=evidence,
        occurred_at=body.occurred_at,
        external_ref=body.external_ref,
    )
    _, token = service.receipt_for(
        session, runtime.keys, event, runtime.settings.base_url, runtime.settings.mail_from
    )
    return RecordedOut(**_event_out(event).model_dump(), created=created, receipt=token)


@router.post("/v1/consent/received-opt-outs", status_code=201, response_model=RecordedOut)
def record_received_opt_out(
    body: ReceivedOptOutIn, principal: Receiver, session: SessionDep, runtime: RuntimeDep
) -> RecordedOut:
    """An opt-out a staff member received by email, on a phone call or in a letter, recorded
    with that source, when the person made it, and the reference of the original."""
    ref = _identity(runtime, principal, body)
    org = principal.organization_id
    subject_id = service.subject_for(session, runtime.vault_keys, org, ref, body.identity)
    event, created = received.record_received_opt_out(
        session,
        org,
        ref,
        principal.actor,
        source=body.source,
        purpose=body.purpose,
        channel=body.channel,
        received_at=body.received_at,
        reference=body.reference,
        subject_id=subject_id,
    )
    _, token = service.receipt_for(
        session, runtime.keys, event, runtime.settings.base_url, runtime.settings.mail_from
    )
    return RecordedOut(**_event_out(event).model_dump(), created=created, receipt=token)


@router.post("/v1/consent/lookup", response_model=HistoryOut)
def lookup(
    body: IdentityIn, principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> HistoryOut:
    """One identity's history and current state (POST so the identity stays out of URLs)."""
    ref = _identity(runtime, principal, body)
    events = ledger.history(session, principal.organization_id, ref.index)
    return HistoryOut(
        events=[_event_out(e) for e in events],
        state=[
            StateOut(
                purpose=s.purpose, channel=s.channel, scope=s.scope, action=s.action, since=s.since
            )
            for s in ledger.current_state(events)
        ],
    )


@router.get("/v1/consent/events/{event_id}", response_model=RecordedOut)
def get_event(
    event_id: RowId, principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> RecordedOut:
    event = session.scalar(
        select(ConsentEvent).where(
            ConsentEvent.id == event_id, ConsentEvent.organization_id == principal.organization_id
        )
    )
    if event is None:
        raise Problem(404, "Not found", "No consent event with that id in your organization.")
    _, token = service.receipt_for(
        session, runtime.keys, event, runtime.settings.base_url, runtime.settings.mail_from
    )
    return RecordedOut(**_event_out(event).model_dump(), created=False, receipt=token)


@router.post("/v1/contact-decisions")
def contact_decisions(
    body: DecisionsIn, principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> Response:
    """Up to 100,000 items `{identity, purpose, channel, at?}`; each gets `{allowed, reasons}`.
    A malformed item gets `allowed: false`, reason `invalid_item` and its `errors`, alone."""
    batch = batch_from_items(body.items)
    result = runtime.decisions.decide(session, principal.organization_id, batch)
    # One JSON fragment per distinct reason set, reused: 100,000 results render in tens of ms.
    fragments: dict[int, str] = {0: '{"allowed":true,"reasons":[]}'}
    parts = []
    for i, code in enumerate(result.reasons.tolist()):
        if i in result.errors:
            item = {
                "allowed": False,
                "reasons": list(result.reasons_of(i)),
                "errors": [{"field": f"items[{i}].{f}", "message": m} for f, m in result.errors[i]],
            }
            parts.append(json.dumps(item, separators=(",", ":")))
            continue
        fragment = fragments.get(code)
        if fragment is None:
            names = json.dumps(list(result.reasons_of(i)), separators=(",", ":"))
            fragment = fragments[code] = '{"allowed":false,"reasons":' + names + "}"
        parts.append(fragment)
    payload = (
        '{"count":'
        + str(len(parts))
        + ',"warnings":'
        + json.dumps(result.warnings)
        + ',"results":['
        + ",".join(parts)
        + "]}"
    )
    return Response(payload, media_type="application/json")


@router.post("/v1/dnc/company", status_code=201)
def add_company_dnc(
    body: CompanyDncIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Record a company-specific do-not-call request taken on a call made for this key's
    organization (`binds`: its own list, or its BPO's)."""
    row, binds = dnc.take_request(
        session, runtime.keys, principal.organization_id, body.identity, body.kind,
        runtime.contact_rules, principal.actor, body.binds, body.source, body.requested_at,
    )  # fmt: skip
    return {"id": row.id, "expires_at": row.expires_at.isoformat(), "binds": binds.value}


class CompanyDncOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    source: str
    requested_at: dt.datetime
    recorded_at: dt.datetime
    expires_at: dt.datetime


class CompanyDncPage(BaseModel):
    items: list[CompanyDncOut]
    next_before: int | None


@router.get("/v1/dnc/company", response_model=CompanyDncPage)
def list_company_dnc(
    principal: Reader,
    session: ReadSessionDep,
    before: Annotated[int | None, Query(ge=1, description="next_before of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=dnc.MAX_PAGE_SIZE)] = dnc.PAGE_SIZE,
) -> CompanyDncPage:
    """This organization's own company do-not-call list (a BPO's key: the BPO-wide list),
    newest first. No numbers: only their keyed blind index is stored."""
    page = dnc.company_requests(session, [principal.organization_id], before, limit)
    return CompanyDncPage(
        items=[CompanyDncOut.model_validate(r) for r in page.rows], next_before=page.next_before
    )


@router.delete("/v1/dnc/company/{dnc_id}")
def remove_company_dnc(
    dnc_id: RowId,
    principal: Annotated[Principal, Depends(require("dnc.replace"))],
    session: SessionDep,
    reason: Annotated[
        str, Query(max_length=32, description="Why: " + ", ".join(dnc.RemovalReason))
    ] = "",
) -> dict[str, Any]:
    """Take a request off this organization's list (admin: it makes the number callable)."""
    dnc.remove_company_request(session, principal.organization_id, dnc_id, reason, principal.actor)
    return {"id": dnc_id, "removed": True, "reason": reason}


@router.post(
    "/v1/dnc/national",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def import_national_dnc(
    body: RawBody,
    principal: Annotated[Principal, Depends(require("consent.write"))],
    session: SessionDep,
    runtime: RuntimeDep,
    registry_date: Annotated[dt.date, Query(description="The date the registry file is as of.")],
    mode: Annotated[dnc.ImportMode, Query()] = dnc.ImportMode.FULL,
    confirm_removal: Annotated[
        bool,
        Query(
            description="Confirm an import that removes more than "
            f"{dnc.MAX_UNCONFIRMED_REMOVAL:.0%} of the numbers held (409 without it)."
        ),
    ] = False,
) -> dict[str, Any]:
    """The body is the registry file (text/plain), one number per line. Any bad line rejects
    the whole file (422 listing line numbers); nothing is written. `full` and `delete` imports
    can make numbers callable: they need the admin role (403 otherwise), and one that would
    remove more than the set share of the numbers held needs `confirm_removal=true` (409)."""
    if mode is not dnc.ImportMode.ADD and not allowed(principal.role, "dnc.replace"):
        raise Problem(
            403,
            "Forbidden",
            f"A {mode.value} import can make numbers callable: it needs an admin key "
            "(permission dnc.replace). Use mode=add to only add numbers.",
        )
    text = body.decode("utf-8", errors="replace")
    numbers = dnc.parse(text.splitlines())  # DncFileError lists the bad lines
    try:
        result = dnc.import_national(
            session,
            principal.organization_id,
            numbers,
            registry_date,
            mode,
            runtime.contact_rules,
            principal.actor,
            confirm_removal=confirm_removal,
        )
    except HonorboundError:
        raise  # RemovalNeedsConfirmation (a ValueError too): the one handler answers it
    except ValueError as exc:
        raise Problem(
            422,
            "Invalid import",
            str(exc),
            errors=[{"field": "registry_date", "message": str(exc)}],
        ) from None
    return {
        "import_id": result.import_id,
        "numbers": result.numbers,
        "registry_date": result.registry_date.isoformat(),
        "warnings": result.warnings,
    }


@router.get("/v1/dnc/national")
def national_dnc_status(
    principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    latest, warnings = dnc.registry_status(
        session, principal.organization_id, runtime.contact_rules
    )
    return {
        "registry_date": latest.registry_date.isoformat() if latest else None,
        "imported_at": latest.imported_at.isoformat() if latest else None,
        "numbers": latest.numbers if latest else 0,
        "warnings": warnings,
    }


@router.post("/v1/consent/call-attempts", status_code=201)
def record_call_attempt(
    body: CallAttemptIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    ref = _identity(runtime, principal, body)
    try:
        row = calls.record_attempt(
            session,
            principal.organization_id,
            ref,
            body.purpose,
            principal.actor,
            body.called_at,
            body.outcome,
        )
    except ValueError as exc:
        field = "purpose" if "Purpose" in str(exc) else "called_at"
        raise Problem(
            422, "Invalid call attempt", str(exc), errors=[{"field": field, "message": str(exc)}]
        ) from None
    return {"id": row.id}


@router.post("/v1/consent/unsubscribe-links", status_code=201)
def unsubscribe_link(
    body: LinkIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """A signed one-click unsubscribe URL and the `List-Unsubscribe` headers for one message."""
    ref = _identity(runtime, principal, body)
    try:
        token = links.issue(runtime.keys, principal.organization_id, ref, body.list_id)
    except ValueError as exc:
        raise Problem(
            422, "Invalid list id", str(exc), errors=[{"field": "list_id", "message": str(exc)}]
        ) from None
    base = runtime.settings.base_url
    return {"url": links.url(base, token), "headers": links.list_unsubscribe_headers(base, token)}


@router.get("/v1/consent/revocation-report")
def revocation_report(
    principal: Officer,
    session: SessionDep,
    runtime: RuntimeDep,
    since: Annotated[dt.date, Query()],
    until: Annotated[dt.date, Query()],
) -> dict[str, Any]:
    if until < since:
        raise Problem(
            422,
            "Invalid period",
            "until is before since",
            errors=[{"field": "until", "message": "is before since"}],
        )
    if (until - since).days > 3660:
        raise Problem(
            422,
            "Invalid period",
            "the period is longer than ten years",
            errors=[{"field": "since", "message": "period too long"}],
        )
    contact = runtime.contact_rules
    found = report.revocations(session, principal.organization_id, contact, since, until)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "rule_business_days": found.rule_business_days,
        "total": len(found.lines),
        "late": len(found.late),
        "lines": [
            {
                "kind": line.kind,
                "id": line.record_id,
                "purpose": line.purpose,
                "channel": line.channel,
                "source": line.source,
                "requested_on": line.requested_on.isoformat(),
                "effective_on": line.effective_on.isoformat(),
                "due_on": line.due_on.isoformat(),
                "business_days": line.business_days,
                "honored": line.honored,
            }
            for line in found.lines
        ],
    }
