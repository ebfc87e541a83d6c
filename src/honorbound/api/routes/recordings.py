"""Call recordings (JSON API): may this call be recorded, and ingest of a call the dialer
dropped in the inbox. Thin: parse, call `honorbound.recordings`, render."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.audit import append
from honorbound.recordings import consent
from honorbound.recordings.conversation import act_on_recording
from honorbound.recordings.errors import RecordingError
from honorbound.recordings.ingest import ingest, original_if_allowed
from honorbound.recordings.redact import Options
from honorbound.recordings.store import RecordingStore
from honorbound.rights.jobs import services as rights_services
from honorbound.vault.models import Direction
from honorbound.vault.rules import CollectionRefused
from honorbound.vault.subjects import SubjectNotFound

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


Collector = Annotated[Principal, Depends(require("data.collect"))]


class IngestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audio: str = Field(
        min_length=1,
        max_length=200,
        description="Name of the audio file the dialer dropped in the organization's "
        "recordings inbox (`<recordings_dir>/org-<id>/inbox/`).",
    )
    transcript: dict[str, Any] | None = Field(
        default=None, description="The transcript as the ASR vendor gave it (JSON)."
    )
    shape: str | None = Field(default=None, max_length=16)
    markers: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    speaker_channels: dict[str, int] = Field(default_factory=dict, max_length=32)
    subject_id: int | None = Field(
        default=None,
        description="The vault subject whose call it is: their key seals a kept original, "
        "erasing them deletes the recording, and the transcript is stored as their call "
        "interaction, whose opt-outs and rights requests are acted on.",
    )
    customer_channel: int | None = Field(
        default=None,
        ge=0,
        le=31,
        description="The audio channel of the customer. Without it the transcript's speakers "
        "have no role, and what they asked waits for staff review.",
    )
    direction: Literal["inbound", "outbound"] = "inbound"
    started_at: AwareDatetime | None = Field(
        default=None,
        description="When the call started (with a time zone); default: the ingest time "
        "minus the recording's duration.",
    )

    @model_validator(mode="after")
    def _call_fields_need_a_subject(self) -> IngestIn:
        named = [n for n in ("customer_channel", "started_at") if getattr(self, n) is not None]
        if named and self.subject_id is None:
            raise ValueError(f"{', '.join(named)} describe a subject's call: give subject_id too")
        return self


@router.post("/v1/recordings", status_code=201)
def ingest_recording(
    body: IngestIn, principal: Collector, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Redact and store one call from the inbox; the inbox file is removed once stored."""
    settings = runtime.settings
    store = RecordingStore.for_organization(
        settings.resolved_recordings_dir, principal.organization_id
    )
    try:
        original, refused = None, None
        if settings.recordings_keep_original:
            if body.subject_id is None:
                raise RecordingError(
                    "keeping originals is on: give `subject_id`, whose key seals the original"
                )
            original, refused = original_if_allowed(
                session, runtime.vault_keys, principal.organization_id, body.subject_id
            )
        options = Options(
            pad_before=settings.recordings_pad_before,
            pad_after=settings.recordings_pad_after,
            sound=settings.recordings_sound,
            speaker_channels=body.speaker_channels,
        )
        source = store.inbox_file(body.audio)
        transcript = json.dumps(body.transcript).encode() if body.transcript is not None else None
        done = ingest(
            store,
            source,
            transcript,
            options,
            shape=body.shape,
            markers=body.markers,
            original_key=original,
            subject_id=body.subject_id,
            original_refused=refused,
        )
    except RecordingError as exc:
        raise Problem(422, exc.title, str(exc)) from None
    source.unlink()  # the unredacted audio does not linger in the inbox
    m = done.manifest
    append(
        session,
        principal.organization_id,
        principal.actor,
        "recordings.ingested",
        "recording",
        done.recording_id,
        {k: m[k] for k in ("findings", "spans_redacted", "dtmf_tones_removed", "original_kept")},
    )
    out: dict[str, Any] = {"uri": done.uri, **m}
    if body.subject_id is not None and done.transcript is not None:
        try:
            call = act_on_recording(
                session,
                rights_services(runtime),
                runtime.rules,
                principal.organization_id,
                body.subject_id,
                done,
                principal.actor,
                customer_channel=body.customer_channel,
                speaker_channels=body.speaker_channels,
                direction=Direction(body.direction),
                started_at=body.started_at,
            )
        except (CollectionRefused, SubjectNotFound) as exc:
            # The redacted recording is stored; its transcript is not an interaction.
            out["conversation"] = {"stored": False, "reason": str(exc)}
        else:
            out["conversation"] = {
                "stored": True,
                "interaction_id": call.interaction_id,
                "intents": [
                    {
                        "id": a.intent.id,
                        "kind": a.intent.kind,
                        "status": a.intent.status,
                        "review_reason": a.intent.review_reason,
                    }
                    for a in call.acted
                ],
            }
    return out
