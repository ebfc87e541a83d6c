"""Errors met in a browser are HTML pages in the frame of the part of the site they belong to
(the portal of the organization in the address, the console, or the plain site frame), never a
JSON document. `api/problems.py` asks `page` first for every error it handles; the JSON API
keeps its problem details.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from honorbound import i18n
from honorbound.errors import HonorboundError
from honorbound.i18n import N_
from honorbound.web import forms
from honorbound.web.portal import language
from honorbound.web.portal.common import organization
from honorbound.web.rendering import render
from honorbound.web.staff import signed_in

# Paths answered with pages; everything else (the JSON API, /healthz, /docs) keeps its JSON.
BROWSER_PREFIXES = ("/p/", "/console", "/login", "/logout", "/u/")

TITLES = {
    400: N_("This address cannot be used"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("This page is the answer to a form"),
    413: N_("What you sent is too large"),
    422: N_("Something in the form could not be used"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("We are busy"),
}

# The names people see on the forms, for fields a validation error names.
FIELD_NAMES = {
    "email": N_("the email address"),
    "phone": N_("the phone number"),
    "identity": N_("the email address or phone number"),
    "agent_name": N_("the agent's name"),
    "reason": N_("the reason"),
    "note": N_("the note"),
    "typed_name": N_("your full name"),
    "birth_date": N_("the date of birth"),
    "account_id": N_("the account number"),
    "correct_value": N_("the correct information"),
    "token": N_("the link"),
    "reference": N_("the request reference"),
    "username": N_("the username"),
    "password": N_("the password"),
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


def explain(status: int, field: str = "", kind: str = "", lang: str = "en") -> str:
    """What happened and what to do, in plain words, in `lang`."""
    name = i18n.gettext(lang, FIELD_NAMES.get(field, ANY_FIELD))
    if status == 422 and field == "token":
        return i18n.gettext(lang, INCOMPLETE_LINK)
    if status == 422:
        sentence = FIELD_PROBLEMS["too_long" if kind.endswith("too_long") else kind]
        text = i18n.gettext(lang, sentence).format(name=name)
        return text[:1].upper() + text[1:]
    return i18n.gettext(lang, MESSAGES.get(status, GO_BACK))


ANY_FIELD = N_("one of the fields")
GO_BACK = N_("Please go back and try again.")
SOMETHING_WRONG = N_("Something went wrong")
INCOMPLETE_LINK = N_(
    "This link is incomplete. Open it again from the email we sent you, the whole link, or "
    "copy all of it into the address bar."
)
FIELD_PROBLEMS = defaultdict(
    lambda: N_("{name} could not be used. Go back, check it and send again."),
    {
        "too_long": N_("{name} is too long. Go back, shorten it and send again."),
        "missing": N_("{name} is missing. Go back, fill it in and send again."),
    },
)
MESSAGES = {
    400: N_("The address is not valid (it may have been altered or cut short)."),
    403: N_("You may not open this page."),
    404: N_("There is nothing at this address. Check the link you were given."),
    405: N_(
        "You opened an address that only answers a form (after a refresh or from a "
        "bookmark). Open the form again from the menu."
    ),
    413: N_("The form or file you sent is larger than this site accepts. Send a smaller file."),
    429: N_("This was sent too often. Please wait a little and try again."),
    500: N_("We have logged the problem. Please try again later."),
    503: N_("Please try again in a few seconds; nothing was changed."),
}


def page(
    request: Request,
    status: int,
    field: str = "",
    kind: str = "",
    headers: dict[str, str] | None = None,
    error: HonorboundError | None = None,
) -> Response | None:
    """The HTML page for an error on a browser path; None for the JSON API's paths. Runs in a
    worker thread (it may read the organization). A domain `error` on a page that shows its
    form again (`web/forms.py`) answers that page."""
    if error is not None:
        again = forms.answer(request, error)  # a page that declared it (/invite is one too)
        if again is not None:
            return again
    if not is_browser_path(request.url.path):
        return None
    context = _frame(request)
    # The portal's and the console's error pages speak the page's language; the site frame's
    # (signed out, no portal) is English.
    framed = context["layout"] in ("portal/layout.html", "console/layout.html")
    lang = language.chosen(request) if framed else "en"
    response = render(
        request,
        "error.html",
        status=status,
        title=i18n.gettext(lang, TITLES.get(status, SOMETHING_WRONG)),
        message=explain(status, field, kind, lang),
        **context,
    )
    if headers:
        response.headers.update(headers)
    return response
