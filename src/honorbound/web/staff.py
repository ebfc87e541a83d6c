"""Who is signed in to the console, and whether their role may see a page."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from honorbound.accounts.roles import Role, allowed
from honorbound.audit import Actor
from honorbound.web import csrf
from honorbound.web.rendering import render


@dataclass(frozen=True)
class Staff:
    user_id: int
    username: str
    organization_id: int
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(f"user:{self.user_id}", self.role.value)

    def may(self, permission: str) -> bool:
        return allowed(self.role, permission)


def signed_in(request: Request) -> Staff | None:
    data = request.session
    if not data.get("user_id"):
        return None
    return Staff(
        int(data["user_id"]),
        str(data["username"]),
        int(data["organization_id"]),
        Role(data["role"]),
    )


def guard(request: Request, permission: str) -> Staff | Response:
    """The signed-in staff member when their role has `permission`; otherwise the response to
    send instead (a redirect to sign in, or a 403 page naming the permission)."""
    staff = signed_in(request)
    if staff is None:
        return RedirectResponse("/login", status_code=303)
    if not staff.may(permission):
        return render(
            request,
            "console/forbidden.html",
            status=403,
            permission=permission,
            staff=staff,
        )
    return staff


def guard_post(request: Request, permission: str, submitted_token: str) -> Staff | Response:
    """As `guard`, and the form must carry this session's CSRF token."""
    result = guard(request, permission)
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
