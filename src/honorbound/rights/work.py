"""Staff work on one request: who is assigned to it, the steps it runs in connected systems
(retry a failed or stuck one, or mark one done by hand), and the mail sent about it.

Every change is on the request's timeline and in the audit log (`timeline.log_event`), with the
staff member as actor; retrying or completing a step needs a reason, which is kept with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Membership, User
from honorbound.accounts.roles import Role, allowed
from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.notify.models import OutboxMessage
from honorbound.rights.closing import get_request
from honorbound.rights.errors import RightsError
from honorbound.rights.execution import queue_execution
from honorbound.rights.models import RightsRequest, Status
from honorbound.rights.timeline import log_event
from honorbound.systems import tasks
from honorbound.systems.errors import SystemsError
from honorbound.systems.models import ManualTask, SystemExecution
from honorbound.systems.requests import receive_callback

MAX_REASON = 500


@dataclass(frozen=True)
class Assignee:
    user_id: int
    username: str


@dataclass(frozen=True)
class Mail:
    id: int
    created_at: dt.datetime
    channel: str
    kind: str
    status: str
    sent_at: dt.datetime | None


def assignees(session: Session, organization_id: int) -> list[Assignee]:
    """Active members who may work on requests (their role reads them)."""
    rows = session.execute(
        select(User.id, User.username, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, User.active.is_(True))
        .order_by(User.username)
        .limit(1000)
    ).all()
    return [
        Assignee(user_id, username)
        for user_id, username, role in rows
        if allowed(Role(role), "rights.read")
    ]


def assign(
    session: Session, organization_id: int, request_id: int, user_id: int | None, actor: Actor
) -> RightsRequest:
    """Assign the request to a staff member (None: nobody)."""
    request = get_request(session, organization_id, request_id)
    if user_id is not None and user_id not in {
        a.user_id for a in assignees(session, organization_id)
    }:
        raise RightsError("body.assignee", "choose a staff member of this organization")
    if request.assigned_user_id == user_id:
        return request
    request.assigned_user_id = user_id
    log_event(
        session,
        request,
        "assigned" if user_id is not None else "unassigned",
        actor,
        {"to": f"user:{user_id}" if user_id is not None else None},
    )
    return request


def steps(session: Session, request: RightsRequest) -> list[SystemExecution]:
    return list(
        session.scalars(
            select(SystemExecution)
            .where(SystemExecution.request_id == request.id)
            .order_by(SystemExecution.id)
        )
    )


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise RightsError("body.reason", "say why (it is kept on the timeline)")
    if len(text) > MAX_REASON:
        raise RightsError("body.reason", f"keep the reason under {MAX_REASON} characters")
    return text


def _step(
    session: Session, organization_id: int, request_id: int, step_id: int
) -> tuple[RightsRequest, SystemExecution]:
    request = get_request(session, organization_id, request_id)
    step = session.scalar(
        select(SystemExecution).where(
            SystemExecution.id == step_id,
            SystemExecution.request_id == request.id,
            SystemExecution.organization_id == organization_id,
        )
    )
    if step is None:
        raise RightsError("path.step_id", "this request has no such step", status=404)
    if request.closed_at is not None:
        raise RightsError("request", "the request is closed", status=409)
    if step.status == "done":
        raise RightsError("request", "this step is already done", status=409)
    return request, step


def retry_step(
    session: Session,
    svc: Any,
    organization_id: int,
    request_id: int,
    step_id: int,
    reason: str,
    actor: Actor,
) -> RightsRequest:
    """Run the request again now for a failed or stuck step (the automatic retries wait, and
    stop after the last delay)."""
    text = _reason(reason)
    request, step = _step(session, organization_id, request_id, step_id)
    log_event(
        session,
        request,
        "step_retried",
        actor,
        {"system": step.system_key, "action": step.action, "reason": text},
    )
    if request.status != Status.PARTLY_DONE.value:
        request.status = Status.PARTLY_DONE.value
    queue_execution(session, svc, request)
    return request


def complete_step(
    session: Session,
    svc: Any,
    organization_id: int,
    request_id: int,
    step_id: int,
    reason: str,
    actor: Actor,
) -> RightsRequest:
    """Staff did the step by hand (e.g. deleted the rows themselves): it counts as done and the
    request runs again so it can finish. A step with an open manual task is completed with its
    evidence instead (Systems page / API)."""
    text = _reason(reason)
    request, step = _step(session, organization_id, request_id, step_id)
    task = session.scalar(
        select(ManualTask.id).where(ManualTask.execution_id == step.id, ManualTask.status == "open")
    )
    if task is not None:
        raise RightsError(
            "request",
            "this step has an open manual task: complete it with its evidence",
            status=409,
        )
    step.status = "done"
    step.finished_at = utcnow()
    step.updated_at = utcnow()
    step.details = {**(step.details or {}), "found": True, "completed_by_staff": actor.id}
    log_event(
        session,
        request,
        "step_completed_manually",
        actor,
        {"system": step.system_key, "action": step.action, "reason": text},
    )
    queue_execution(session, svc, request)
    return request


def mail_of(session: Session, request: RightsRequest) -> list[Mail]:
    """The messages sent about the request (their contents stay sealed in the outbox)."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.organization_id == request.organization_id,
            OutboxMessage.subject_ref == f"rights_request:{request.id}",
        )
        .order_by(OutboxMessage.id)
        .limit(200)
    )
    return [Mail(m.id, m.created_at, m.channel, m.kind, m.status, m.sent_at) for m in rows]


# -- connected systems report back: the request goes on -----------------------------------------
def complete_system_task(
    session: Session,
    svc: Any,
    organization_id: int,
    task_id: int,
    actor: Actor,
    evidence_name: str,
    evidence: bytes,
    note: str = "",
) -> ManualTask:
    """The owner of a manual task did the work (`systems.tasks.complete_task` keeps the
    evidence); the request runs again so it can finish."""
    task = tasks.complete_task(
        session, svc, organization_id, task_id, actor, evidence_name, evidence, note
    )
    _carry_on(session, svc, task.request_id)
    return task


def receive_system_callback(
    session: Session,
    svc: Any,
    token: str,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
) -> SystemExecution:
    """A webhook system reports a long job's result (`systems.requests.receive_callback`
    checks it); a finished step lets the request run again."""
    execution = receive_callback(session, svc, token, timestamp, signature_header, body)
    if execution.status == "done":
        _carry_on(session, svc, execution.request_id)
    return execution


def retry_request(
    session: Session, svc: Any, organization_id: int, request_id: int
) -> RightsRequest:
    """Staff retry a partly done request now (the automatic retries wait between attempts)."""
    request = get_request(session, organization_id, request_id)
    if request.status != Status.PARTLY_DONE.value:
        raise SystemsError(
            "request", f"the request is {request.status}, not partly done", "request", 409
        )
    queue_execution(session, svc, request)
    return request


def _carry_on(session: Session, svc: Any, request_id: int) -> None:
    request = session.get(RightsRequest, request_id)
    if request is not None and request.closed_at is None:
        queue_execution(session, svc, request)
