"""Manual systems: the work is a task for the system's named owner, with its own deadline.

The task says what to do (find the person by these values in these collections; for a deletion,
what to do with each field) and is done when the owner uploads evidence: a screenshot, an
export, a ticket from the vendor. The evidence is sealed; its SHA-256 and size go into the
request's timeline and the audit chain. For an access request the uploaded file is the person's
data from that system and goes into their package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.crypto.aead import open_sealed, seal
from honorbound.db.base import utcnow
from honorbound.rights.models import RightsRequest
from honorbound.rights.sealing import open_value, seal_value
from honorbound.rights.timeline import log_event
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import SystemMap, effective_strategy
from honorbound.systems.models import ManualTask, SystemExecution

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
_NAME = re.compile(r"[^A-Za-z0-9._-]")


class TaskError(SystemsError):
    def __init__(self, message: str, field: str = "task", status: int = 422) -> None:
        super().__init__("manual", message, field, status)


def _evidence_key(keys: Any, organization_id: int) -> bytes:
    key: bytes = keys.derived(f"org:{organization_id}:systems-evidence")
    return key


def open_task(
    session: Session,
    keys: Any,
    request: RightsRequest,
    system: SystemMap,
    execution: SystemExecution,
    action: str,
    lookups: dict[str, dict[str, set[Any]]],
) -> ManualTask:
    """The task for this system and request (created the first time)."""
    task = session.scalar(select(ManualTask).where(ManualTask.execution_id == execution.id))
    if task is not None:
        return task
    instructions = {
        "action": action,
        "system": system.name,
        "collections": {
            c.name: {
                "find_by": {
                    f: sorted(str(v) for v in vals) for f, vals in lookups.get(c.name, {}).items()
                },
                "fields": {
                    f.name: effective_strategy(c, f).name if action == "erasure" else "copy"
                    for f in c.fields
                },
            }
            for c in system.collections
            if c.name in lookups
        },
    }
    task = ManualTask(
        organization_id=request.organization_id,
        request_id=request.id,
        execution_id=execution.id,
        system_key=system.key,
        action=action,
        owner=system.connection.owner or "unassigned",
        due_at=utcnow() + dt.timedelta(days=system.connection.deadline_days),
        status="open",
        instructions_sealed=seal_value(
            keys, request.organization_id, request.reference, f"task:{system.key}", instructions
        ),
    )
    session.add(task)
    session.flush()
    log_event(
        session,
        request,
        "system_task_opened",
        Actor.system(),
        {
            "system": system.key,
            "task_id": task.id,
            "owner": task.owner,
            "due_at": task.due_at.isoformat(),
            "after_request_due": task.due_at > request.due_at,
        },
    )
    return task


def get_task(session: Session, organization_id: int, task_id: int) -> ManualTask:
    task = session.scalar(
        select(ManualTask).where(
            ManualTask.id == task_id, ManualTask.organization_id == organization_id
        )
    )
    if task is None:
        raise TaskError("no task with that id in this organization", "task_id", 404)
    return task


def list_tasks(
    session: Session, organization_id: int, status: str | None = "open"
) -> list[ManualTask]:
    query = select(ManualTask).where(ManualTask.organization_id == organization_id)
    if status:
        query = query.where(ManualTask.status == status)
    return list(session.scalars(query.order_by(ManualTask.due_at, ManualTask.id)))


def instructions(session: Session, keys: Any, task: ManualTask) -> dict[str, Any]:
    request = session.get(RightsRequest, task.request_id)
    assert request is not None
    value: dict[str, Any] = open_value(
        keys,
        task.organization_id,
        request.reference,
        f"task:{task.system_key}",
        task.instructions_sealed,
    )
    return value


def complete_task(
    session: Session,
    svc: Any,
    organization_id: int,
    task_id: int,
    actor: Actor,
    evidence_name: str,
    evidence: bytes,
    note: str = "",
) -> ManualTask:
    """The owner did the work: store the evidence (sealed), mark the system done for the
    request. The caller carries the request on (`rights.work.complete_system_task`)."""
    task = get_task(session, organization_id, task_id)
    if task.status == "done":
        raise TaskError("the task is already done", "task_id", 409)
    if not evidence:
        raise TaskError("upload the evidence (a file): the task is done only with it", "evidence")
    if len(evidence) > MAX_EVIDENCE_BYTES:
        raise TaskError(
            f"the evidence is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB", "evidence", 413
        )
    if len(note) > 2000:
        raise TaskError("the note is longer than 2000 characters", "note")
    name = _NAME.sub("_", evidence_name or "evidence")[-100:] or "evidence"
    digest = hashlib.sha256(evidence).hexdigest()
    aad = f"systems|{organization_id}|task:{task.id}".encode()
    task.evidence_sealed = seal(_evidence_key(svc.keys, organization_id), evidence, aad)
    task.evidence_name = name
    task.evidence_sha256 = digest
    task.evidence_size = len(evidence)
    task.note = note.strip() or None
    task.status = "done"
    task.completed_at = utcnow()
    task.completed_by = actor.id
    execution = session.get(SystemExecution, task.execution_id)
    request = session.get(RightsRequest, task.request_id)
    assert execution is not None and request is not None
    execution.status = "done"
    execution.finished_at = utcnow()
    execution.details = {
        "found": True,
        "task_id": task.id,
        "evidence_sha256": digest,
        "evidence_bytes": len(evidence),
    }
    log_event(
        session,
        request,
        "system_task_done",
        actor,
        {
            "system": task.system_key,
            "task_id": task.id,
            "evidence_sha256": digest,
            "late": task.completed_at > task.due_at,
        },
    )
    return task


def evidence_files(
    session: Session, keys: Any, request: RightsRequest, execution: SystemExecution
) -> list[tuple[str, bytes]]:
    """The evidence uploaded for an access request's manual system (it is the person's data)."""
    task = session.scalar(select(ManualTask).where(ManualTask.execution_id == execution.id))
    if task is None or task.evidence_sealed is None or task.action != "access":
        return []
    aad = f"systems|{task.organization_id}|task:{task.id}".encode()
    data = open_sealed(_evidence_key(keys, task.organization_id), task.evidence_sealed, aad)
    return [(task.evidence_name or "evidence", data)]
