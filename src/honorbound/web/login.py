"""Home, staff sign-in and sign-out. Thin: parse the form, call accounts, render.

Sign-in is throttled per client address and, after too many wrong passwords, locked per
username for a while (the page says so and for how long); both count in the shared rate
limiter. The session lives on the server (honorbound.accounts.sessions): sign-out ends it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts import sessions
from honorbound.accounts.models import Organization, User
from honorbound.accounts.service import authenticate_user, memberships
from honorbound.audit import Actor, append
from honorbound.ratelimit import address_key
from honorbound.web import csrf
from honorbound.web.rendering import render
from honorbound.web.staff import SESSION_TOKEN, signed_in

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    if signed_in(request):
        return RedirectResponse("/console", status_code=303)
    # The landing page: each organization's public privacy portal, and the ways in for staff
    # and developers. Portals are public pages, so listing them discloses nothing.
    with request.app.state.runtime.db.read_session() as session:
        portals = [
            (org.name, org.slug)
            for org in session.scalars(select(Organization).order_by(Organization.name).limit(50))
        ]
    return render(request, "index.html", portals=portals)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


def _refused(request: Request, retry_after: int, error: str) -> Response:
    response = render(request, "login.html", status=429, error=error)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _minutes(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not csrf.valid(request, csrf_token):
        return render(
            request,
            "login.html",
            status=403,
            error="Your form expired or was not sent by this site. Please try again.",
        )
    runtime = request.app.state.runtime
    limits = runtime.rate_limits
    by_address = limits["login.address"]
    address = address_key(None, request.client.host if request.client else "unknown")
    if not by_address.hit(address):
        wait = by_address.retry_after(address)
        return _refused(
            request,
            wait,
            f"Too many sign-in attempts from your network. Try again in {_minutes(wait)}.",
        )
    by_user = limits["login.user"]
    user_key = "user:" + username.strip().lower()
    if by_user.exceeded(user_key):
        wait = by_user.retry_after(user_key)
        return _refused(
            request,
            wait,
            "This account is locked after too many wrong passwords. Try again in "
            f"{_minutes(wait)}, or ask an administrator.",
        )
    with runtime.db.session() as session:
        user = authenticate_user(session, username, password)
    if user is None:
        # Counted after the sign-in's own unit of work: the limiter writes in one of its own.
        by_user.hit(user_key)
        if by_user.exceeded(user_key):
            with runtime.db.session() as session:
                _record_lock(session, username)
        return render(request, "login.html", status=401, error="Wrong username or password.")
    with runtime.db.session() as session:
        user = session.merge(user)
        orgs = memberships(session, user.id)
        if not orgs:
            return render(
                request,
                "login.html",
                status=403,
                error="This account has no organization; ask an administrator.",
            )
        org, role = orgs[0]
        append(session, org.id, Actor(f"user:{user.id}", role.value), "user.login", "user", user.id)
        old = request.session.get(SESSION_TOKEN)
        if isinstance(old, str):
            sessions.end(session, old, "replaced")
        token = sessions.start(session, user, org.id)
    # A new session on sign-in: a token planted before login is worth nothing after it.
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    return RedirectResponse("/console", status_code=303)


def _record_lock(session: Session, username: str) -> None:
    """The lock is an event the organization's audit trail shows (no password, no address)."""
    user_id = session.scalar(select(User.id).where(User.username == username.strip().lower()))
    if user_id is None:
        return
    for org, _role in memberships(session, user_id):
        append(session, org.id, Actor("system", "system"), "user.locked", "user", user_id)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    if not csrf.valid(request, csrf_token):
        return render(
            request,
            "login.html",
            status=403,
            error="Your form expired or was not sent by this site.",
        )
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        with request.app.state.runtime.db.session() as session:
            sessions.end(session, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
