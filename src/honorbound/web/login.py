"""Home, staff sign-in and sign-out. Thin: parse the form, call accounts, render.

Sign-in is throttled per client address and, after too many wrong passwords, locked per
username for a while (the page says so and for how long); both count in the shared rate
limiter. The session lives on the server (honorbound.accounts.sessions): sign-out ends it.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts import sessions, twofactor
from honorbound.accounts.models import Organization, User
from honorbound.accounts.roles import Role
from honorbound.accounts.service import authenticate_user, memberships
from honorbound.audit import Actor, append
from honorbound.i18n import N_, N_plural
from honorbound.ratelimit import address_key
from honorbound.web import csrf
from honorbound.web.forms import shown_again
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
    return N_plural("{num} minute", "{num} minutes", minutes)


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
            error=N_("Your form expired or was not sent by this site. Please try again."),
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
            N_(
                "Too many sign-in attempts from your network. Try again in {wait}.",
                wait=_minutes(wait),
            ),
        )
    by_user = limits["login.user"]
    user_key = "user:" + username.strip().lower()
    if by_user.exceeded(user_key):
        wait = by_user.retry_after(user_key)
        return _refused(
            request,
            wait,
            N_(
                "This account is locked after too many wrong passwords. Try again in "
                "{wait}, or ask an administrator.",
                wait=_minutes(wait),
            ),
        )
    with runtime.db.session() as session:
        user = authenticate_user(session, username, password)
    if user is None:
        # Counted after the sign-in's own unit of work: the limiter writes in one of its own.
        by_user.hit(user_key)
        if by_user.exceeded(user_key):
            with runtime.db.session() as session:
                _record_lock(session, username)
        return render(request, "login.html", status=401, error=N_("Wrong username or password."))
    with runtime.db.session() as session:
        user = session.merge(user)
        # A disabled client (honorbound.bpo.clients) is not signed in to.
        orgs = [(o, r) for o, r in memberships(session, user.id) if o.disabled_at is None]
        if not orgs:
            return render(
                request,
                "login.html",
                status=403,
                error=N_("This account has no organization; ask an administrator."),
            )
        org, role = orgs[0]
        enrolled = twofactor.enabled(user)
        if enrolled or role.value in runtime.settings.two_factor_roles:
            # The password was right; the session starts only after the code (or the set-up).
            request.session.clear()
            request.session[PENDING] = {"user": user.id, "org": org.id, "at": int(time.time())}
            return RedirectResponse(
                "/login/code" if enrolled else "/login/two-factor", status_code=303
            )
        token = _start(request, session, user.id, org.id, role, "password")
    _set_session(request, token)
    return RedirectResponse("/console", status_code=303)


# The signed session cookie carries who passed the password step, for this long.
PENDING = "pending_2fa"
PENDING_SECONDS = 300


def _start(
    request: Request, session: Session, user_id: int, org_id: int, role: object, how: str
) -> str:
    user = session.get(User, user_id)
    assert user is not None
    append(
        session,
        org_id,
        Actor(f"user:{user.id}", str(role)),
        "user.login",
        "user",
        user.id,
        {"method": how},
    )
    old = request.session.get(SESSION_TOKEN)
    if isinstance(old, str):
        sessions.end(session, old, "replaced")
    return sessions.start(session, user, org_id)


def _set_session(request: Request, token: str) -> None:
    # A new session on sign-in: a token planted before login is worth nothing after it.
    request.session.clear()
    request.session[SESSION_TOKEN] = token


def _pending(request: Request) -> tuple[int, int] | None:
    found = request.session.get(PENDING)
    if not isinstance(found, dict):
        return None
    user_id, org_id, at = found.get("user"), found.get("org"), found.get("at")
    if not (isinstance(user_id, int) and isinstance(org_id, int) and isinstance(at, int)):
        return None
    if time.time() - at > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return user_id, org_id


def _pending_user(session: Session, pending: tuple[int, int]) -> tuple[User, Role] | None:
    user = session.get(User, pending[0])
    if user is None or not user.active:
        return None
    for org, role in memberships(session, user.id):
        if org.id == pending[1]:
            return user, role
    return None


def _start_again(request: Request) -> Response:
    request.session.pop(PENDING, None)
    return render(
        request,
        "login.html",
        status=401,
        error=N_(
            "Your sign-in took too long or was interrupted. Sign in again with your password."
        ),
    )


@router.get("/login/code", response_class=HTMLResponse)
def code_page(request: Request) -> Response:
    if _pending(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_code.html")


@router.post("/login/code", response_class=HTMLResponse)
def code_step(
    request: Request,
    code: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The second step: a code from the authenticator app, or a recovery code. Throttled per
    address and locked per username like the password step."""
    if not csrf.valid(request, csrf_token):
        return render(
            request,
            "login_code.html",
            status=403,
            error=N_("Your form expired or was not sent by this site. Please try again."),
        )
    pending = _pending(request)
    if pending is None:
        return _start_again(request)
    runtime = request.app.state.runtime
    limits = runtime.rate_limits
    by_address = limits["login.address"]
    address = address_key(None, request.client.host if request.client else "unknown")
    if not by_address.hit(address):
        wait = by_address.retry_after(address)
        return _refused_code(
            request,
            wait,
            N_(
                "Too many sign-in attempts from your network. Try again in {wait}.",
                wait=_minutes(wait),
            ),
        )
    # The limiter works in units of work of its own: none is opened inside another.
    with runtime.db.read_session() as session:
        found = _pending_user(session, pending)
        ready = found is not None and twofactor.enabled(found[0])
        username = found[0].username if found is not None else ""
    if not ready:
        return _start_again(request)
    user_key = "user:" + username
    if by_user_exceeded(runtime, user_key):
        wait = limits["login.user"].retry_after(user_key)
        return _refused_code(
            request,
            wait,
            N_(
                "This account is locked after too many wrong codes or passwords. Try again in "
                "{wait}, or ask an administrator.",
                wait=_minutes(wait),
            ),
        )
    with runtime.db.session() as session:
        found = _pending_user(session, pending)
        if found is None:
            return _start_again(request)
        user, role = found
        how = twofactor.check_code(session, runtime.keys, user, code.strip())
        if how is not None:
            token = _start(request, session, user.id, pending[1], role.value, how)
    if how is None:
        by_user = limits["login.user"]
        by_user.hit(user_key)
        if by_user.exceeded(user_key):
            with runtime.db.session() as session:
                _record_lock(session, user_key.removeprefix("user:"))
        message = (
            N_(
                "Enter the code your authenticator app shows now (6 digits), or one of your "
                "recovery codes."
            )
            if code.strip()
            else N_("Enter the 6-digit code from your authenticator app.")
        )
        return render(request, "login_code.html", status=401, error=message)
    _set_session(request, token)
    return RedirectResponse("/console", status_code=303)


