"""Requests said in conversations that wait for staff: confirm (the opt-out is recorded, the
request opened) or dismiss. One `honorbound.intents.acting` call per form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from honorbound.i18n import N_
from honorbound.intents import acting
from honorbound.rights.jobs import services
from honorbound.web.forms import shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
PATH = "/console/conversation-intents"


def _page(request: Request, staff: Staff, status: int = 200, **context: object) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        rows = acting.queued(session, staff.organization_id)
        session.expunge_all()
    return render(
        request,
        "console/intents.html",
        status=status,
        section="intents",
        staff=staff,
        rows=rows,
        **context,
    )


@router.get(PATH, response_class=HTMLResponse)
def intents_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("consent.read"))]
) -> Response:
    return _page(request, staff)


@router.post(PATH + "/{intent_id}", response_class=HTMLResponse)
def decide(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("consent.record_received"))],
    intent_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    decision: Annotated[str, Form(max_length=16)] = "",
    jurisdiction: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    if decision not in ("confirm", "dismiss"):
        return _page(request, staff, 422, error=N_("Choose Confirm or Dismiss."))
    state = jurisdiction.strip().upper() or None
    if state is not None and not (len(state) == 2 and state.isalpha()):
        return _page(request, staff, 422, error=N_("Give the state in two letters, such as CA."))
    shown_again(
        request,
        lambda status, error: _page(request, staff, status, error=error),
        kinds=(acting.IntentError,),
        words=REFUSED,
    )
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        if decision == "confirm":
            acting.confirm(
                session,
                services(runtime),
                staff.organization_id,
                intent_id,
                staff.actor,
                jurisdiction=state,
            )
        else:
            acting.dismiss(session, staff.organization_id, intent_id, staff.actor)
    return RedirectResponse(PATH, status_code=303)


# The refusals a console form can meet, in the page's words (the domain's sentence, for the
# API, stays English); another refusal shows the domain's words after the field's name.
REFUSED = {
    ("intent_id", 404): N_("There is no such request said in a conversation."),
    ("intent_id", 409): N_("That was decided already: the list below is up to date."),
    ("jurisdiction", 422): N_(
        "The person's state is not known: give it in two letters, such as CA, and confirm again."
    ),
}
