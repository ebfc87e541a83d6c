"""Requests said in an interaction, acted on when it is ingested; staff decide the queued ones.

- An **opt-out** the customer said becomes one consent-ledger opt-out per identity of the
  subject (purpose `all`, the channel it named or `all`, source `conversation`), dated when the
  interaction ended (the latest moment it can have been said, so it outranks every earlier
  choice). The FCC lets a person revoke consent by any reasonable means, an oral request on a
  call included (47 CFR 64.1200(a)(10)); the organization's declaration may instead send them to
  staff review (`conversations.opt_outs: review`). A phrase whose speaker is not known is
  always reviewed, never applied by itself.
- A **rights request** opens a request through rights intake, received when the interaction
  started (its clock starts then), with the type inferred from the words and how sure that is.
  The type's rules decide verification: opt-out types are applied without any (11 CCR 7026,
  7027: no verification may be required, so no link is sent); the others wait for it. A
  request the words do not type well enough, a correction (it must say what to correct), or a
  subject whose state is unknown waits for staff, who give what is missing.

Each act is one `ConversationIntent` row, keyed by a keyed hash of the interaction's content:
the same interaction ingested again acts once. Ledger evidence is the interaction id and the
span's offsets, never the words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.consent import ledger
from honorbound.consent.identity import IdentityRef, match_key, match_secret
from honorbound.consent.models import Action, Purpose, Source
from honorbound.db.base import utcnow
from honorbound.errors import FieldError
from honorbound.intents import said
from honorbound.intents.models import ConversationIntent, IntentKind, IntentStatus, ReviewReason
from honorbound.policy import store as policy_store
from honorbound.rights.context import Services
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import NewRequest, take_request
from honorbound.rights.models import Manner, RequestType
from honorbound.rights.rules import load_rights_rules
from honorbound.rights.timeline import log_event
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Identity, Interaction, Subject
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import get_subject

_MANNER = {"call": Manner.PHONE, "sms": Manner.PHONE, "email": Manner.EMAIL}


class IntentError(FieldError, ValueError):
    """A staff decision that cannot be made; `field` names the input at fault."""

    title = "Cannot decide this intent"
    titles = {404: "Not found"}

    def detail(self) -> str:
        return self.message + "."

    def errors(self) -> list[dict[str, str]]:
        return [{"field": f"body.{self.field}", "message": self.message}]


def reviews_opt_outs(session: Session, organization_id: int) -> bool:
    """True when the adopted declaration sends opt-outs said in conversations to staff."""
    adopted = policy_store.current(session, organization_id)
    section = getattr(adopted.declaration, "conversations", None) if adopted else None
    setting = section.opt_outs if section is not None else said.cues().opt_out_default
    return str(setting) == "review"


def _fingerprint(svc: Services, subject: Subject, interaction: Interaction, text: str) -> str:
    key = svc.keys.derived(f"org:{subject.organization_id}:conversation-intent")
    content = "|".join(
        (
            str(subject.id),
            interaction.channel,
            interaction.direction,
            interaction.started_at.isoformat(),
            hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        )
    )
    return hashlib.blake2b(content.encode(), key=key, digest_size=20).hexdigest()


def _identities(svc: Services, session: Session, subject: Subject) -> list[tuple[IdentityRef, str]]:
    """(ledger reference, value) of every identity of the subject."""
    rows = session.scalars(
        select(Identity)
        .where(
            Identity.organization_id == subject.organization_id,
            Identity.subject_id == subject.id,
        )
        .order_by(Identity.id)
    ).all()
    dek = svc.vault_keys.data_key(subject.organization_id, subject.key_id)
    secret = match_secret(svc.keys, subject.organization_id)
    out = []
    for row in rows:
        value = open_text(
            dek, subject.organization_id, subject.key_id, f"identity:{row.kind}", row.value_sealed
        )
        ref = IdentityRef(
            IdentityKind(row.kind), row.blind_index, match_key(secret, row.kind, value)
        )
        out.append((ref, value))
    return out


def _record_opt_out(
    svc: Services, session: Session, subject: Subject, row: ConversationIntent, actor: Actor
) -> list[int]:
    ids = []
    for ref, _ in _identities(svc, session, subject):
        event, _ = ledger.record(
            session,
            subject.organization_id,
            ref,
            Purpose.ALL.value,
            row.channel or "all",
            Action.OPT_OUT.value,
            Source.CONVERSATION.value,
            actor,
            subject_id=subject.id,
            evidence={
                "interaction_id": row.interaction_id,
                "span": f"{row.span_start}-{row.span_end}",
                "language": row.language,
            },
            occurred_at=row.occurred_at,
            external_ref=f"conversation:{row.fingerprint[:32]}:{row.channel}:{ref.index[:24]}",
        )
        ids.append(event.id)
    return ids


def _open_request(
    svc: Services,
    session: Session,
    subject: Subject,
    row: ConversationIntent,
    channel: str,
    actor: Actor,
    jurisdiction: str,
) -> int:
    request_type = RequestType(row.request_type or "")
    values = _identities(svc, session, subject)
    email = next((v for r, v in values if r.kind is IdentityKind.EMAIL), None)
    phone = next((v for r, v in values if r.kind is IdentityKind.PHONE), None)
    manner = _MANNER.get(channel, Manner.CHAT)
    intake = take_request(
        session,
        svc,
        subject.organization_id,
        NewRequest(
            type=request_type,
            jurisdiction=jurisdiction,
            manner=manner,
            email=email,
            phone=phone,
            received_at=row.occurred_at,
        ),
        actor,
    )
    rule = svc.rules.type_rule(request_type.value)
    log_event(
        session,
        intake.request,
        "said_in_conversation",
        actor,
        {
            "interaction_id": row.interaction_id,
            "span": f"{row.span_start}-{row.span_end}",
            "type_confidence": row.confidence,
            "needs_verification": rule.verified and rule.executes != "opt_out",
        },
    )
    return intake.request.id


@dataclass(frozen=True)
class Acted:
    intent: ConversationIntent
    created: bool


def _executes(request_type: str | None) -> str | None:
    """What the type's row says carrying it out does (None: not a request type)."""
    rule = load_rights_rules().types.get(request_type or "")
    return rule.executes if rule is not None else None


