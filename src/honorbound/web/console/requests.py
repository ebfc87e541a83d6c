"""The rights-request queue (soonest due first, with the time left), one request with its
timeline, and the staff decisions: extend, hold, release, deny, decide an appeal, verify the
consumer by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from honorbound.db.base import utcnow
from honorbound.i18n import N_, N_plural
from honorbound.rights import closing, execution, queries, verification, work
from honorbound.rights.errors import RequestNotFound, RightsError
from honorbound.rights.intake import us_states
from honorbound.rights.jobs import services
from honorbound.rights.messages import DENIAL_REASONS, type_names
from honorbound.rights.models import DenialBasis, RequestType, RightsRequest, Status
from honorbound.rights.outgoing import organization
from honorbound.rights.package import build_package
from honorbound.rights.timeline import events, log_event
from honorbound.web.forms import Words, shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
MAX_ID = 2_147_483_647
ACTIONS = ("extend", "hold", "release", "deny", "grant_appeal", "uphold", "verify")
AWAITING_VERIFICATION = ("received", "verifying", "held")


def time_left(due_at: dt.datetime, now: dt.datetime) -> tuple[str, bool]:
    """("3 days left" | "due today" | "2 days overdue", overdue?)."""
    days = (due_at.date() - now.date()).days
    if due_at < now:
        late = max(1, -days)
        return N_plural("{num} day overdue", "{num} days overdue", late), True
    if days == 0:
        return N_("due today"), False
    return N_plural("{num} day left", "{num} days left", days), False


DUE_WINDOWS = {"overdue": 0, "7": 7, "30": 30}  # "due within N days" (0: already overdue)


@router.get("/console/requests", response_class=HTMLResponse)
def queue(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("rights.read"))],
    show: Annotated[str, Query(pattern="^(open|all)$")] = "open",
    type: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    state: Annotated[str, Query(max_length=2)] = "",
    due: Annotated[str, Query(max_length=10)] = "",
    reference: Annotated[str, Query(max_length=24)] = "",
    assigned: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    filters = {
        "show": show,
        "type": type,
        "status": status,
        "state": state.upper(),
        "due": due,
        "reference": reference.strip(),
        "assigned": assigned,
    }
    problem = ""
    if type and type not in {t.value for t in RequestType}:
        problem = N_("Choose a request type from the list.")
    elif status and status not in {s.value for s in Status}:
        problem = N_("Choose a status from the list.")
    elif state and state.upper() not in us_states():
        problem = N_("Choose a state from the list.")
    elif due and due not in DUE_WINDOWS:
        problem = N_("Choose a due date window from the list.")
    elif assigned and assigned not in ("me", "nobody"):
        problem = N_("Choose whose requests to show from the list.")
    context: dict[str, Any] = {
        "staff": staff,
        "section": "requests",
        "types": type_names(),
        "statuses": [s.value for s in Status],
        "states": sorted(us_states()),
        "filters": filters,
        "show": show,
        "type": type,
    }
    if problem:
        return render(
            request, "console/requests.html", status=422, rows=[], error=problem, **context
        )
    now = utcnow()
    due_before = now + dt.timedelta(days=DUE_WINDOWS[due]) if due else None
    with request.app.state.runtime.db.read_session() as session:
        found = queries.list_requests(
            session,
            staff.organization_id,
            show == "open" and not status,
            type or None,
            limit=500,
            status=status or None,
            jurisdiction=state or None,
            due_before=due_before,
            reference=reference.strip() or None,
            assigned_user_id=staff.user_id if assigned == "me" else None,
            unassigned=assigned == "nobody",
        )
        names = {a.user_id: a.username for a in work.assignees(session, staff.organization_id)}
    rows = [(r, *time_left(r.due_at, now)) for r in found]
    return render(
        request,
        "console/requests.html",
        rows=rows,
        names=names,
        overdue=sum(1 for _, _, late in rows if late and show == "open"),
        **context,
    )


def _detail(
    request: Request,
    staff: Staff,
    request_id: int,
    *,
    error: str = "",
    status: int = 200,
    appeal_reason: str | None = None,
) -> Response:
    if not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="request")
    with request.app.state.runtime.db.session() as session:
        row = closing.get_request(session, staff.organization_id, request_id)
        timeline = events(session, row)
        steps = work.steps(session, row)
        mail = work.mail_of(session, row)
        people = work.assignees(session, staff.organization_id)
        deciders = execution.deciders_of(session, row) if row.appeal_of_id else set()
        notes: dict[int, str] = {}
        if staff.may("rights.manage"):
            svc = services(request.app.state.runtime)
            for event in timeline:
                if event.kind == "verified_manually":
                    note = verification.manual_note(svc, row, dict(event.details))
                    if note is not None:
                        notes[event.id] = note
    left, late = time_left(row.due_at, utcnow())
    executes = services(request.app.state.runtime).rules.type_rule(row.type).executes
    return render(
        request,
        "console/request.html",
        status=status,
        staff=staff,
        section="requests",
        row=row,
        timeline=timeline,
        left=left,
        late=late,
        type_name=type_names().get(row.type, row.type),
        is_open=row.closed_at is None,
        is_appeal=executes == "appeal",
        package_ready=executes == "package" and row.verified_at is not None,
        can_manage=staff.may("rights.manage"),
        bases=DENIAL_REASONS,
        notes=notes,
        appeal_reason=appeal_reason,
        decided_original=staff.actor.id in deciders,
        steps=steps,
        mail=mail,
        assignees=people,
        assignee=next((p.username for p in people if p.user_id == row.assigned_user_id), None),
        names={f"user:{p.user_id}": p.username for p in people},
        can_read_mail=staff.may("outbox.read"),
        can_verify=row.verified_at is None and row.status in AWAITING_VERIFICATION,
        error=error,
    )


def _shown(
    request: Request,
    staff: Staff,
    request_id: int,
    words: Words | None = None,
    named: bool = True,
    plain: Callable[[str], str] = str,
    step: bool = False,
) -> None:
    """A refusal (RightsError) shows the request's page again with its sentence (`plain`
    gives it the page's last touch); an id that is not the organization's request is the
    console's not-found page, and so is a step that is not the request's (`step`: a
    RightsError of 404)."""

    def again(status: int, error: str) -> Response:
        if step and status == 404:
            return _not_found(request, staff, "step")
        return _detail(request, staff, request_id, error=plain(error), status=status)

    shown_again(request, again, kinds=(RightsError,), words=words, named=named)
    shown_again(request, lambda status, _: _not_found(request, staff), kinds=(RequestNotFound,))


def _not_found(request: Request, staff: Staff, what: str = "request") -> Response:
    return render(request, "console/not_found.html", status=404, staff=staff, what=what)


@router.get("/console/requests/{request_id}", response_class=HTMLResponse)
def detail(
    request: Request, staff: Annotated[Staff, Depends(staff_with("rights.read"))], request_id: int
) -> Response:
    _shown(request, staff, request_id)
    return _detail(request, staff, request_id)


@router.post("/console/requests/{request_id}/appeal-reason", response_class=HTMLResponse)
def appeal_reason(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("rights.manage"))],
    request_id: int,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The consumer's reason for an appeal, shown once on this answer; the reveal is logged."""
    if not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="request")
    svc = services(request.app.state.runtime)
    _shown(request, staff, request_id, words=APPEAL_REASON, named=False)
    with request.app.state.runtime.db.session() as session:
        text = execution.reveal_appeal_reason(
            session, svc, staff.organization_id, request_id, staff.actor, reason
        )
    return _detail(request, staff, request_id, appeal_reason=text)


