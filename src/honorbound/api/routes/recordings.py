"""Call recordings (JSON API): may this call be recorded, ingest of a call the dialer dropped
in the inbox, and upload of a call (multipart, streamed to disk). Thin: parse, call
`honorbound.recordings` (one gate, `collect.collect`), render."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, SessionDep, require
from honorbound.api.streaming import body_chunks
from honorbound.audit import append
from honorbound.intents.recorded import act_on_call
from honorbound.recordings import collect, consent, uploads
from honorbound.recordings.store import RecordingStore
from honorbound.rights.jobs import services as rights_services

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
    decision = consent.decide(
        runtime.rules,
        [consent.Party(p.role, p.state) for p in body.parties],
        announcement_played=body.announcement_played,
        refused=body.refused,
    )
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
    call_id: str = Field(
        min_length=1,
        max_length=64,
        description="The dialer's reference of the call (letters, digits, `._:-`; no personal "
        "data).",
    )
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
        description="With subject_id: the audio channel of the customer (0-31). Without it "
        "the transcript's speakers have no role, and what they asked waits for staff review.",
    )
    direction: Literal["inbound", "outbound"] = "inbound"
    started_at: AwareDatetime | None = Field(
        default=None,
        description="With subject_id: when the call started (with a time zone); default: "
        "the ingest time minus the recording's duration.",
    )
    caller: str | None = Field(
        default=None,
        max_length=40,
        description="The caller's phone number when the person is not identified yet: only "
        "its blind index is kept, and the call is matched to whoever holds that phone in the "
        "vault when they ask for access or deletion.",
    )


def _audited(
    session: Any, runtime: Any, principal: Principal, source: Any, call: collect.Call
) -> dict[str, Any]:
    done = collect.collect(
        session,
        runtime.vault_keys,
        collect.Gate.from_settings(runtime.settings),
        principal.organization_id,
        principal.actor,
        source,
        call,
    )
    out: dict[str, Any] = {"uri": done.uri, **done.manifest}
    acted = act_on_call(
        session,
        rights_services(runtime),
        runtime.rules,
        RecordingStore.for_organization(
            runtime.settings.resolved_recordings_dir, principal.organization_id
        ),
        principal.organization_id,
        call,
        done,
        principal.actor,
    )
    if acted is not None:
        out["conversation"] = acted
    return out


@router.post("/v1/recordings", status_code=201)
def ingest_recording(
    body: IngestIn, principal: Collector, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Redact and store one call from the inbox; the inbox file is removed once stored."""
    settings = runtime.settings
    store = RecordingStore.for_organization(
        settings.recordings_store, principal.organization_id, settings.resolved_recordings_dir
    )
    source = store.inbox_file(body.audio)
    call = collect.Call(
        call_id=body.call_id,
        transcript=json.dumps(body.transcript).encode() if body.transcript is not None else None,
        shape=body.shape,
        markers=body.markers,
        speaker_channels=body.speaker_channels,
        subject_id=body.subject_id,
        caller=body.caller,
        customer_channel=body.customer_channel,
        direction=body.direction,
        started_at=body.started_at,
    )
    out = _audited(session, runtime, principal, source, call)
    source.unlink()  # the unredacted audio does not linger in the inbox
    return out


@router.post(
    "/v1/recordings/upload",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["call_id", "audio"],
                        "properties": {
                            "call_id": {"type": "string", "maxLength": 64},
                            "audio": {"type": "string", "format": "binary"},
                            "transcript": {"type": "string", "format": "binary"},
                            "shape": {"type": "string"},
                            "markers": {"type": "string", "description": "JSON list"},
                            "speaker_channels": {"type": "string", "description": "JSON"},
                            "subject_id": {"type": "integer"},
                            "caller": {"type": "string"},
                            "customer_channel": {"type": "integer"},
                            "direction": {"type": "string", "enum": ["inbound", "outbound"]},
                            "started_at": {"type": "string", "format": "date-time"},
                        },
                    }
                }
            },
        }
    },
)
def upload_recording(
    request: Request, principal: Collector, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Upload one call (multipart: the `audio` file, the `transcript` file, `call_id` and the
    other fields of `POST /v1/recordings`), streamed to disk in blocks, then redacted and
    stored through the same gate. Larger than HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES: 413."""
    settings = runtime.settings
    store = RecordingStore.for_organization(
        settings.recordings_store, principal.organization_id, settings.resolved_recordings_dir
    )
    with store.staging() as work:
        form = uploads.receive(
            request.headers.get("content-type", ""),
            request.headers.get("content-length"),
            body_chunks(request),
            work / "upload",
            settings.recordings_max_upload_bytes,
            settings.max_bulk_body_bytes,
        )
        call = form.call()
        return _audited(session, runtime, principal, work / "upload", call)
