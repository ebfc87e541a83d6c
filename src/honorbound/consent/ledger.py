"""The append-only consent ledger: record a choice, read the history and the current state.

Current state is derived, never stored: for each (purpose, channel, scope) the latest choice
wins. Wildcards (`purpose=all`, `channel=all`, `scope=""`) cover every value; a decision looks at
all the events that cover it and takes the latest.

"Latest" means the choice the person made last (`occurred_at`), not the one recorded last: a CRM
import or a late webhook carrying an opt-in dated before an opt-out is kept in the history but
never lifts the newer opt-out. At the same instant the opt-out wins (the more protective choice);
`precedence` is the one definition of that order, and the decision snapshot mirrors it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.audit.chain import lock_chain
from honorbound.consent.identity import IdentityRef, Keys, nanp_digits
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent, Purpose, Source
from honorbound.db.base import utcnow
from honorbound.errors import FieldError

EVIDENCE_FIELDS = frozenset(
    {
        "text_shown",
        "policy_version",
        "ip_hash",
        "user_agent_hash",
        "recording_ref",
        "keyword",
        "language",
        "form_id",
        "list_id",
        "request_ref",
        "jurisdiction",
        # An opt-out said in a conversation: the interaction and the span's offsets in it.
        "interaction_id",
        "span",
    }
)


class LedgerError(FieldError, ValueError):
    """A choice that cannot be recorded; `field` names the input at fault."""

    title = "Invalid consent event"


def hash_evidence(keys: Keys, organization_id: int, value: str) -> str:
    """Keyed hash of an IP address or user agent: provable later, unreadable now."""
    key = keys.derived(f"org:{organization_id}:consent-evidence")
    return hashlib.blake2b(value.encode(), key=key, digest_size=16).hexdigest()


def _enum(
    kind: type[Purpose] | type[ConsentChannel] | type[Action] | type[Source], field: str, value: str
) -> str:
    try:
        return str(kind(value).value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise LedgerError(field, f"{field} must be one of: {allowed}") from None


def record(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    purpose: str,
    channel: str,
    action: str,
    source: str,
    actor: Actor,
    *,
    scope: str = "",
    subject_id: int | None = None,
    evidence: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
    external_ref: str | None = None,
) -> tuple[ConsentEvent, bool]:
    """Append one choice; returns (event, created). A repeated `external_ref` returns the
    first event and records nothing. Decisions see the event as soon as the transaction
    commits (the decision engine reads events newer than its snapshot on every batch)."""
    purpose = _enum(Purpose, "purpose", purpose)
    channel = _enum(ConsentChannel, "channel", channel)
    action = _enum(Action, "action", action)
    source = _enum(Source, "source", source)
    evidence = dict(evidence or {})
    unknown = sorted(set(evidence) - EVIDENCE_FIELDS)
    if unknown:
        raise LedgerError("evidence", f"evidence has unknown fields: {', '.join(unknown)}")
    if len(scope) > 120:
        raise LedgerError("scope", "scope must be at most 120 characters")
    if scope and channel in (ConsentChannel.SMS.value, ConsentChannel.VOICE.value):
        # Our sending numbers are compared in E.164, however the caller wrote them.
        digits = nanp_digits(scope)
        scope = f"+1{digits}" if digits is not None else scope
    now = utcnow()
    occurred = occurred_at or now
    if occurred.tzinfo is None:
        raise LedgerError("occurred_at", "occurred_at needs a time zone (e.g. 'Z')")
    if occurred > now + dt.timedelta(minutes=5):
        raise LedgerError("occurred_at", "occurred_at is in the future")
    # Within the 5 minutes allowed for a sender's clock running ahead, the choice is dated
    # when we learned of it: a choice cannot have been made later than that, and an opt-in
    # dated ahead would otherwise outrank an opt-out the person makes in the next minutes.
    occurred = min(occurred, now)
    # The chain lock before anything is read or written: two deliveries of one webhook then
    # find each other's event (no duplicate-key error), and per organization event ids commit
    # in order, which the decision snapshot's "ids above the last one seen" relies on.
    lock_chain(session, organization_id)
    if external_ref is not None:
        existing = session.scalar(
            select(ConsentEvent).where(
                ConsentEvent.organization_id == organization_id,
                ConsentEvent.external_ref == external_ref,
            )
        )
        if existing is not None:
            return existing, False
    event = ConsentEvent(
        organization_id=organization_id,
        identity_kind=identity.kind.value,
        identity_index=identity.index,
        match_key=identity.match_key,
        subject_id=subject_id,
        purpose=purpose,
        channel=channel,
        scope=scope,
        action=action,
        source=source,
        evidence=json.dumps(evidence, sort_keys=True),
        occurred_at=occurred,
        recorded_at=now,
        receipt_id=str(uuid.uuid4()),
        external_ref=external_ref,
        actor_id=actor.id,
    )
    session.add(event)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        f"consent.{action}",
        "consent_event",
        event.id,
        {"purpose": purpose, "channel": channel, "source": source, "scoped": bool(scope)},
    )
    return event, True


def precedence(event: ConsentEvent) -> tuple[dt.datetime, int, int]:
    """Sort key of the order in which choices override each other: when the person made the
    choice; at the same instant an opt-out after an opt-in (the more protective choice wins);
    then recording order, which only breaks ties between identical choices."""
    return (event.occurred_at, 1 if event.action == Action.OPT_OUT.value else 0, event.id)


def history(session: Session, organization_id: int, identity_index: str) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.organization_id == organization_id,
                ConsentEvent.identity_index == identity_index,
            )
            .order_by(ConsentEvent.id)
        )
    )


@dataclass(frozen=True)
class StateEntry:
    purpose: str
    channel: str
    scope: str
    action: str
    since: dt.datetime
    event_id: int


def current_state(events: list[ConsentEvent]) -> list[StateEntry]:
    """The deciding event per (purpose, channel, scope), in `precedence` order (the history may
    come in any order). `since` is when the person made that choice."""
    latest: dict[tuple[str, str, str], ConsentEvent] = {}
    for event in sorted(events, key=precedence):
        latest[(event.purpose, event.channel, event.scope)] = event
    return [
        StateEntry(e.purpose, e.channel, e.scope, e.action, e.occurred_at, e.id)
        for e in sorted(latest.values(), key=lambda e: (e.purpose, e.channel, e.scope))
    ]


def covers(entry_value: str, wildcard: str, wanted: str) -> bool:
    return entry_value in (wanted, wildcard)


def effective_action(
    events: list[ConsentEvent], purpose: str, channel: str, scope: str | None
) -> ConsentEvent | None:
    """The event that decides (purpose, channel, scope): among the latest event per covering
    (purpose, channel, scope) combination, the newest, both in `precedence` order. Covering:
    purpose or `all`, channel or `all`, scope "" or the given sender/list. With scope None (no
    sender named) the latest state of every sender/list counts when it is an opt-out: the
    conservative reading."""
    latest: dict[tuple[str, str, str], ConsentEvent] = {}
    for event in events:
        if covers(event.purpose, Purpose.ALL, purpose) and covers(
            event.channel, ConsentChannel.ALL, channel
        ):
            key = (event.purpose, event.channel, event.scope)
            if key not in latest or precedence(event) > precedence(latest[key]):
                latest[key] = event
    found: ConsentEvent | None = None
    for (_, _, event_scope), event in latest.items():
        if event_scope and scope is None and event.action != Action.OPT_OUT:
            continue
        if event_scope and scope is not None and event_scope != scope:
            continue
        if found is None or precedence(event) > precedence(found):
            found = event
    return found