APPEAL_REASON = {
    ("body.reason", 422): N_(
        "Say why you need to read the consumer's reason (it is kept in the access log)."
    )
}
# A refusal of the work on a request (assigning, a step): the page's words, else the domain's
# message as a sentence (`_as_sentence`).
WORK = {
    ("body.reason", 422): N_("Say why in the reason box ({message})."),
    ("body.assignee", 422): N_("Choose a staff member from the list."),
}


def _as_sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."


@router.post("/console/requests/{request_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("rights.manage"))],
    request_id: int,
    assignee: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Assign the request to a staff member ("me", a user id, or empty for nobody)."""
    if not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="request")
    value = assignee.strip()
    user_id: int | None
    if value == "me":
        user_id = staff.user_id
    elif value == "":
        user_id = None
    elif value.isdigit() and int(value) <= MAX_ID:
        user_id = int(value)
    else:
        user_id = -1  # refused below with the plain message
    _shown(request, staff, request_id, words=WORK, named=False, plain=_as_sentence)
    with request.app.state.runtime.db.session() as session:
        work.assign(session, staff.organization_id, request_id, user_id, staff.actor)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/console/requests/{request_id}/steps/{step_id}/{what}", response_class=HTMLResponse)
def step_action(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("rights.manage"))],
    request_id: int,
    step_id: int,
    what: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Retry a failed or stuck step now, or mark it done by hand; both need a reason."""
    if what not in ("retry", "complete") or not (
        1 <= request_id <= MAX_ID and 1 <= step_id <= MAX_ID
    ):
        return render(request, "console/not_found.html", status=404, staff=staff, what="step")
    svc = services(request.app.state.runtime)
    run = work.retry_step if what == "retry" else work.complete_step
    _shown(request, staff, request_id, words=WORK, named=False, plain=_as_sentence, step=True)
    with request.app.state.runtime.db.session() as session:
        run(session, svc, staff.organization_id, request_id, step_id, reason, staff.actor)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/console/requests/{request_id}/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("rights.manage"))],
    request_id: int,
    action: str,
    reason: Annotated[str, Form(max_length=5000)] = "",
    basis: Annotated[str, Form(max_length=20)] = "",
    level: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
    declaration: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if action not in ACTIONS or not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="action")
    svc = services(request.app.state.runtime)
    org_id, actor = staff.organization_id, staff.actor
    _shown(request, staff, request_id)
    with request.app.state.runtime.db.session() as session:
        row: RightsRequest
        if action == "extend":
            row = execution.extend(session, svc, org_id, request_id, reason, actor)
        elif action == "hold":
            row = execution.hold(session, svc, org_id, request_id, reason, actor)
        elif action == "verify":
            points = int(level) if level.strip().isdigit() else None
            row = verification.verify_manually(
                session, svc, org_id, request_id, actor, points, note, declaration == "yes"
            )
        elif action == "release":
            row = execution.release(session, svc, org_id, request_id, actor)
        elif action == "deny":
            try:
                denial = DenialBasis(basis)
            except ValueError:
                raise RightsError("basis", "choose the reason for the denial") from None
            row = execution.deny(session, svc, org_id, request_id, denial, reason, actor)
        else:
            row = execution.decide_appeal(
                session, svc, org_id, request_id, action == "grant_appeal", reason, actor
            )
        target = row.id
    return RedirectResponse(f"/console/requests/{target}", status_code=303)


