"""A subject asking not to be kept any longer than needed.

Alorica's promise to job applicants: "Except where you tell us not to, we will keep the
information for future consideration." A declaration writes that as a retention rule with the
`until_consent_withdrawn` trigger; recording the applicant's request here is what makes the rule
apply to them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.models import RetentionWithdrawal
from honorbound.vault.models import Subject, SubjectStatus

SOURCES = ("email", "phone", "web_form", "postal_mail", "agent", "rights_request", "api")


def record_withdrawal(
    session: Session,
    organization_id: int,
    subject_id: int,
    actor: Actor,
    source: str,
    asked_at: dt.datetime | None = None,
) -> tuple[RetentionWithdrawal, bool]:
    """Record the request; returns (row, created). A second request keeps the first date."""
    if source not in SOURCES:
        raise RetentionInputError("source", f"source must be one of: {', '.join(SOURCES)}")
    now = utcnow()
    asked = asked_at or now
    if asked.tzinfo is None:
        raise RetentionInputError("asked_at", "asked_at needs a time zone (e.g. 'Z')")
    if asked > now + dt.timedelta(minutes=5):
        raise RetentionInputError("asked_at", "asked_at is in the future")
    status = session.scalar(
        select(Subject.status).where(
            Subject.id == subject_id, Subject.organization_id == organization_id
        )
    )
    if status is None or status == SubjectStatus.ERASED.value:
        raise RetentionInputError("subject_id", "no subject with that id in this organization", 404)
    existing = session.scalar(
        select(RetentionWithdrawal).where(
            RetentionWithdrawal.organization_id == organization_id,
            RetentionWithdrawal.subject_id == subject_id,
        )
    )
    if existing is not None:
        return existing, False
    row = RetentionWithdrawal(
        organization_id=organization_id,
        subject_id=subject_id,
        asked_at=asked,
        source=source,
        recorded_by=actor.id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "retention.withdrawal_recorded",
        "subject",
        subject_id,
        {"source": source},
    )
    return row, True
