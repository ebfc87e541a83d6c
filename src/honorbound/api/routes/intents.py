"""Requests said in conversations: the staff queue of opt-outs and rights requests waiting for
review, and the confirm / dismiss decisions. Thin: each route calls one `honorbound.intents`
function."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import ReadSessionDep, RowId, RuntimeDep, SessionDep, require
from honorbound.intents import acting
from honorbound.intents.models import ConversationIntent
from honorbound.rights.jobs import services

router = APIRouter(prefix="/v1/conversation-intents", tags=["consent", "rights"])
Reader = Annotated[Principal, Depends(require("consent.read"))]
Decider = Annotated[Principal, Depends(require("consent.record_received"))]


class IntentOut(BaseModel):
    id: int
    kind: str
    status: str
    review_reason: str | None
    subject_id: int
    interaction_id: int
    speaker: str
    language: str
    span: tuple[int, int] = Field(description="Offsets of the phrase in the text as ingested.")
    channel: str | None
    request_type: str | None
    confidence: float
    occurred_at: dt.datetime
    decided_at: dt.datetime | None
    consent_event_ids: list[int]
    rights_request_id: int | None


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_type: str | None = Field(default=None, max_length=40)
    jurisdiction: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    channel: Literal["all", "voice", "sms", "email"] | None = None


def _out(row: ConversationIntent) -> IntentOut:
    return IntentOut(
        id=row.id,
        kind=row.kind,
        status=row.status,
        review_reason=row.review_reason,
        subject_id=row.subject_id,
        interaction_id=row.interaction_id,
        speaker=row.speaker,
        language=row.language,
        span=(row.span_start, row.span_end),
        channel=row.channel,
        request_type=row.request_type,
        confidence=row.confidence,
        occurred_at=row.occurred_at,
        decided_at=row.decided_at,
        consent_event_ids=[int(i) for i in row.consent_event_ids or []],
        rights_request_id=row.rights_request_id,
    )


@router.get("", response_model=list[IntentOut])
def list_intents(
    principal: Reader,
    session: ReadSessionDep,
    status: Literal["queued", "applied", "confirmed", "dismissed", "any"] = Query("queued"),
) -> list[IntentOut]:
    """Requests said in conversations; by default the ones waiting for staff."""
    rows = acting.queued(session, principal.organization_id, None if status == "any" else status)
    return [_out(row) for row in rows]


@router.post("/{intent_id}/confirm", response_model=IntentOut)
def confirm_intent(
    intent_id: RowId,
    principal: Decider,
    session: SessionDep,
    runtime: RuntimeDep,
    body: ConfirmIn | None = None,
) -> IntentOut:
    """Apply a queued intent: the opt-out is recorded, or the request opened (clock from the
    interaction). 409 when it was decided already."""
    body = body or ConfirmIn()
    row = acting.confirm(
        session,
        services(runtime),
        principal.organization_id,
        intent_id,
        principal.actor,
        request_type=body.request_type,
        jurisdiction=body.jurisdiction,
        channel=body.channel,
    )
    return _out(row)


@router.post("/{intent_id}/dismiss", response_model=IntentOut)
def dismiss_intent(intent_id: RowId, principal: Decider, session: SessionDep) -> IntentOut:
    """The phrase was not a request: nothing is recorded. 409 when it was decided already."""
    row = acting.dismiss(session, principal.organization_id, intent_id, principal.actor)
    return _out(row)
