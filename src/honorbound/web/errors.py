"""Errors met in a browser are HTML pages in the frame of the part of the site they belong to
(the portal of the organization in the address, the console, or the plain site frame), never a
JSON document. `api/problems.py` asks `page` first for every error it handles; the JSON API
keeps its problem details.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from honorbound.web.portal.common import organization
from honorbound.web.rendering import render
from honorbound.web.staff import signed_in

# Paths answered with pages; everything else (the JSON API, /healthz, /docs) keeps its JSON.
BROWSER_PREFIXES = ("/p/", "/console", "/login", "/logout", "/u/")

TITLES = {
    400: "This address cannot be used",
    403: "Not allowed",
    404: "Page not found",
    405: "This page is the answer to a form",
    413: "What you sent is too large",
    422: "Something in the form could not be used",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "We are busy",
}

# The names people see on the forms, for fields a validation error names.
FIELD_NAMES = {
    "email": "the email address",
    "phone": "the phone number",
    "identity": "the email address or phone number",
    "agent_name": "the agent's name",
    "reason": "the reason",
    "note": "the note",
    "typed_name": "your full name",
    "birth_date": "the date of birth",
    "account_id": "the account number",
    "correct_value": "the correct information",
    "token": "the link",
    "reference": "the request reference",
    "username": "the username",
    "password": "the password",
}


def is_browser_path(path: str) -> bool:
    return path == "/" or path.startswith(BROWSER_PREFIXES)


def _frame(request: Request) -> dict[str, Any]:
    """The layout and what it needs: the portal of the slug in the path, or the console."""
    path = request.url.path
    if path.startswith("/p/"):
        slug = path.split("/")[2] if len(path.split("/")) > 2 else ""
        org = None
        if slug:
            with request.app.state.runtime.db.read_session() as session:
                org = organization(session, slug)
        if org is not None:
            return {"layout": "portal/layout.html", "org": org, "slug": slug, "home": f"/p/{slug}"}
        return {"layout": "base.html", "public": True, "home": "/"}
    if path.startswith("/console"):
        staff = signed_in(request)
        if staff is not None:
            return {"layout": "console/layout.html", "staff": staff, "home": "/console"}
        return {"layout": "base.html", "home": "/login"}
    return {"layout": "base.html", "home": "/"}


def explain(status: int, field: str = "", kind: str = "") -> str:
    """What happened and what to do, in plain words."""
    name = FIELD_NAMES.get(field, "one of the fields")
    if status == 422 and field == "token":
        return (
            "This link is incomplete. Open it again from the email we sent you, the whole "
            "link, or copy all of it into the address bar."
        )
    if status == 422 and kind.endswith("too_long"):
        return f"{name[:1].upper()}{name[1:]} is too long. Go back, shorten it and send again."
    if status == 422 and kind == "missing":
        return f"{name[:1].upper()}{name[1:]} is missing. Go back, fill it in and send again."
    if status == 422:
        return f"{name[:1].upper()}{name[1:]} could not be used. Go back, check it and send again."
    return {
        400: "The address is not valid (it may have been altered or cut short).",
        403: "You may not open this page.",
        404: "There is nothing at this address. Check the link you were given.",
        405: "You opened an address that only answers a form (after a refresh or from a "
        "bookmark). Open the form again from the menu.",
        413: "The form or file you sent is larger than this site accepts. Send a smaller file.",
        429: "This was sent too often. Please wait a little and try again.",
        500: "We have logged the problem. Please try again later.",
        503: "Please try again in a few seconds; nothing was changed.",
    }.get(status, "Please go back and try again.")


def page(
    request: Request,
    status: int,
    field: str = "",
    kind: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse | None:
    """The HTML page for an error on a browser path; None for the JSON API's paths. Runs in a
    worker thread (it may read the organization)."""
    if not is_browser_path(request.url.path):
        return None
    context = _frame(request)
    response = render(
        request,
        "error.html",
        status=status,
        title=TITLES.get(status, "Something went wrong"),
        message=explain(status, field, kind),
        **context,
    )
    if headers:
        response.headers.update(headers)
    return response
