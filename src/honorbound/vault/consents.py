"""Consent evidence for collection comes from the consent ledger, not from a request flag.

A record that needs opt-in consent (sensitive data where the subject's state, or the
strictest state the notice covers, asks for it; a purpose the notice says needs opt-in) names
what it needs as a `rules.ConsentNeed`: a ledger purpose and scope. The vault reads the events
of the subject (by subject id and by each of their identities' blind index, which is the
ledger's identity index) and takes the deciding one in the ledger's own order
(`consent.ledger.precedence`: the choice made last wins, an opt-out at the same instant):

- an opt-out (of that purpose, of that scope or all scopes, or of everything: purpose `all`) is
  decisive: nothing is stored, whatever the caller says (`consent_withdrawn`). A new opt-in
  must be recorded in the ledger itself (`POST /v1/consent/events`) before the data is stored;
- an opt-in of that purpose and scope (or all scopes) is the evidence;
- nothing on file: the caller's claim (`consent.opt_in: true`) is recorded in the ledger as an
  opt-in event with its source and evidence, and that event is the evidence; without a claim
  the write is refused with the need's rule.

Channels do not narrow consent to use data: an event on any channel counts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import IdentityRef, match_key, match_secret
from honorbound.consent.models import Action, ConsentEvent, Purpose, Source
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity, Subject
from honorbound.vault.rules import CollectionRefused, ConsentNeed
from honorbound.vault.sealing import open_text


@dataclass(frozen=True)
class Consent:
    """What the caller says about consent when sending a record: a claim, recorded in the
    consent ledger as an event with its `source` (a `consent.models.Source` value), dated
    `occurred_at` (when the person gave it; default now). `evidence` is stored sealed with the
    record; its ledger fields (`recording_ref`, `form_id`, `text_shown`, ...) go to the event."""

    opt_in: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = Source.CONTROLLER_API.value
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class Evidence:
    """The ledger event each need was met by, and whether it was recorded now from the claim."""

    event_ids: tuple[int, ...]
    claimed: bool


def subject_events(session: Session, subject: Subject) -> list[ConsentEvent]:
    """Every ledger event of the subject: by subject id, and by any of their identities."""
    indexes = select(Identity.blind_index).where(
        Identity.organization_id == subject.organization_id, Identity.subject_id == subject.id
    )
    return list(
        session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.organization_id == subject.organization_id,
                or_(
                    ConsentEvent.subject_id == subject.id,
                    ConsentEvent.identity_index.in_(indexes),
                ),
            )
        )
    )


def deciding_event(events: Sequence[ConsentEvent], need: ConsentNeed) -> ConsentEvent | None:
    """The newest event (ledger precedence) that speaks to `need`: of its purpose, for its
    scope or every scope; an opt-out of everything (`all`) speaks to every need."""
    found: ConsentEvent | None = None
    for event in events:
        mine = event.purpose == need.purpose and event.scope in ("", need.scope)
        everything = event.purpose == Purpose.ALL.value and event.action == Action.OPT_OUT.value
        if not (mine or everything):
            continue
        if found is None or ledger.precedence(event) > ledger.precedence(found):
            found = event
    return found


def _identity_ref(keys: KeyStore, session: Session, subject: Subject) -> IdentityRef:
    identity = session.scalars(
        select(Identity)
        .where(
            Identity.organization_id == subject.organization_id,
            Identity.subject_id == subject.id,
        )
        .order_by(Identity.id)
        .limit(1)
    ).one()
    dek = keys.data_key(subject.organization_id, subject.key_id)
    value = open_text(
        dek,
        subject.organization_id,
        subject.key_id,
        f"identity:{identity.kind}",
        identity.value_sealed,
    )
    secret = match_secret(keys, subject.organization_id)
    return IdentityRef(
        IdentityKind(identity.kind), identity.blind_index, match_key(secret, identity.kind, value)
    )


def withdrawn(need: ConsentNeed, event: ConsentEvent) -> CollectionRefused:
    return CollectionRefused(
        "consent_withdrawn",
        "body.consent",
        f"the consent ledger records an opt-out ({event.purpose}, event {event.id}) that "
        f"covers this record ({need.purpose} '{need.scope}'); nothing was stored. A new opt-in "
        "must be recorded in the consent ledger (POST /v1/consent/events) first",
    )


def meet(
    session: Session,
    keys: KeyStore,
    subject: Subject,
    needs: Sequence[ConsentNeed],
    claim: Consent | None,
    actor: Actor,
) -> Evidence:
    """Meet every need from the ledger, recording the caller's claim where the ledger has
    nothing. Raises the need's refusal (no consent) or `consent_withdrawn` (an opt-out)."""
    if not needs:
        return Evidence((), False)
    events = subject_events(session, subject)
    deciding = [(need, deciding_event(events, need)) for need in needs]
    # Refuse before anything is recorded: a claim never outranks an opt-out on file.
    for need, event in deciding:
        if event is not None and event.action == Action.OPT_OUT.value:
            raise withdrawn(need, event)
    for need, event in deciding:
        if event is None and not (claim and claim.opt_in):
            raise need.refusal
    ids: list[int] = []
    claimed = False
    ref: IdentityRef | None = None
    for need, event in deciding:
        if event is None:
            assert claim is not None
            ref = ref or _identity_ref(keys, session, subject)
            evidence = {k: v for k, v in claim.evidence.items() if k in ledger.EVIDENCE_FIELDS}
            try:
                event, _ = ledger.record(
                    session,
                    subject.organization_id,
                    ref,
                    need.purpose,
                    "all",
                    Action.OPT_IN.value,
                    claim.source,
                    actor,
                    scope=need.scope,
                    subject_id=subject.id,
                    evidence=json.loads(json.dumps(evidence, default=str)),
                    occurred_at=claim.occurred_at,
                )
            except ledger.LedgerError as exc:
                raise CollectionRefused(
                    "consent_invalid", f"body.consent.{exc.field}", exc.message
                ) from None
            claimed = True
        ids.append(event.id)
    return Evidence(tuple(ids), claimed)
