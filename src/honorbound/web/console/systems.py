"""Connected systems: what is connected, the latest drift scan's findings, open manual tasks
and the last retention disposals in the systems. Reads only; changes go through the API/CLI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.systems import registry, tasks
from honorbound.systems.errors import SystemsError
from honorbound.systems.scan import latest
from honorbound.systems.sweep import disposals
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_with

router = APIRouter(include_in_schema=False)


@router.get("/console/systems", response_class=HTMLResponse)
def systems_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))]
) -> Response:
    org_id = staff.organization_id
    error = ""
    with request.app.state.runtime.db.session() as session:
        rows = registry.rows(session, org_id)
        try:
            maps = {m.key: m for m in registry.connected(session, org_id)}
        except SystemsError as exc:
            maps, error = {}, str(exc)
        scan = latest(session, org_id)
        open_tasks = tasks.list_tasks(session, org_id)
        recent = disposals(session, org_id, limit=20)
    return render(
        request,
        "console/systems.html",
        staff=staff,
        section="systems",
        rows=rows,
        maps=maps,
        scan=scan,
        report=scan.report if scan else None,
        tasks=open_tasks,
        disposals=recent,
        error=error,
    )
