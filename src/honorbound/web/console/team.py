"""Staff accounts (administrators only): the organization's members, inviting someone by email
with a role, changing a role, disabling an account, resetting a lost authenticator. And the
public page where an invited person chooses their password. Thin: accounts.team does the work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from honorbound import i18n
from honorbound.accounts import team, twofactor
from honorbound.accounts.models import Organization, User
from honorbound.accounts.roles import ROLE_NAMES
from honorbound.accounts.service import AccountError
from honorbound.web import csrf
from honorbound.web.forms import shown_again
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
MAX_ID = 2_147_483_647


def _page(request: Request, staff: Staff, status: int = 200, **context: Any) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.read_session() as session:
        rows = team.members(session, staff.organization_id)
    return render(
        request,
        "console/staff.html",
        status=status,
        staff=staff,
        section="staff",
        members=rows,
        roles=ROLE_NAMES,
        two_factor_roles=runtime.settings.two_factor_roles,
        languages_offered=i18n.LANGUAGES,
        **context,
    )


@router.get("/console/staff", response_class=HTMLResponse)
def staff_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("org.manage"))]
) -> Response:
    return _page(request, staff)


@router.post("/console/staff/invite", response_class=HTMLResponse)
def invite(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("org.manage"))],
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    runtime = request.app.state.runtime
    form = {"email": email, "role": role, "display_name": display_name, "language": language}
    shown_again(
        request,
        lambda status, error: _page(request, staff, status, error=error, form=form),
        kinds=(AccountError,),
    )
    with runtime.db.session() as session:
        org = session.get(Organization, staff.organization_id)
        assert org is not None
        user, link = team.invite(
            session,
            runtime.keys,
            runtime.jobs,
            staff.organization_id,
            org.name,
            email,
            role,
            display_name,
            staff.actor,
            runtime.settings.base_url.rstrip("/") + "/invite",
            language or chosen(request),
        )
        invited = user.username
    return _page(request, staff, invited=invited, invite_link=link)


def _member_action(
    request: Request, staff: Staff, user_id: int, action: str, role: str = ""
) -> Response:
    if not 1 <= user_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="member")
    runtime = request.app.state.runtime
    shown_again(request, lambda status, error: _page(request, staff, status, error=error),
                kinds=(AccountError,))  # fmt: skip
    try:
        with runtime.db.session() as session:
            if action == "role":
                team.change_role(
                    session, staff.organization_id, user_id, role, staff.actor, staff.user_id
                )
            elif action == "disable":
                team.disable(session, staff.organization_id, user_id, staff.actor, staff.user_id)
            else:
                member = {m.user_id for m in team.members(session, staff.organization_id)}
                user = session.get(User, user_id)
                if user is None or user_id not in member:
                    raise LookupError("no such member")
                twofactor.reset(session, user, staff.actor, staff.organization_id)
    except LookupError:
        return render(request, "console/not_found.html", status=404, staff=staff, what="member")
    return RedirectResponse("/console/staff", status_code=303)


@router.post("/console/staff/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("org.manage"))],
    user_id: int,
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    return _member_action(request, staff, user_id, "role", role)


@router.post("/console/staff/{user_id}/disable", response_class=HTMLResponse)
def disable(
    request: Request, staff: Annotated[Staff, Depends(staff_form("org.manage"))], user_id: int
) -> Response:
    return _member_action(request, staff, user_id, "disable")


@router.post("/console/staff/{user_id}/reset-two-factor", response_class=HTMLResponse)
def reset_two_factor(
    request: Request, staff: Annotated[Staff, Depends(staff_form("org.manage"))], user_id: int
) -> Response:
    return _member_action(request, staff, user_id, "reset")


# -- the invited person ------------------------------------------------------------------------
@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, token: str) -> Response:
    with request.app.state.runtime.db.read_session() as session:
        found = team.pending_invite(session, token[:200])
        username = None
        if found is not None:
            user = session.get(User, found.user_id)
            username = user.username if user else None
    if username is None:
        return render(
            request,
            "invite.html",
            status=404,
            error="This invitation link is not valid any more (used or expired). Ask your "
            "administrator for a new one.",
        )
    return render(request, "invite.html", token=token, username=username)


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept(
    request: Request,
    token: str,
    password: Annotated[str, Form(max_length=500)] = "",
    again: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.read_session() as session:
        found = team.pending_invite(session, token[:200])
        user = session.get(User, found.user_id) if found else None
        username = user.username if user else None
    if username is None:
        return invite_page(request, token)
    if not csrf.valid(request, csrf_token):
        error = "Your form expired or was not sent by this site. Please try again."
        return render(request, "invite.html", 403, token=token, username=username, error=error)
    if password != again:
        error = "The two passwords are not the same. Type the same password twice."
        return render(request, "invite.html", 422, token=token, username=username, error=error)
    shown_again(request, lambda status, error: render(request, "invite.html", status, token=token,
                                                      username=username, error=error),
                kinds=(AccountError,))  # fmt: skip
    with runtime.db.session() as session:
        team.accept_invite(session, token, password)
    return render(request, "login.html", notice="Your password is set. Sign in with it now.")
