"""Subject lookup by email or phone (masked view) and reveal-with-reason (logged by the vault).

The identity typed in is posted, never put in a URL, so it stays out of browser history and
server logs. A reveal shows one value once, on the response to the POST that asked for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from honorbound.disclosures.reports import who_received
from honorbound.i18n import N_
from honorbound.vault import reading
from honorbound.vault.identities import InvalidIdentity, guess_kind
from honorbound.vault.subjects import SubjectNotFound, find_subject_id
from honorbound.web.forms import shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
MAX_ID = 2_147_483_647


@router.get("/console/subjects", response_class=HTMLResponse)
def lookup_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("data.read_masked"))]
) -> Response:
    return render(request, "console/subjects.html", staff=staff, section="subjects")


@router.post("/console/subjects", response_class=HTMLResponse)
def lookup(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("data.read_masked"))],
    identity: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    runtime = request.app.state.runtime
    value = identity.strip()
    if not value:
        return _lookup_error(request, staff, N_("Enter an email address or a phone number."))
    shown_again(
        request,
        lambda status, error: _lookup_error(request, staff, error, status),
        field="identity",
        kinds=(InvalidIdentity,),
    )
    with runtime.db.session() as session:
        subject_id = find_subject_id(
            session, runtime.vault_keys, staff.organization_id, guess_kind(value), value
        )
    if subject_id is None:
        return _lookup_error(request, staff, N_("No subject holds that identity."), status=404)
    return RedirectResponse(f"/console/subjects/{subject_id}", status_code=303)


def _lookup_error(request: Request, staff: Staff, message: str, status: int = 422) -> Response:
    return render(
        request,
        "console/subjects.html",
        status=status,
        staff=staff,
        section="subjects",
        error=message,
    )


def _no_subject(request: Request, staff: Staff) -> Response:
    return render(request, "console/not_found.html", status=404, staff=staff, what="subject")


def _subject_page(
    request: Request,
    staff: Staff,
    subject_id: int,
    *,
    revealed: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    if not 1 <= subject_id <= MAX_ID:
        return _no_subject(request, staff)
    with runtime.db.session() as session:
        view = reading.subject_view(session, runtime.vault_keys, staff.organization_id, subject_id)
        log = reading.access_log(session, staff.organization_id, subject_id)
        received = who_received(session, staff.organization_id, subject_id)
    return render(
        request,
        "console/subject.html",
        status=status,
        staff=staff,
        section="subjects",
        view=view,
        access_log=log,
        received=received,
        revealed=revealed,
        error=error,
        can_reveal=staff.may("data.reveal"),
    )


@router.get("/console/subjects/{subject_id}", response_class=HTMLResponse)
def subject_page(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("data.read_masked"))],
    subject_id: int,
) -> Response:
    shown_again(request, lambda status, _: _no_subject(request, staff), kinds=(SubjectNotFound,))
    return _subject_page(request, staff, subject_id)


@router.post("/console/subjects/{subject_id}/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("data.reveal"))],
    subject_id: int,
    object_type: Annotated[str, Form(max_length=40)] = "",
    object_id: Annotated[int, Form(ge=1, le=MAX_ID)] = 1,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    shown_again(request, lambda status, _: _no_subject(request, staff), kinds=(SubjectNotFound,))
    if object_type not in reading.REVEALABLE:
        return _subject_page(
            request,
            staff,
            subject_id,
            error=N_("object_type: not a value that can be revealed."),
            status=422,
        )
    if not reason.strip():
        return _subject_page(
            request,
            staff,
            subject_id,
            status=422,
            error=N_("reason: say why you need to see this value; the reason is logged."),
        )
    runtime = request.app.state.runtime
    # Nothing of that kind to reveal: the subject's page again, with the domain's sentence.
    shown_again(
        request,
        lambda status, error: _subject_page(request, staff, subject_id, error=error, status=status),
        kinds=(reading.NothingToReveal,),
    )
    with runtime.db.session() as session:
        value = reading.reveal(
            session,
            runtime.vault_keys,
            staff.organization_id,
            subject_id,
            object_type,
            object_id,
            staff.actor,
            reason,
        )
    return _subject_page(
        request, staff, subject_id, revealed={"key": f"{object_type}:{object_id}", "value": value}
    )
