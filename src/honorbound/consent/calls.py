"""The call log the call caps count: one row per dial to an identity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.consent.identity import IdentityRef
from honorbound.consent.models import CallAttempt, Purpose
from honorbound.db.base import utcnow


def record_attempt(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    purpose: str,
    actor: Actor,
    called_at: dt.datetime | None = None,
    outcome: str = "",
) -> CallAttempt:
    Purpose(purpose)
    now = utcnow()
    at = called_at or now
    if at.tzinfo is None:
        raise ValueError("called_at needs a time zone")
    if at > now + dt.timedelta(minutes=5):
        raise ValueError("called_at is in the future")
    row = CallAttempt(
        organization_id=organization_id,
        identity_index=identity.index,
        match_key=identity.match_key,
        purpose=purpose,
        called_at=at,
        outcome=outcome[:32],
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "consent.call_attempt",
        "call_attempt",
        row.id,
        {"purpose": purpose},
    )
    return row
