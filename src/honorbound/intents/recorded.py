"""Requests said on a recorded call act like requests said in a chat (this lives in `intents`,
above `recordings` and `rights`, whose parts it joins).

When a recording is ingested for a vault subject, its transcript becomes a call interaction of
that subject through the vault's one write path (`vault.collection.add_interaction`: the
notice's collection gate, card numbers and codes never kept in clear, the text sealed), with
the stored recording as its evidence (`recording_uri`, the original audio's SHA-256). The
opt-outs and rights requests the screening found in it are then acted on by the same code as
a chat's (`intents.acting.act_on_interaction`): a consent-ledger opt-out with source
`conversation`, or a request on the staff queue whose clock starts when the call started.

Who said what. The transcript's text gets one line per turn, labelled `Customer:` for the
customer's channel and `Agent:` for the others when the caller names the customer's channel
(`customer_channel`); otherwise each line keeps the vendor's own label (`spk_1`, `channel 1`),
which names no role, so what was said there is queued for staff review and never applied by
itself (the rule of `intents.said`). Words said while the recording was paused (the pause
markers) are not part of the call as kept: they are left out of the interaction, as they are
of the stored transcript.

When. A recording is ingested after the call: the call ended no later than the ingest, and
started `duration` seconds before that, unless the caller gives `started_at`. An opt-out is
dated when the call ended (the latest moment it can have been said); a rights request's clock
starts when it started (never later than the law allows).

Once. The same audio (its original SHA-256) already stored as one of the subject's call
interactions is not added or acted on again (`ActedCall.duplicate`): a call uploaded twice
makes one opt-out and one request, whatever start time each upload gives or derives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.intents.acting import Acted, act_on_interaction
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.recordings.collect import Call
from honorbound.recordings.ingest import Ingested
from honorbound.recordings.store import RecordingStore
from honorbound.recordings.timings import Transcript
from honorbound.rights.context import Services
from honorbound.vault.collection import NewInteraction, add_interaction
from honorbound.vault.models import Channel, Direction, Interaction
from honorbound.vault.rules import CollectionRefused, current_rules, no_policy
from honorbound.vault.subjects import SubjectNotFound, get_subject

CUSTOMER_LABEL = "Customer"
AGENT_LABEL = "Agent"


@dataclass(frozen=True)
class ActedCall:
    interaction_id: int
    acted: list[Acted]
    # True when the same audio (its SHA-256) was already stored as this interaction of the
    # subject: nothing is added and nothing said in it is acted on a second time.
    duplicate: bool = False


def stored_call(
    session: Session, organization_id: int, subject_id: int, original_sha256: str
) -> int | None:
    """The subject's call interaction whose evidence is this audio, if one was stored."""
    return session.scalar(
        select(Interaction.id)
        .where(
            Interaction.organization_id == organization_id,
            Interaction.subject_id == subject_id,
            Interaction.recording_sha256 == original_sha256.lower(),
        )
        .order_by(Interaction.id)
        .limit(1)
    )


def transcript_text(
    transcript: Transcript,
    customer_channel: int | None = None,
    speaker_channels: Mapping[str, int] | None = None,
    skip: frozenset[int] = frozenset(),
) -> str:
    """The transcript as labelled lines, one per turn (see the module docstring); the words
    whose indices are in `skip` are left out."""
    channels = speaker_channels or {}
    lines: list[str] = []
    words: list[str] = []
    label: str | None = None
    for i, word in enumerate(transcript.words):
        if i in skip:
            continue
        channel = word.channel
        if channel is None and word.speaker is not None:
            channel = channels.get(word.speaker)
        if customer_channel is not None and channel is not None:
            turn = CUSTOMER_LABEL if channel == customer_channel else AGENT_LABEL
        elif word.speaker is not None:
            turn = word.speaker
        elif channel is not None:
            turn = f"channel {channel}"
        else:
            turn = "speaker"
        if turn != label and words:
            lines.append(f"{label}: {' '.join(words)}")
            words = []
        label = turn
        words.append(word.text)
    if words:
        lines.append(f"{label}: {' '.join(words)}")
    return "\n".join(lines)