def _rights_review_reason(
    subject: Subject, found: said.Said, reviews: bool, c: said.Cues
) -> ReviewReason | None:
    if found.reason == "unknown_speaker":
        return ReviewReason.UNKNOWN_SPEAKER
    if found.confidence < c.open_at_confidence:
        return ReviewReason.LOW_CONFIDENCE
    executes = _executes(found.request_type)
    if executes == "correct" or subject.jurisdiction is None:
        return ReviewReason.NEEDS_DETAILS
    if reviews and executes == "opt_out":
        return ReviewReason.SETTING
    return None


def act_on_interaction(
    session: Session,
    svc: Services,
    subject: Subject,
    interaction: Interaction,
    text: str,
    spans: Sequence[tuple[str, int, int]],
    actor: Actor,
) -> list[Acted]:
    """Act on the intent `spans` (the screening's OPT_OUT_REQUEST / RIGHTS_REQUEST findings,
    offsets into `text`) of a stored interaction. One act per opt-out channel and per request
    type; a repeat of the same interaction acts on nothing again."""
    if not spans:
        return []
    c = said.cues()
    reading = said.read(
        text,
        spans,
        channel=interaction.channel,
        direction=interaction.direction,
        agent_name=interaction.agent,
    )
    wanted: dict[tuple[str, str], said.Said] = {}
    for found in reading:
        if found.acts or found.reason == "unknown_speaker":
            what = found.channel if found.kind == said.OPT_OUT else found.request_type
            wanted.setdefault((found.kind, what or ""), found)
    if not wanted:
        return []
    base = _fingerprint(svc, subject, interaction, text)
    reviews = reviews_opt_outs(session, subject.organization_id)
    out: list[Acted] = []
    for (kind, what), found in wanted.items():
        fingerprint = hashlib.sha256(f"{base}:{kind}:{what}".encode()).hexdigest()
        existing = session.scalar(
            select(ConversationIntent).where(
                ConversationIntent.organization_id == subject.organization_id,
                ConversationIntent.fingerprint == fingerprint,
            )
        )
        if existing is not None:
            out.append(Acted(existing, False))
            continue
        is_opt_out = kind == said.OPT_OUT
        if is_opt_out:
            reason = (
                ReviewReason.UNKNOWN_SPEAKER
                if found.reason == "unknown_speaker"
                else (ReviewReason.SETTING if reviews else None)
            )
        else:
            reason = _rights_review_reason(subject, found, reviews, c)
        row = ConversationIntent(
            organization_id=subject.organization_id,
            subject_id=subject.id,
            interaction_id=interaction.id,
            fingerprint=fingerprint,
            kind=IntentKind.OPT_OUT.value if is_opt_out else IntentKind.RIGHTS_REQUEST.value,
            status=IntentStatus.QUEUED.value if reason else IntentStatus.APPLIED.value,
            review_reason=reason,
            channel=found.channel,
            request_type=found.request_type,
            confidence=found.confidence if not is_opt_out else 1.0,
            language=found.language,
            speaker=found.speaker,
            span_start=found.start,
            span_end=found.end,
            occurred_at=(
                (interaction.ended_at or interaction.started_at)
                if is_opt_out
                else interaction.started_at
            ),
            consent_event_ids=[],
        )
        session.add(row)
        session.flush()
        if reason is None:
            try:
                _apply(svc, session, subject, row, interaction.channel, actor, subject.jurisdiction)
            except RightsError:
                # Intake refused what the subject's data gave it (a state outside its list):
                # staff give what is missing.
                row.status = IntentStatus.QUEUED.value
                row.review_reason = ReviewReason.NEEDS_DETAILS.value
        _audit(session, row, actor, f"conversation_intent.{row.status}")
        out.append(Acted(row, True))
    return out


