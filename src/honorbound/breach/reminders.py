"""Reminders: once a day per open incident, an email to the organization's privacy contact
(the adopted declaration's `contact.email`) listing the duties overdue or due within 72 hours.

A durable job (`REMIND_JOB`, hourly; registered by `honorbound.runtime`). The message names
duties, states and counts, never a person; it is sent through the outbox under the
organization's key. A day's reminder is sent once (`subject_ref` carries incident and date).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach.deadlines import RulesSource
from honorbound.breach.incidents import OBJECT
from honorbound.breach.models import Incident, IncidentStatus
from honorbound.breach.report import pending, summary
from honorbound.db.base import utcnow
from honorbound.notify import outbox
from honorbound.notify.models import Channel, OutboxMessage
from honorbound.policy import store
from honorbound.policy.context import RulesJobContext

REMIND_JOB = "breach.remind"
KIND = "breach.reminder"
SOON = dt.timedelta(hours=72)


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def remind(
    session: Session,
    keys: outbox.KeyRing,
    jobs: outbox.Enqueuer | None,
    rules: RulesSource,
    organization_id: int,
    now: dt.datetime,
) -> int:
    """Queue today's reminders of one organization; returns how many were queued."""
    adopted = store.current(session, organization_id)
    contact = adopted.declaration.contact.email if adopted is not None else None
    if not contact:
        return 0
    open_ones = session.scalars(
        select(Incident).where(
            Incident.organization_id == organization_id,
            Incident.status != IncidentStatus.CLOSED.value,
        )
    ).all()
    queued: list[int] = []
    for incident in open_ones:
        ref = f"breach:{incident.id}:reminder:{now.date().isoformat()}"
        if session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.organization_id == organization_id,
                OutboxMessage.subject_ref == ref,
            )
        ):
            continue
        todo = [
            o
            for o in pending(summary(session, rules, organization_id, incident.id))
            if o.due_at is not None and o.due_at <= now + SOON
        ]
        if not todo:
            continue
        lines = [f"Incident {incident.id} ({incident.title}) has duties overdue or due soon:", ""]
        for o in todo:
            late = "OVERDUE, " if o.due_at is not None and o.due_at < now else ""
            due = _when(o.due_at) if o.due_at else "-"
            lines.append(f"- {late}{o.who} ({o.state}): due {due}, {o.rule}")
        lines += ["", f"The incident: /console/breach/{incident.id}"]
        message = outbox.put(
            session, keys, None, organization_id, Channel.EMAIL, KIND, contact,
            "\n".join(lines) + "\n", subject=f"Breach deadlines: incident {incident.id}",
            subject_ref=ref,
        )  # fmt: skip
        append(
            session, organization_id, Actor.system(), "breach.reminder_queued", OBJECT,
            incident.id, {"duties": len(todo)},
        )  # fmt: skip
        queued.append(message.id)
    # Delivery jobs last (see notices.send_individual_notices).
    if jobs is not None:
        for message_id in queued:
            jobs.enqueue(
                session, outbox.DELIVER_JOB, {"message_id": message_id},
                organization_id=organization_id,
            )  # fmt: skip
    return len(queued)


def remind_job(rt: RulesJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The job handler: every organization with an open incident (or the one named)."""
    now = utcnow()
    with rt.db.session() as session:
        if payload.get("organization_id") is not None:
            orgs = [int(payload["organization_id"])]
        else:
            orgs = sorted(
                set(
                    session.scalars(
                        select(Incident.organization_id).where(
                            Incident.status != IncidentStatus.CLOSED.value
                        )
                    )
                )
            )
    sent = 0
    for org_id in orgs:
        with rt.db.session() as session:
            sent += remind(session, rt.keys, rt.jobs, rt.rule_book, org_id, now)
    return {"reminders": sent}
