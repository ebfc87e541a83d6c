"""Who is signed in to the console, and whether their role may see a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from honorbound.accounts import sessions
from honorbound.accounts.roles import Role, allowed
from honorbound.accounts.service import memberships
from honorbound.audit import Actor
from honorbound.web import csrf
from honorbound.web.rendering import render


@dataclass(frozen=True)
class Staff:
    user_id: int
    username: str
    organization_id: int
    role: Role
    # The organizations the user may switch to, (id, slug, name, role), for the switcher.
    organizations: tuple[tuple[int, str, str, str], ...] = field(default=(), compare=False)

    @property
    def organization(self) -> tuple[int, str, str, str] | None:
        return next((o for o in self.organizations if o[0] == self.organization_id), None)

    @property
    def actor(self) -> Actor:
        return Actor(f"user:{self.user_id}", self.role.value)

    def may(self, permission: str) -> bool:
        return allowed(self.role, permission)


# The cookie's key for the server-side session token (honorbound.accounts.sessions).
SESSION_TOKEN = "sid"


def signed_in(request: Request) -> Staff | None:
    """The staff member of this request's session, checked against the session table now: a
    signed-out, ended or expired session, or a disabled or removed user, is nobody."""
    cached = getattr(request.state, "staff", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = request.session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    db = request.app.state.runtime.db
    with db.read_session() as session:  # a page view takes no write lock ...
        found = sessions.resolve(session, token)
        organizations = (
            tuple(
                (o.id, o.slug, o.name, r.value)
                for o, r in memberships(session, found.user_id)
                if o.disabled_at is None
            )
            if found is not None
            else ()
        )
    if found is None:
        request.session.pop(SESSION_TOKEN, None)
        return None
    if found.touch_due:  # ... except once a minute, to move the idle timeout on
        with db.session() as session:
            sessions.touch(session, token)
    staff = Staff(found.user_id, found.username, found.organization_id, found.role, organizations)
    request.state.staff = staff
    return staff


def guard(request: Request, *permissions: str) -> Staff | Response:
    """The signed-in staff member when their role has every one of `permissions` (none: any
    signed-in member); otherwise the response to send instead (a redirect to sign in, or a 403
    page naming the first permission missing)."""
    staff = signed_in(request)
    if staff is None:
        return RedirectResponse("/login", status_code=303)
    missing = next((p for p in permissions if not staff.may(p)), None)
    if missing is not None:
        return render(
            request,
            "console/forbidden.html",
            status=403,
            permission=missing,
            staff=staff,
        )
    return staff


class Turned(Exception):
    """Raised by the console's dependencies: send `response` (sign in first, or not allowed)
    instead of the page. Answered by `turned`, the app's handler for it."""

    def __init__(self, response: Response) -> None:
        super().__init__("not signed in, or not allowed")
        self.response = response


async def turned(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Turned)
    return exc.response


def staff_with(*permissions: str) -> Callable[[Request], Staff]:
    """A dependency: the signed-in staff member whose role has `permissions` (as the API's
    `require`); otherwise the sign-in redirect or the 403 page naming the permission."""

    def check(request: Request) -> Staff:
        result = guard(request, *permissions)
        if isinstance(result, Response):
            raise Turned(result)
        return result

    return check


def staff_form(*permissions: str) -> Callable[..., Staff]:
    """As `staff_with`, for a form: it must also carry this session's CSRF token. With no
    permission, any signed-in member (the organization switcher)."""

    def check(request: Request, csrf_token: Annotated[str, Form()] = "") -> Staff:
        result = guard_post(request, csrf_token, *permissions)
        if isinstance(result, Response):
            raise Turned(result)
        return result

    return check


def guard_post(request: Request, submitted_token: str, *permissions: str) -> Staff | Response:
    """As `guard`, and the form must carry this session's CSRF token."""
    result = guard(request, *permissions)
    if isinstance(result, Response):
        return result
    if not csrf.valid(request, submitted_token):
        return render(
            request,
            "console/forbidden.html",
            status=403,
            staff=result,
            csrf_failed=True,
        )
    return result