def by_user_exceeded(runtime: object, key: str) -> bool:
    return bool(runtime.rate_limits["login.user"].exceeded(key))  # type: ignore[attr-defined]


def _refused_code(request: Request, retry_after: int, error: str) -> Response:
    response = render(request, "login_code.html", status=429, error=error)
    response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login/two-factor", response_class=HTMLResponse)
def setup_page(request: Request) -> Response:
    """Set-up at first sign-in of a role that needs two-factor: a new secret, shown once."""
    pending = _pending(request)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        found = _pending_user(session, pending)
        if found is None:
            return _start_again(request)
        user = found[0]
        if twofactor.enabled(user):
            return RedirectResponse("/login/code", status_code=303)
        enrollment = twofactor.begin(session, runtime.keys, user)
    return render(request, "login_two_factor.html", enrollment=enrollment)


@router.post("/login/two-factor", response_class=HTMLResponse)
def setup_confirm(
    request: Request,
    code: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    pending = _pending(request)
    if pending is None or not csrf.valid(request, csrf_token):
        return _start_again(request)
    runtime = request.app.state.runtime
    keys = runtime.keys
    with runtime.db.session() as session:
        found = _pending_user(session, pending)
        if found is None:
            return _start_again(request)
        user, role = found
        if twofactor.enabled(user):
            return RedirectResponse("/login/code", status_code=303)
        # A code refused: the same secret again (the person may have scanned it already).
        secret, username = twofactor.pending_secret(keys, user), user.username

        def again(status: int, error: str) -> Response:
            if secret is None:
                return _start_again(request)
            enrollment = twofactor.enrollment_of(secret, username)
            return render(
                request, "login_two_factor.html", status, enrollment=enrollment, error=error
            )

        shown_again(request, again, kinds=(twofactor.TwoFactorError,))
        codes = twofactor.confirm(
            session, keys, user, code, Actor(f"user:{user.id}", role.value), pending[1]
        )
        token = _start(request, session, user.id, pending[1], role.value, "totp_enrolled")
    _set_session(request, token)
    return render(request, "login_recovery_codes.html", codes=codes)


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
            error=N_("Your form expired or was not sent by this site."),
        )
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        with request.app.state.runtime.db.session() as session:
            sessions.end(session, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