def act_on_recording(
    session: Session,
    svc: Services,
    laws: JurisdictionRules,
    organization_id: int,
    subject_id: int,
    done: Ingested,
    actor: Actor,
    *,
    customer_channel: int | None = None,
    speaker_channels: Mapping[str, int] | None = None,
    direction: Direction = Direction.INBOUND,
    started_at: dt.datetime | None = None,
) -> ActedCall:
    """Store the call's transcript as an interaction of the subject and act on what the
    customer asked in it. Raises `vault.rules.CollectionRefused` when the notice does not
    allow the transcript to be collected (nothing is written then), and
    `vault.subjects.SubjectNotFound` for a subject not of the organization or erased."""
    if done.transcript is None:
        raise ValueError("the recording was ingested without a transcript")
    manifest = done.manifest
    digest = str(manifest["original_sha256"])
    existing = stored_call(session, organization_id, subject_id, digest)
    if existing is not None:
        get_subject(session, organization_id, subject_id)  # erased or foreign: refused as below
        return ActedCall(existing, [], duplicate=True)
    rules = current_rules(session, organization_id, laws)
    if rules is None:
        raise no_policy()
    ingested_at = dt.datetime.fromisoformat(str(manifest["ingested_at"]))
    duration = dt.timedelta(seconds=float(str(manifest["duration_s"])))
    start = started_at if started_at is not None else ingested_at - duration
    text = transcript_text(done.transcript, customer_channel, speaker_channels, done.paused_words)
    added = add_interaction(
        session,
        svc.vault_keys,
        organization_id,
        subject_id,
        NewInteraction(
            channel=Channel.CALL,
            direction=direction,
            started_at=start,
            ended_at=start + duration if started_at is not None else ingested_at,
            text=text,
            recording_uri=done.uri,
            recording_sha256=digest,
            tags=("recording",),
        ),
        actor,
        rules,
    )
    subject = get_subject(session, organization_id, subject_id)
    acted = act_on_interaction(session, svc, subject, added.interaction, text, added.intents, actor)
    return ActedCall(added.interaction.id, acted)


def act_on_call(
    session: Session,
    svc: Services,
    laws: JurisdictionRules,
    store: RecordingStore,
    organization_id: int,
    call: Call,
    done: Ingested,
    actor: Actor,
) -> dict[str, Any] | None:
    """What the adapters show under `conversation` after `collect.collect` stored `done`:
    None when the call names no subject or has no transcript; `stored: false` with the reason
    when the vault refuses the transcript (the redacted recording stays stored). Any other
    failure deletes the stored recording before it propagates, as `collect` does: the
    transaction that held its audit entry is rolled back, and no call is stored without one."""
    if call.subject_id is None or done.transcript is None:
        return None
    try:
        acted = act_on_recording(
            session,
            svc,
            laws,
            organization_id,
            call.subject_id,
            done,
            actor,
            customer_channel=call.customer_channel,
            speaker_channels=call.speaker_channels,
            direction=Direction(call.direction),
            started_at=call.started_at,
        )
        session.flush()
    except (CollectionRefused, SubjectNotFound) as exc:
        return {"stored": False, "reason": str(exc)}
    except BaseException:
        store.delete(done.recording_id)
        raise
    if acted.duplicate:
        return {
            "stored": False,
            "reason": "the same audio was already stored as this subject's call interaction "
            f"{acted.interaction_id}; what was said in it is not acted on twice",
            "interaction_id": acted.interaction_id,
            "intents": [],
        }
    return {
        "stored": True,
        "interaction_id": acted.interaction_id,
        "intents": [
            {
                "id": a.intent.id,
                "kind": a.intent.kind,
                "status": a.intent.status,
                "review_reason": a.intent.review_reason,
            }
            for a in acted.acted
        ],
    }
