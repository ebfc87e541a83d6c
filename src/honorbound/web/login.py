"""Home, staff sign-in and sign-out. Thin: parse the form, call accounts, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.service import authenticate_user, memberships
from honorbound.audit import Actor, append
from honorbound.web import csrf
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    if request.session.get("user_id"):
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
    with runtime.db.session() as session:
        user = authenticate_user(session, username, password)
        if user is None:
            return render(request, "login.html", status=401, error="Wrong username or password.")
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
        # A new session on sign-in: a token planted before login is worth nothing after it.
        request.session.clear()
        request.session.update(
            {
                "user_id": user.id,
                "username": user.username,
                "organization_id": org.id,
                "role": role.value,
            }
        )
    return RedirectResponse("/console", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    if not csrf.valid(request, csrf_token):
        return render(
            request,
            "login.html",
            status=403,
            error="Your form expired or was not sent by this site.",
        )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
