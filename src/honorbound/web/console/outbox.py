"""The outbox: every email and SMS the platform sent or will send. Recipients and bodies stay
sealed here; the list shows what kind of message went out, when, and whether it was delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.notify.outbox import list_messages
from honorbound.web.rendering import render
from honorbound.web.staff import guard

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/console/outbox", response_class=HTMLResponse)
def outbox(request: Request, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    staff = guard(request, "outbox.read")
    if isinstance(staff, Response):
        return staff
    runtime = request.app.state.runtime
    with runtime.db.read_session() as session:
        messages = list_messages(session, staff.organization_id, PAGE, (page - 1) * PAGE)
    return render(
        request,
        "console/outbox.html",
        staff=staff,
        section="outbox",
        messages=messages,
        page=page,
        more=len(messages) == PAGE,
    )