@router.get("/console/requests/{request_id}/agent-permission")
def agent_permission_file(
    request: Request, staff: Annotated[Staff, Depends(staff_with("rights.manage"))], request_id: int
) -> Response:
    """The authorized agent's signed permission, as received (sealed at rest); logged."""
    if not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="request")
    svc = services(request.app.state.runtime)
    _shown(request, staff, request_id, named=False)
    with request.app.state.runtime.db.session() as session:
        content = execution.agent_permission(
            session, svc, staff.organization_id, request_id, staff.actor
        )
        reference = closing.get_request(session, staff.organization_id, request_id).reference
    return Response(
        content,
        media_type="application/octet-stream",  # never rendered by the browser as received
        headers={
            "Content-Disposition": f'attachment; filename="{reference}-agent-permission"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/console/requests/{request_id}/package.zip")
def staff_package(
    request: Request, staff: Annotated[Staff, Depends(staff_with("rights.manage"))], request_id: int
) -> Response:
    """The access package of a verified access request, for staff who send it another way
    (e.g. by post). Each download is on the request's timeline and in the audit log."""
    if not 1 <= request_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="request")
    svc = services(request.app.state.runtime)
    _shown(request, staff, request_id)
    with request.app.state.runtime.db.session() as session:
        row = closing.get_request(session, staff.organization_id, request_id)
        executes = svc.rules.type_rule(row.type).executes
        if executes != "package" or row.verified_at is None:
            return _detail(
                request,
                staff,
                request_id,
                status=409,
                error="request: only a verified access request has a package.",
            )
        org = organization(session, staff.organization_id)
        package = build_package(
            session, svc.vault_keys, svc.laws, row, org.name, svc.recordings_dir
        )
        log_event(
            session,
            row,
            "package_downloaded_by_staff",
            staff.actor,
            {"records": package.records, "withheld": package.withheld},
        )
        reference = row.reference
    return Response(
        package.content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{reference}.zip"',
            "Cache-Control": "no-store",
        },
    )
