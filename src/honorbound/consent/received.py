"""Opt-outs staff received: an email to the company, a phone call, a letter.

A person may say "stop" in any reasonable way (47 CFR 64.1200(a)(10); CAN-SPAM lets them reply;
the state laws accept a request by the means they use). Staff record it here with its true
source (`email`, `phone_call` or `letter`), when the person made it, and a reference to the
original (ticket, letter or call id). Recording such a source is a staff action (permission
`consent.record_received`): a connected system cannot claim a person wrote a letter.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import IdentityRef
from honorbound.consent.models import STAFF_SOURCES, Action, ConsentChannel, ConsentEvent, Purpose

# A reference names the original (a ticket, letter or call id), never a person: no spaces,
# no @, so an address or a name cannot end up in it by accident.
_REFERENCE = re.compile(r"^[A-Za-z0-9._:/#-]{1,80}$")


def check_reference(reference: str) -> str:
    if not _REFERENCE.match(reference):
        raise ledger.LedgerError(
            "reference",
            "reference must be 1-80 letters, digits or . _ : / # - (a ticket, letter or call "
            "id; not a name or an address)",
        )
    return reference


def record_received_opt_out(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    actor: Actor,
    *,
    source: str,
    purpose: str = Purpose.ALL.value,
    channel: str = ConsentChannel.ALL.value,
    received_at: dt.datetime | None = None,
    reference: str | None = None,
    subject_id: int | None = None,
) -> tuple[ConsentEvent, bool]:
    """Record one opt-out a staff member received (see `record_received_choice`)."""
    return record_received_choice(
        session,
        organization_id,
        identity,
        actor,
        action=Action.OPT_OUT.value,
        source=source,
        purpose=purpose,
        channel=channel,
        received_at=received_at,
        reference=reference,
        subject_id=subject_id,
    )


def record_received_choice(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    actor: Actor,
    *,
    action: str,
    source: str,
    purpose: str = Purpose.ALL.value,
    channel: str = ConsentChannel.ALL.value,
    received_at: dt.datetime | None = None,
    reference: str | None = None,
    subject_id: int | None = None,
) -> tuple[ConsentEvent, bool]:
    """Record one opt-out or opt-in a staff member received (an agent on a call: the person
    said so); the ledger's own rules apply to an opt-in as to any other source. `received_at`
    is when the person sent or said it (a letter: the day it arrived), which orders it among
    their other choices; a repeat of the same reference for the same identity, purpose and
    channel records nothing."""
    if source not in {s.value for s in STAFF_SOURCES}:
        allowed = ", ".join(sorted(s.value for s in STAFF_SOURCES))
        raise ledger.LedgerError("source", f"source must be one of: {allowed}")
    if action not in {a.value for a in Action}:
        raise ledger.LedgerError("action", "action must be opt_out or opt_in")
    evidence: dict[str, str] = {}
    external_ref = None
    if reference:
        evidence["request_ref"] = check_reference(reference)
        external_ref = f"received:{source}:{reference}:{identity.index[:24]}:{purpose}:{channel}"
        if action != Action.OPT_OUT.value:
            external_ref += f":{action}"
    try:
        return _record(
            session,
            organization_id,
            identity,
            actor,
            action,
            source,
            purpose,
            channel,
            received_at,
            evidence,
            external_ref,
            subject_id,
        )
    except ledger.LedgerError as exc:
        if exc.field == "occurred_at":  # the caller's name for it
            raise ledger.LedgerError(
                "received_at", exc.message.replace("occurred_at", "received_at")
            ) from None
        raise


def _record(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    actor: Actor,
    action: str,
    source: str,
    purpose: str,
    channel: str,
    received_at: dt.datetime | None,
    evidence: dict[str, str],
    external_ref: str | None,
    subject_id: int | None,
) -> tuple[ConsentEvent, bool]:
    return ledger.record(
        session,
        organization_id,
        identity,
        purpose,
        channel,
        action,
        source,
        actor,
        subject_id=subject_id,
        evidence=evidence,
        occurred_at=received_at,
        external_ref=external_ref,
    )
