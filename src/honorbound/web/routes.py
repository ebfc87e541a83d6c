"""Login, logout and the console home. Thin: parse the form, call accounts, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.service import authenticate_user, memberships
from honorbound.audit import Actor, append, head, verify
from honorbound.web import csrf

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", request.session.get("username"))
    context["csrf_token"] = csrf.token(request)
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    if request.session.get("user_id"):
        return RedirectResponse("/console", status_code=303)
    return render(request, "index.html")


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


@router.get("/console", response_class=HTMLResponse)
def console(request: Request) -> Response:
    if not request.session.get("user_id"):
        return RedirectResponse("/login", status_code=303)
    runtime = request.app.state.runtime
    org_id = int(request.session["organization_id"])
    with runtime.db.session() as session:
        org = session.scalar(select(Organization).where(Organization.id == org_id))
        chain = verify(session, org_id)
        seq, digest = head(session, org_id)
    return render(
        request,
        "console.html",
        org=org,
        role=request.session.get("role"),
        chain_ok=chain.ok,
        chain_entries=chain.entries,
        head_seq=seq,
        head_hash=digest,
        chain_problem=str(chain.problems[0]) if chain.problems else "",
    )
