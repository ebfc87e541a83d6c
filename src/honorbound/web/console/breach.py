"""Breach response: open incidents with their clocks, and one incident's counts, deadlines,
notices and timeline. Reads only; changes go through the API or the CLI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.breach import incidents, report
from honorbound.breach.errors import IncidentNotFound
from honorbound.db.base import utcnow
from honorbound.web.console.requests import time_left
from honorbound.web.forms import shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_with

router = APIRouter(include_in_schema=False)


@router.get("/console/breach", response_class=HTMLResponse)
def breach_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))]
) -> Response:
    runtime = request.app.state.runtime
    now = utcnow()
    with runtime.db.session() as session:
        clocks = report.open_clocks(session, runtime.rule_book, staff.organization_id, now)
        every = incidents.list_incidents(session, staff.organization_id)
    return render(
        request,
        "console/breach.html",
        staff=staff,
        section="breach",
        clocks=[(c, *(time_left(c.next.due_at, now) if c.next and c.next.due_at else ("", False)))
                for c in clocks],
        incidents=every,
    )  # fmt: skip


@router.get("/console/breach/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))], incident_id: int
) -> Response:
    runtime = request.app.state.runtime
    now = utcnow()
    shown_again(
        request,
        lambda status, _: render(
            request,
            "console/not_found.html",
            status=status,
            staff=staff,
            section="breach",
            what="incident",
        ),  # fmt: skip
        kinds=(IncidentNotFound,),
    )
    with runtime.db.session() as session:
        s = report.summary(session, runtime.rule_book, staff.organization_id, incident_id)
        todo = report.pending(s)
    return render(
        request,
        "console/breach_incident.html",
        staff=staff,
        section="breach",
        s=s,
        todo=[(o, *time_left(o.due_at, now)) for o in todo if o.due_at],
    )
