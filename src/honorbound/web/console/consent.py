"""A person's consent ledger: every recorded choice and the current state derived from it.

The identity is posted (never in a URL) and turned into the ledger's blind index; the page
shows only the masked identity.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.accounts.models import Organization
from honorbound.consent import ledger
from honorbound.consent.identity import guess_kind, identify
from honorbound.vault.identities import InvalidIdentity
from honorbound.vault.masking import mask_identity
from honorbound.web.portal.preferences import issue_link
from honorbound.web.rendering import render
from honorbound.web.staff import guard, guard_post

router = APIRouter(include_in_schema=False)


@router.get("/console/consent", response_class=HTMLResponse)
def consent_page(request: Request) -> Response:
    staff = guard(request, "consent.read")
    if isinstance(staff, Response):
        return staff
    return render(request, "console/consent.html", staff=staff, section="consent")


@router.post("/console/consent", response_class=HTMLResponse)
def consent_lookup(
    request: Request,
    identity: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    staff = guard_post(request, "consent.read", csrf_token)
    if isinstance(staff, Response):
        return staff
    runtime = request.app.state.runtime
    value = identity.strip()
    try:
        if not value:
            raise InvalidIdentity("enter an email address or a phone number")
        ref = identify(runtime.keys, staff.organization_id, value)
    except InvalidIdentity as exc:
        return render(
            request,
            "console/consent.html",
            status=422,
            staff=staff,
            section="consent",
            error=f"identity: {exc}",
        )
    with runtime.db.session() as session:
        events = ledger.history(session, staff.organization_id, ref.index)
        org = session.get(Organization, staff.organization_id)
    assert org is not None
    link = issue_link(runtime.keys, runtime.settings.base_url, org.slug, org.id, ref)
    return render(
        request,
        "console/consent.html",
        staff=staff,
        section="consent",
        searched=True,
        masked=mask_identity(guess_kind(value).value, value),
        events=events,
        state=ledger.current_state(events),
        preference_link=link,
    )
