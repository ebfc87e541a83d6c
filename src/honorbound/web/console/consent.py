"""A person's consent ledger: every recorded choice and the current state derived from it.

The identity is posted (never in a URL) and turned into the ledger's blind index; the page
shows only the masked identity.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.accounts.models import Organization
from honorbound.consent import ledger, received, service
from honorbound.consent.identity import guess_kind, identify
from honorbound.consent.models import STAFF_SOURCES, ConsentChannel, Purpose
from honorbound.i18n import N_
from honorbound.vault.identities import InvalidIdentity
from honorbound.vault.masking import mask_identity
from honorbound.web.forms import shown_again
from honorbound.web.portal.preferences import issue_link
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)


FORM_CHOICES = {
    "sources": sorted(s.value for s in STAFF_SOURCES),
    "purposes": [p.value for p in Purpose],
    "channels": [c.value for c in ConsentChannel],
}


def _page(request: Request, status: int = 200, **context: object) -> Response:
    return render(
        request, "console/consent.html", status=status, section="consent", **FORM_CHOICES, **context
    )


@router.get("/console/consent", response_class=HTMLResponse)
def consent_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("consent.read"))]
) -> Response:
    return _page(request, staff=staff)


@router.post("/console/consent/opt-out", response_class=HTMLResponse)
def record_received(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("consent.record_received"))],
    identity: Annotated[str, Form(max_length=320)] = "",
    source: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=32)] = "all",
    channel: Annotated[str, Form(max_length=8)] = "all",
    received_on: Annotated[str, Form(max_length=32)] = "",
    reference: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """An opt-out the staff member received by email, on a call or in a letter."""
    runtime = request.app.state.runtime
    value = identity.strip()
    shown_again(request, lambda status, error: _page(request, status, staff=staff, error=error),
                field="identity", kinds=(InvalidIdentity, ledger.LedgerError))  # fmt: skip
    if not value:
        raise InvalidIdentity("enter the email address or phone number the person gave")
    ref = identify(runtime.keys, staff.organization_id, value)
    when: dt.datetime | None = None
    if received_on.strip():
        try:
            day = dt.date.fromisoformat(received_on.strip())
        except ValueError:
            return _page(
                request, 422, staff=staff, error=N_("received on: use a date such as 2026-11-30")
            )
        # A date only: the start of that day in UTC, or now when that is today.
        when = min(dt.datetime.combine(day, dt.time(), dt.UTC), dt.datetime.now(dt.UTC))
    with runtime.db.session() as session:
        subject_id = service.subject_for(
            session, runtime.vault_keys, staff.organization_id, ref, value
        )
        # A LedgerError rolls the session back and shows the page (received_at is "received on")
        event, _ = received.record_received_opt_out(
            session,
            staff.organization_id,
            ref,
            staff.actor,
            source=source,
            purpose=purpose,
            channel=channel,
            received_at=when,
            reference=reference.strip() or None,
            subject_id=subject_id,
        )
        recorded = {"source": event.source, "purpose": event.purpose, "channel": event.channel}
        receipt_id = event.receipt_id
        events = ledger.history(session, staff.organization_id, ref.index)
        session.expunge_all()
    return _page(
        request,
        staff=staff,
        searched=True,
        masked=mask_identity(guess_kind(value).value, value),
        events=events,
        state=ledger.current_state(events),
        recorded=recorded,
        receipt_id=receipt_id,
    )


@router.post("/console/consent", response_class=HTMLResponse)
def consent_lookup(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("consent.read"))],
    identity: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    runtime = request.app.state.runtime
    value = identity.strip()
    shown_again(request, lambda status, error: _page(request, status, staff=staff, error=error),
                field="identity", kinds=(InvalidIdentity,))  # fmt: skip
    if not value:
        raise InvalidIdentity("enter an email address or a phone number")
    ref = identify(runtime.keys, staff.organization_id, value)
    with runtime.db.session() as session:
        events = ledger.history(session, staff.organization_id, ref.index)
        org = session.get(Organization, staff.organization_id)
    assert org is not None
    link = issue_link(runtime.keys, runtime.settings.base_url, org.slug, org.id, ref)
    return _page(
        request,
        staff=staff,
        searched=True,
        masked=mask_identity(guess_kind(value).value, value),
        events=events,
        state=ledger.current_state(events),
        preference_link=link,
    )
