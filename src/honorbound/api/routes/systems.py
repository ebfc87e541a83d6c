"""Connected systems API: list, check and connect maps, drift scan results, manual tasks,
webhook callbacks, retry of a partly done request. Thin: parse, call one domain function."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import RawBody, RowId, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.rights import work
from honorbound.rights.jobs import services
from honorbound.systems import registry, tasks
from honorbound.systems.check import check_text
from honorbound.systems.jobs import SCAN_JOB
from honorbound.systems.protocol import SIGNATURE, TIMESTAMP
from honorbound.systems.requests import executions
from honorbound.systems.scan import latest

router = APIRouter(prefix="/v1/systems", tags=["systems"])
# Webhook systems call back without an API key: the token and the signature authenticate.
public = APIRouter(prefix="/v1/public/systems", tags=["systems"])
Reader = Annotated[Principal, Depends(require("reports.read"))]
Manager = Annotated[Principal, Depends(require("policy.manage"))]
RightsManager = Annotated[Principal, Depends(require("rights.manage"))]
RightsReader = Annotated[Principal, Depends(require("rights.read"))]
MAX_MAP_CHARS = 1_000_000
MAX_CALLBACK_BYTES = 20 * 1024 * 1024


class SystemOut(BaseModel):
    key: str
    name: str
    type: str
    map_sha256: str
    collections: list[str]


@router.get("", response_model=list[SystemOut])
def list_systems(principal: Reader, session: SessionDep) -> list[SystemOut]:
    """The organization's connected systems (maps hold no secrets)."""
    maps = {m.key: m for m in registry.connected(session, principal.organization_id)}
    return [
        SystemOut(
            key=r.key,
            name=r.name,
            type=r.type,
            map_sha256=r.map_sha256,
            collections=[c.name for c in maps[r.key].collections] if r.key in maps else [],
        )
        for r in registry.rows(session, principal.organization_id)
    ]


class MapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    map: str = Field(max_length=MAX_MAP_CHARS, description="A dataset map (Fides YAML).")
    file: str = Field(default="map.yaml", max_length=200)
    live: bool = Field(default=False, description="Also check the running systems.")


class ProblemOut(BaseModel):
    file: str
    line: int
    severity: str
    message: str


class CheckOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]


@router.post("/check", response_model=CheckOut)
def check(body: MapIn, principal: Manager, runtime: RuntimeDep) -> CheckOut:
    """Check a map as `honorbound systems check` does (FILE:LINE problems)."""
    with runtime.db.read_session() as session:
        known = registry.connected(session, principal.organization_id)
    problems = check_text(body.map, body.file, known=known, live=body.live)
    return CheckOut(
        ok=not any(p.severity == "error" for p in problems),
        problems=[ProblemOut(**p.__dict__) for p in problems],
    )


@router.put("", response_model=list[SystemOut])
def connect(body: MapIn, principal: Manager, runtime: RuntimeDep) -> list[SystemOut]:
    """Connect the map's systems (replacing systems of the same key)."""
    org_id = principal.organization_id
    with runtime.db.read_session() as session:
        now = registry.connected(session, org_id)
    # Parsed and checked with no transaction open: no parse holds the database.
    checked = registry.check_map(body.map, body.file, now)
    with runtime.db.session() as session:
        rows = registry.connect(session, org_id, checked, principal.actor)
    return [
        SystemOut(key=r.key, name=r.name, type=r.type, map_sha256=r.map_sha256, collections=[])
        for r in rows
    ]


@router.get("/scan")
def scan_result(principal: Reader, session: SessionDep) -> dict[str, Any]:
    """The latest drift scan report (names, categories, counts; no sampled values)."""
    row = latest(session, principal.organization_id)
    if row is None:
        raise Problem(404, "Not found", "No drift scan has run yet; POST /v1/systems/scan.")
    return {"scan_id": row.id, **row.report}


class QueuedOut(BaseModel):
    job_id: int
    status: Literal["queued"] = "queued"


@router.post("/scan", response_model=QueuedOut, status_code=202)
def queue_scan(principal: Manager, session: SessionDep, runtime: RuntimeDep) -> QueuedOut:
    """Queue a drift scan of every connected system."""
    job = runtime.jobs.enqueue(
        session, SCAN_JOB, {"organization_id": principal.organization_id}, principal.organization_id
    )
    return QueuedOut(job_id=job.id)


class TaskOut(BaseModel):
    id: int
    system: str
    action: str
    owner: str
    due_at: str
    status: str
    request_id: int
    evidence_sha256: str | None


def _task_out(t: Any) -> TaskOut:
    return TaskOut(
        id=t.id,
        system=t.system_key,
        action=t.action,
        owner=t.owner,
        due_at=t.due_at.isoformat(),
        status=t.status,
        request_id=t.request_id,
        evidence_sha256=t.evidence_sha256,
    )


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(
    principal: RightsReader, session: SessionDep, status: Literal["open", "done", "all"] = "open"
) -> list[TaskOut]:
    """Tasks for systems without an API, earliest deadline first."""
    rows = tasks.list_tasks(session, principal.organization_id, None if status == "all" else status)
    return [_task_out(t) for t in rows]


@router.post("/tasks/{task_id}/evidence", response_model=TaskOut)
def task_evidence(
    task_id: RowId,
    principal: RightsManager,
    session: SessionDep,
    runtime: RuntimeDep,
    evidence: Annotated[
        UploadFile | None, File(description="What shows the work was done (required).")
    ] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> TaskOut:
    """Upload the evidence that a manual task is done; the request goes on."""
    # Optional in the signature so another organization's task id is a 404, not a 422.
    data = evidence.file.read(tasks.MAX_EVIDENCE_BYTES + 1) if evidence else b""
    task = work.complete_system_task(
        session,
        services(runtime),
        principal.organization_id,
        task_id,
        principal.actor,
        (evidence.filename if evidence else None) or "evidence",
        data,
        note,
    )
    return _task_out(task)


@public.post("/callbacks/{token}")
def callback(token: str, request: Request, body: RawBody, runtime: RuntimeDep) -> dict[str, str]:
    """A webhook system reports a long job's result (signed; see docs/systems.md)."""
    if len(body) > MAX_CALLBACK_BYTES:
        raise Problem(413, "Too large", "The callback body is larger than 20 MB.")
    with runtime.db.session() as session:
        execution = work.receive_system_callback(
            session,
            services(runtime),
            token,
            request.headers.get(TIMESTAMP),
            request.headers.get(SIGNATURE),
            body,
        )
        status = execution.status
    return {"status": status}


class ExecutionOut(BaseModel):
    system: str
    action: str
    status: str
    attempts: int
    error: str | None
    details: dict[str, Any]


@router.get("/requests/{request_id}", response_model=list[ExecutionOut])
def request_systems(
    request_id: RowId, principal: RightsReader, session: SessionDep, runtime: RuntimeDep
) -> list[ExecutionOut]:
    """What each connected system did for a rights request."""
    from honorbound.rights.closing import get_request

    request = get_request(session, principal.organization_id, request_id)
    return [
        ExecutionOut(
            system=e.system_key,
            action=e.action,
            status=e.status,
            attempts=e.attempts,
            error=e.error,
            details=e.details,
        )
        for e in executions(session, request)
    ]


@router.post("/requests/{request_id}/retry", status_code=202)
def retry_request(
    request_id: RowId, principal: RightsManager, session: SessionDep, runtime: RuntimeDep
) -> dict[str, str]:
    """Carry a partly done request out again now."""

    request = work.retry_request(session, services(runtime), principal.organization_id, request_id)
    return {"reference": request.reference, "status": "queued"}