def _apply(
    svc: Services,
    session: Session,
    subject: Subject,
    row: ConversationIntent,
    channel: str,
    actor: Actor,
    jurisdiction: str | None,
) -> None:
    if row.kind == IntentKind.OPT_OUT.value:
        row.consent_event_ids = _record_opt_out(svc, session, subject, row, actor)
    else:
        assert jurisdiction is not None
        row.rights_request_id = _open_request(
            svc, session, subject, row, channel, actor, jurisdiction
        )


def _audit(session: Session, row: ConversationIntent, actor: Actor, action: str) -> None:
    append(
        session,
        row.organization_id,
        actor,
        action,
        "conversation_intent",
        row.id,
        {
            "kind": row.kind,
            "subject_id": row.subject_id,
            "interaction_id": row.interaction_id,
            "channel": row.channel,
            "request_type": row.request_type,
            "review_reason": row.review_reason,
            "consent_event_ids": list(row.consent_event_ids or []),
            "rights_request_id": row.rights_request_id,
        },
    )


def queued(
    session: Session, organization_id: int, status: str | None = "queued"
) -> list[ConversationIntent]:
    query = select(ConversationIntent).where(ConversationIntent.organization_id == organization_id)
    if status is not None:
        query = query.where(ConversationIntent.status == status)
    return list(session.scalars(query.order_by(ConversationIntent.id)))


def _queued_row(session: Session, organization_id: int, intent_id: int) -> ConversationIntent:
    row = session.get(ConversationIntent, intent_id)
    if row is None or row.organization_id != organization_id:
        raise IntentError("intent_id", "no conversation intent with that id", 404)
    if row.status != IntentStatus.QUEUED.value:
        raise IntentError(
            "intent_id", f"the intent is {row.status}, not queued: it was decided already", 409
        )
    return row


def confirm(
    session: Session,
    svc: Services,
    organization_id: int,
    intent_id: int,
    actor: Actor,
    *,
    request_type: str | None = None,
    jurisdiction: str | None = None,
    channel: str | None = None,
) -> ConversationIntent:
    """Staff confirm a queued intent: the opt-out is recorded (dated when it was said), or the
    request is opened (its clock started at the interaction). Staff may correct the request
    type, the subject's state and an opt-out's channel."""
    row = _queued_row(session, organization_id, intent_id)
    subject = get_subject(session, organization_id, row.subject_id)
    interaction = session.get(Interaction, row.interaction_id)
    if row.kind == IntentKind.OPT_OUT.value:
        if channel is not None:
            if channel not in ("all", "voice", "sms", "email"):
                raise IntentError("channel", "channel must be one of: all, voice, sms, email")
            row.channel = channel
    else:
        if request_type is not None:
            try:
                chosen = RequestType(request_type)
            except ValueError:
                raise IntentError("request_type", "request_type is not a request type") from None
            # By phone means what its row says (`taken_by`): not an appeal nor a correction.
            if "phone" not in load_rights_rules().type_rule(chosen.value).taken_by:
                raise IntentError(
                    "request_type",
                    "an appeal or a correction cannot be opened from a conversation here; "
                    "record it with POST /v1/requests (a correction lists what to correct)",
                )
            row.request_type = chosen.value
        elif _executes(row.request_type) == "correct":
            raise IntentError(
                "request_type",
                "a correction must list what to correct: record it with POST /v1/requests, "
                "or dismiss this one",
            )
        jurisdiction = jurisdiction or subject.jurisdiction
        if jurisdiction is None:
            raise IntentError(
                "jurisdiction", "the subject's state is not known: give jurisdiction (e.g. CA)"
            )
    try:
        _apply(
            svc,
            session,
            subject,
            row,
            interaction.channel if interaction is not None else "call",
            actor,
            jurisdiction,
        )
    except RightsError as exc:
        field = exc.field.removeprefix("body.")
        raise IntentError(field, exc.message, exc.status) from None
    row.status = IntentStatus.CONFIRMED.value
    row.decided_at = utcnow()
    row.decided_by = actor.id
    _audit(session, row, actor, "conversation_intent.confirmed")
    return row


def dismiss(
    session: Session, organization_id: int, intent_id: int, actor: Actor
) -> ConversationIntent:
    """Staff found the phrase was not a request (nothing is recorded)."""
    row = _queued_row(session, organization_id, intent_id)
    row.status = IntentStatus.DISMISSED.value
    row.decided_at = utcnow()
    row.decided_by = actor.id
    _audit(session, row, actor, "conversation_intent.dismissed")
    return row
