"""Call recordings (JSON API): may this call be recorded. Thin: parse, call
`honorbound.recordings`, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.audit import append
from honorbound.recordings import consent
from honorbound.recordings.errors import RecordingError

router = APIRouter(tags=["recordings"])
Writer = Annotated[Principal, Depends(require("consent.write"))]


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=1, max_length=32)
    state: str | None = Field(default=None, max_length=8, description="US state, e.g. CA.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str = Field(min_length=1, max_length=64, description="The dialer's call id.")
    parties: list[PartyIn] = Field(min_length=2, max_length=20)
    announcement_played: bool = Field(
        description="The dialer or IVR played the recording announcement before recording."
    )
    refused: bool = Field(default=False, description="A party declined to be recorded.")


@router.post("/v1/recordings/decision")
def recording_decision(
    body: DecisionIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """May this call be recorded: `{may_record, action, regime, reasons, sources}`. The
    decision and what it rests on are written to the audit log (the evidence)."""
    try:
        decision = consent.decide(
            runtime.rules,
            [consent.Party(p.role, p.state) for p in body.parties],
            announcement_played=body.announcement_played,
            refused=body.refused,
        )
    except RecordingError as exc:
        raise Problem(422, exc.title, str(exc)) from None
    entry = append(
        session,
        principal.organization_id,
        principal.actor,
        "recordings.refused" if body.refused else "recordings.decision",
        "call",
        body.call_id,
        {
            "parties": [{"role": p.role, "state": p.state} for p in body.parties],
            "announcement_played": body.announcement_played,
            "refused": body.refused,
            **decision.as_dict(),
        },
    )
    return {"call_id": body.call_id, **decision.as_dict(), "evidence": {"audit_entry": entry.id}}
