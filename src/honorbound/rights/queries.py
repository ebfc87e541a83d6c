"""Reading requests: the open queue with due dates for staff, and the subject a request is about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.rights.models import OPEN_STATUSES, RightsRequest
from honorbound.vault.models import Subject, SubjectStatus


def list_requests(
    session: Session,
    organization_id: int,
    open_only: bool = True,
    request_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
    *,
    status: str | None = None,
    jurisdiction: str | None = None,
    due_before: dt.datetime | None = None,
    reference: str | None = None,
    assigned_user_id: int | None = None,
    unassigned: bool = False,
) -> list[RightsRequest]:
    """Requests by due date (soonest first), narrowed by type, status, state, due date (due
    before a moment), reference and assignee (a user id, or `unassigned`)."""
    query = select(RightsRequest).where(RightsRequest.organization_id == organization_id)
    if open_only:
        query = query.where(RightsRequest.status.in_([s.value for s in OPEN_STATUSES]))
    if request_type is not None:
        query = query.where(RightsRequest.type == request_type)
    if status is not None:
        query = query.where(RightsRequest.status == status)
    if jurisdiction is not None:
        query = query.where(RightsRequest.jurisdiction == jurisdiction.upper())
    if due_before is not None:
        query = query.where(RightsRequest.due_at < due_before)
    if reference is not None:
        query = query.where(RightsRequest.reference == reference.strip().upper())
    if assigned_user_id is not None:
        query = query.where(RightsRequest.assigned_user_id == assigned_user_id)
    if unassigned:
        query = query.where(RightsRequest.assigned_user_id.is_(None))
    return list(
        session.scalars(
            query.order_by(RightsRequest.due_at, RightsRequest.id).limit(limit).offset(offset)
        )
    )


def live_subject(session: Session, request: RightsRequest) -> Subject | None:
    if request.subject_id is None:
        return None
    subject = session.get(Subject, request.subject_id)
    if (
        subject is None
        or subject.organization_id != request.organization_id
        or subject.status == SubjectStatus.ERASED.value
    ):
        return None
    return subject
