"""The one collection gate of call recordings: `POST /v1/recordings` (audio from the inbox),
`POST /v1/recordings/upload` (audio uploaded) and `honorbound recordings ingest` all call
`collect`, so the same checks, the same decision about the original and the same audit entry
apply whichever way a call comes in.

In order, before anything is stored:

1. the call's reference (`call_id`, the dialer's id: 1-64 of `A-Z a-z 0-9 . _ : -`, no
   personal data) is given;
2. the person, when named (`subject_id`), is a live vault subject of the organization;
3. the caller's number, when given (`caller`), is a valid phone number; the recording keeps
   only its blind index (the vault's keyed HMAC of the normalized number, the same value as
   the `Identity.blind_index` of that phone), so a caller not yet identified is matched later
   to the person who holds that number, for deletion and access;
4. the original: kept only when the setting `HONORBOUND_RECORDINGS_KEEP_ORIGINAL` is on, a
   subject is named (their key seals it) AND the adopted notice says so
   (`originals: {keep: true, period}` on the call recording category and nothing against it
   in the categories of what the call holds, `retention.OriginalsRule`); then
5. `ingest.ingest` checks the audio and the transcript and stores the redacted call in one
   step, and the ingest is an audit entry (`recordings.ingested`, counts only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.recordings import redact
from honorbound.recordings.callers import caller_index
from honorbound.recordings.errors import RecordingError
from honorbound.recordings.ingest import Ingested, ingest, original_key_for
from honorbound.recordings.store import RecordingStore

CALL_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class Gate:
    """What the gate needs from the settings (built once by the adapter)."""

    recordings_dir: Path
    keep_original: bool = False
    pad_before: float = 0.5
    pad_after: float = 0.2
    sound: str = "tone"
    # An object store's URL (Settings.recordings_url); None: recordings_dir holds them.
    recordings_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Gate:
        return cls(
            settings.resolved_recordings_dir,
            settings.recordings_keep_original,
            settings.recordings_pad_before,
            settings.recordings_pad_after,
            settings.recordings_sound,
            settings.recordings_url,
        )


@dataclass(frozen=True)
class Call:
    """One call as a dialer, an upload or the command line gives it."""

    call_id: str | None
    transcript: bytes | None = None
    shape: str | None = None
    markers: Sequence[dict[str, Any]] = ()
    speaker_channels: Mapping[str, int] = field(default_factory=dict)
    subject_id: int | None = None
    caller: str | None = None
    offline_asr: bool = False


def check_call_id(call_id: str | None) -> str:
    if call_id is None or not str(call_id).strip():
        raise RecordingError(
            "`call_id` is missing: give the dialer's reference of the call (no personal data)"
        )
    if not CALL_ID.match(call_id):
        raise RecordingError(
            "`call_id` must be 1-64 characters of letters, digits and . _ : - "
            "(the dialer's reference, no personal data)"
        )
    return call_id


def _check_subject(session: Session, organization_id: int, subject_id: int) -> None:
    from honorbound.vault.models import Subject

    status = session.scalar(
        select(Subject.status).where(
            Subject.id == subject_id, Subject.organization_id == organization_id
        )
    )
    if status is None:
        raise RecordingError(f"no vault subject {subject_id} in this organization")
    if status == "erased":
        raise RecordingError(f"vault subject {subject_id} has been erased")


def precheck(session: Session, vault_keys: Any, organization_id: int, call: Call) -> str | None:
    """The checks that need no audio (steps 1-3), so an upload can be refused before its body
    is read; returns the caller's blind index."""
    check_call_id(call.call_id)
    if call.subject_id is not None:
        _check_subject(session, organization_id, call.subject_id)
    return caller_index(vault_keys, organization_id, call.caller) if call.caller else None


def collect(
    session: Session,
    vault_keys: Any,
    gate: Gate,
    organization_id: int,
    actor: Actor,
    audio_path: Path,
    call: Call,
) -> Ingested:
    """Redact and store one call through the gate (module docstring); RecordingError on bad
    input, with nothing stored."""
    from honorbound.policy import store as policy_store
    from honorbound.recordings.retention import originals_rule

    index = precheck(session, vault_keys, organization_id, call)
    original_key, refused, rule = None, None, None
    if gate.keep_original:
        if call.subject_id is None:
            refused = "no subject was named, whose key would seal the original"
        else:
            adopted = policy_store.current(session, organization_id)
            found = originals_rule(adopted.declaration if adopted is not None else None)
            if isinstance(found, str):
                refused = found
            else:
                rule = found
                original_key = original_key_for(
                    session, vault_keys, organization_id, call.subject_id
                )
    else:
        refused = "HONORBOUND_RECORDINGS_KEEP_ORIGINAL is off"
    options = redact.Options(
        pad_before=gate.pad_before,
        pad_after=gate.pad_after,
        sound=gate.sound,  # type: ignore[arg-type]
        speaker_channels=dict(call.speaker_channels),
    )
    store = RecordingStore.for_organization(
        gate.recordings_url or gate.recordings_dir, organization_id, gate.recordings_dir
    )
    done = ingest(
        store,
        audio_path,
        call.transcript,
        options,
        shape=call.shape,
        markers=call.markers,
        original_key=original_key,
        original_rule=rule,
        subject_id=call.subject_id,
        offline_asr=call.offline_asr,
        original_refused=refused,
        call_id=call.call_id,
        caller_index=index,
    )
    m = done.manifest
    try:
        append(
            session,
            organization_id,
            actor,
            "recordings.ingested",
            "recording",
            done.recording_id,
            {
                "call_id": call.call_id,
                **{
                    k: m[k]
                    for k in ("findings", "spans_redacted", "dtmf_tones_removed", "original_kept")
                },
            },
        )
        session.flush()
    except BaseException:
        store.delete(done.recording_id)  # no stored call without its audit entry
        raise
    return done
