"""The periodic sweep: reminders at 50% and 80% of the period and on the due day; requests
still unverified on their due day are denied with notice (11 CCR 7021(b)); a request for
specific pieces verified only to the categories standard is answered as one for categories
(11 CCR 7024). Records past their 24 months (7101) are deleted by `purge_records`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.notify.models import Channel
from honorbound.rights import clock, messages
from honorbound.rights.context import Services
from honorbound.rights.execution import deny, privacy_contact, queue_execution
from honorbound.rights.models import (
    OPEN_STATUSES,
    DenialBasis,
    RequestEvent,
    RequestToken,
    RequestType,
    RightsRequest,
    Status,
)
from honorbound.rights.outgoing import organization, send
from honorbound.rights.timeline import log_event

SWEEP_JOB = "rights.sweep"
PURGE_JOB = "rights.purge_records"


@dataclass
class SweepResult:
    reminders: int = 0
    denied_unverified: int = 0
    downgraded: int = 0


def sweep(
    session: Session,
    svc: Services,
    organization_id: int | None = None,
    now: dt.datetime | None = None,
) -> SweepResult:
    now = now or utcnow()
    result = SweepResult()
    query = select(RightsRequest).where(RightsRequest.status.in_([s.value for s in OPEN_STATUSES]))
    if organization_id is not None:
        query = query.where(RightsRequest.organization_id == organization_id)
    actor = Actor.system()
    levels = sorted(svc.rules.settings.reminders_at_percent)
    for request in session.scalars(query.order_by(RightsRequest.due_at)).all():
        percent = clock.elapsed_percent(request.received_at, request.due_at, now)
        due_day = now.date() >= request.due_at.date()
        level = 100 if due_day else max([p for p in levels if percent >= p], default=0)
        if level > request.reminder_level:
            request.reminder_level = level
            log_event(session, request, "reminder", actor, {"percent": level})
            contact = privacy_contact(session, request.organization_id)
            if contact:
                org = organization(session, request.organization_id)
                mail = messages.staff_reminder(org.name, request.reference, level, request.due_at)
                send(
                    session,
                    svc,
                    request.organization_id,
                    Channel.EMAIL,
                    "rights.reminder",
                    contact,
                    mail.body,
                    subject=mail.subject,
                    subject_ref=f"rights_request:{request.id}",
                    actor=actor,
                )
            result.reminders += 1
        if not due_day or request.status != Status.VERIFYING.value:
            continue
        categories_points = svc.rules.type_rule(RequestType.ACCESS_CATEGORIES.value).data_points
        if request.type == RequestType.ACCESS_SPECIFIC.value and request.subject_id is not None:
            best = _best_points(session, request)
            if best >= categories_points:
                request.type = RequestType.ACCESS_CATEGORIES.value
                request.verified_at = now
                request.verification_points = best
                request.status = Status.IN_PROGRESS.value
                log_event(session, request, "handled_as_categories", actor, {"matched": best})
                queue_execution(session, svc, request)
                result.downgraded += 1
                continue
        deny(
            session,
            svc,
            request.organization_id,
            request.id,
            DenialBasis.UNVERIFIABLE,
            "We did not receive enough matching information to verify the request by its due date.",
            actor,
        )
        result.denied_unverified += 1
    return result


def _best_points(session: Session, request: RightsRequest) -> int:
    """The most data points any verification attempt of this request matched."""
    best = 0
    for details in session.scalars(
        select(RequestEvent.details).where(
            RequestEvent.request_id == request.id, RequestEvent.kind == "verification_incomplete"
        )
    ):
        best = max(best, int(details.get("matched", 0)))
    return best


def purge_records(session: Session, now: dt.datetime | None = None) -> int:
    """Delete closed requests whose record period (CA 7101: 24 months) has ended."""
    now = now or utcnow()
    rows = session.execute(
        select(RightsRequest.id, RightsRequest.organization_id).where(
            RightsRequest.retain_until < now,
            RightsRequest.status.in_([Status.COMPLETED.value, Status.DENIED.value]),
        )
    ).all()
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    session.execute(
        update(RightsRequest).where(RightsRequest.appeal_of_id.in_(ids)).values(appeal_of_id=None)
    )
    for model in (RequestEvent, RequestToken):
        session.execute(delete(model).where(model.request_id.in_(ids)))
    session.execute(delete(RightsRequest).where(RightsRequest.id.in_(ids)))
    per_org: dict[int, int] = {}
    for _, org_id in rows:
        per_org[org_id] = per_org.get(org_id, 0) + 1
    for org_id, count in per_org.items():
        append(
            session,
            org_id,
            Actor.system(),
            "rights.records_purged",
            "rights_request",
            "",
            {"count": count},
        )
    return len(ids)
