"""Global Privacy Control: `Sec-GPC: 1` is an opt-out of sale, sharing and targeted advertising.

It is honored for the identified person (or, without one, the browser's cookie id) when the
person's state requires it (`policy/data/us-rules.yaml`, universal opt-out), when the
organization's notice promises to honor it everywhere, and whenever the person's state is
unknown or has no law in force: the organization's default for such a person is the strictest
rule, and California expects the signal processed per browser even when the person is unknown
(11 CCR 7025; `JurisdictionRules.unknown_state_rule`). A signal that repeats a choice already
in force records nothing, so a browser sending the header on every request adds one event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import IdentityRef, Keys
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent, Purpose, Source
from honorbound.consent.rules import ContactRules
from honorbound.consent.suppression import subject_identities
from honorbound.db.base import utcnow
from honorbound.policy.jurisdictions import JurisdictionRules

GPC_PURPOSES = (Purpose.SALE.value, Purpose.SHARING.value, Purpose.TARGETED_ADVERTISING.value)


def signal_present(headers: Mapping[str, str]) -> bool:
    """Only the exact value "1" is a signal (GPC draft, section 3); absent = no preference."""
    return headers.get("sec-gpc", "").strip() == "1"


def applies(
    state: str | None,
    declaration_promises: bool,
    on: dt.date,
    laws: JurisdictionRules,
    scope: frozenset[str] | None = None,
) -> bool:
    """Must the signal be honored for a person of `state` (None: unknown) on `on`? `laws` is
    the runtime's one rules object; `scope` the states of the organization's default."""
    if declaration_promises:
        return True
    return laws.rule_for(state, on, scope).gpc_required(on)


@dataclass(frozen=True)
class Honored:
    """What a signal came to: whether it is honored for this browser or person (recorded now,
    or already in force), and the events recorded now. `display` is what the page or answer
    must show (11 CCR 7025(c)(6)), None when the signal did not apply."""

    honored: bool
    recorded: list[ConsentEvent] = field(default_factory=list)
    display: str | None = None


def honor_signal(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    *,
    state: str | None,
    declaration_promises: bool,
    laws: JurisdictionRules,
    contact: ContactRules,
    subject_id: int | None = None,
    evidence: dict[str, str] | None = None,
) -> Honored:
    """`record_signal`, with whether the signal is honored and the text that says so."""
    if not applies(state, declaration_promises, utcnow().date(), laws):
        return Honored(False)
    created = record_signal(
        session,
        organization_id,
        identity,
        state=state,
        declaration_promises=declaration_promises,
        laws=laws,
        subject_id=subject_id,
        evidence=evidence,
    )
    return Honored(True, created, contact.gpc_honored_display)


def honor_for_subject(
    session: Session,
    keys: Keys,
    vault_keys: Any,
    organization_id: int,
    subject_id: int,
    *,
    state: str | None,
    declaration_promises: bool,
    laws: JurisdictionRules,
    contact: ContactRules,
    evidence: dict[str, str] | None = None,
) -> Honored:
    """A signal that came with a collection call (a form or site backend forwarding the
    person's request): applied, like on the portal, to every identity the vault holds for the
    subject (their email, phone, the browser's cookie id), under the subject's state."""
    if not applies(state, declaration_promises, utcnow().date(), laws):
        return Honored(False)
    created: list[ConsentEvent] = []
    for ref in subject_identities(session, keys, vault_keys, organization_id, subject_id):
        created += record_signal(
            session,
            organization_id,
            ref,
            state=state,
            declaration_promises=declaration_promises,
            laws=laws,
            subject_id=subject_id,
            evidence=evidence,
        )
    return Honored(True, created, contact.gpc_honored_display)


def record_signal(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    *,
    state: str | None,
    declaration_promises: bool,
    laws: JurisdictionRules,
    subject_id: int | None = None,
    evidence: dict[str, str] | None = None,
) -> list[ConsentEvent]:
    """Record the opt-outs a GPC signal means for this identity; returns the new events.
    A person whose state is unknown gets the organization's default, which honors it."""
    now = utcnow()
    if not applies(state, declaration_promises, now.date(), laws):
        return []
    history = list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.organization_id == organization_id,
                ConsentEvent.identity_index == identity.index,
            )
            .order_by(ConsentEvent.id)
        )
    )
    created = []
    for purpose in GPC_PURPOSES:
        current = ledger.effective_action(history, purpose, ConsentChannel.ALL.value, "")
        if current is not None and current.action == Action.OPT_OUT.value:
            continue
        event, _ = ledger.record(
            session,
            organization_id,
            identity,
            purpose,
            ConsentChannel.ALL.value,
            Action.OPT_OUT.value,
            Source.GPC_SIGNAL.value,
            Actor("consumer", "consumer"),
            subject_id=subject_id,
            evidence={**(evidence or {}), **({"jurisdiction": state} if state else {})},
        )
        created.append(event)
    return created


def declaration_promises(session: Session, organization_id: int) -> bool:
    """True when the organization's adopted notice says it honors opt-out preference signals."""
    from honorbound.policy import store

    adopted = store.current(session, organization_id)
    if adopted is None:
        return False
    cookies = getattr(adopted.declaration, "cookies", None)
    return bool(getattr(cookies, "honors_opt_out_preference_signal", False))
