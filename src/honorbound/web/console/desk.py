"""The agent desk: what a contact-center agent does during a call, on one page. Find the caller
(masked: the agent sees the identities' shapes, never their values), record an opt-out or opt-in
the caller states, with its true source and channel, and log a rights request the caller makes
by phone, its clock started at the call's start (not the moment the agent types it).

The identity the caller gave is posted, never put in a URL, and carried in the desk's hidden
fields from one form to the next while the call lasts. Every write names the agent (the signed-in
user) in the ledger, the request's timeline and the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.consent import ledger, received
from honorbound.consent.identity import guess_kind, identify
from honorbound.consent.models import STAFF_SOURCES, Action, ConsentChannel, Purpose
from honorbound.db.base import utcnow
from honorbound.i18n import N_
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import NewRequest, take_request, us_states
from honorbound.rights.jobs import services
from honorbound.rights.messages import type_names
from honorbound.rights.models import Manner, RequestType
from honorbound.rights.rules import load_rights_rules
from honorbound.vault import reading
from honorbound.vault.identities import IdentityKind, InvalidIdentity
from honorbound.vault.masking import mask_identity
from honorbound.vault.subjects import find_subject_id
from honorbound.web.forms import ANY, shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
PERMISSION = "consent.record_received"
# How far back a call's start may be logged: the desk is for the call at hand and the hours
# after it; older requests and letters go through the consent page and the API.
CALL_WINDOW = dt.timedelta(days=30)
CALL_FORMAT = "%Y-%m-%dT%H:%M"


def _context(staff: Staff) -> dict[str, Any]:
    rules = load_rights_rules()
    return {
        "staff": staff,
        "section": "desk",
        "sources": sorted(s.value for s in STAFF_SOURCES),
        "purposes": [p.value for p in Purpose],
        "channels": [c.value for c in ConsentChannel],
        "actions": [a.value for a in Action],
        # The types its row lets a person make by phone (`taken_by`): not an appeal (it comes
        # with the link in a decision letter) nor a correction (it needs the corrected values).
        "types": {t: rules.label(t) for t in rules.taken_by("phone")},
        "states": sorted(us_states()),
        "can_log_request": staff.may("rights.intake"),
    }


def _page(request: Request, staff: Staff, status: int = 200, **context: Any) -> Response:
    context.setdefault("call_started", utcnow().strftime(CALL_FORMAT))
    context.setdefault("form", {})
    return render(request, "console/desk.html", status=status, **_context(staff), **context)


def _call_start(value: str) -> dt.datetime:
    if not value.strip():
        return utcnow()  # no start given: the call is now
    try:
        when = dt.datetime.strptime(value.strip(), CALL_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(
            N_("Enter when the call started as a date and time in UTC, such as 2026-12-03 14:05.")
        ) from None
    now = utcnow()
    if when > now + dt.timedelta(minutes=5):
        raise ValueError(N_("The call's start is in the future. Enter when it started (UTC)."))
    if when < now - CALL_WINDOW:
        raise ValueError(
            N_(
                "The desk logs calls of the last 30 days. For an older call, use the consent "
                "page or the API with the date it was received."
            )
        )
    return when


def _caller(request: Request, staff: Staff, value: str) -> dict[str, Any]:
    """What the desk shows about the caller: masked identities, current choices."""
    runtime = request.app.state.runtime
    kind = guess_kind(value)
    ref = identify(runtime.keys, staff.organization_id, value)
    with runtime.db.session() as session:
        subject_id = find_subject_id(
            session, runtime.vault_keys, staff.organization_id, kind, value
        )
        identities: list[Any] = []
        if subject_id is not None:
            view = reading.subject_view(
                session, runtime.vault_keys, staff.organization_id, subject_id
            )
            identities = view.identities
        events = ledger.history(session, staff.organization_id, ref.index)
        session.expunge_all()
    return {
        "identity": value,
        "masked": mask_identity(kind.value, value),
        "subject_id": subject_id,
        "identities": identities,
        "state": ledger.current_state(events),
    }


@router.get("/console/desk", response_class=HTMLResponse)
def desk(request: Request, staff: Annotated[Staff, Depends(staff_with(PERMISSION))]) -> Response:
    return _page(request, staff)


def _identity_problem(value: str) -> str:
    return (
        N_(
            "We could not read “{value}” as an email address or a phone number. Check it "
            "with the caller (a phone number with its area code, such as 415 555 0134).",
            value=value[:80],
        )
        if value
        else N_("Enter the email address or phone number the caller gives.")
    )


def _find(request: Request, staff: Staff, value: str, call_started: str) -> dict[str, Any] | str:
    if not value:
        return _identity_problem(value)
    shown_again(
        request,
        lambda status, error: _page(
            request, staff, status, error=error, lookup=value, call_started=call_started
        ),
        kinds=(InvalidIdentity,),
        words={(ANY, 422): _identity_problem(value)},
    )
    return _caller(request, staff, value)


@router.post("/console/desk", response_class=HTMLResponse)
def find_caller(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form(PERMISSION))],
    identity: Annotated[str, Form(max_length=320)] = "",
    call_started: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    value = identity.strip()
    started = call_started.strip() or utcnow().strftime(CALL_FORMAT)
    found = _find(request, staff, value, started)
    if isinstance(found, str):
        return _page(request, staff, 422, error=found, lookup=value, call_started=started)
    return _page(request, staff, caller=found, call_started=started)


@router.post("/console/desk/choice", response_class=HTMLResponse)
def record_choice(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form(PERMISSION))],
    identity: Annotated[str, Form(max_length=320)] = "",
    call_started: Annotated[str, Form(max_length=32)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    source: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=32)] = "all",
    channel: Annotated[str, Form(max_length=8)] = "all",
    reference: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """An opt-out or opt-in the caller states, with its true source (a call, or an email or a
    letter the agent is reading out) and its channel; it takes effect at the call's start."""
    runtime = request.app.state.runtime
    value = identity.strip()
    form = {
        "action": action,
        "source": source,
        "purpose": purpose,
        "channel": channel,
        "reference": reference,
    }
    found = _find(request, staff, value, call_started)
    if isinstance(found, str):
        return _page(request, staff, 422, error=found, lookup=value, call_started=call_started)

    def again(message: str, status: int = 422) -> Response:
        return _page(
            request,
            staff,
            status,
            caller=found,
            call_started=call_started,
            form=form,
            choice_error=message,
        )

    try:
        when = _call_start(call_started)
    except ValueError as exc:
        return again(str(exc))
    if action not in {a.value for a in Action}:
        return again(N_("Choose whether the caller opts out or opts in."))
    if source not in {s.value for s in STAFF_SOURCES}:
        return again(N_("Choose how the choice reached you: on this call, by email or by letter."))
    ref = identify(runtime.keys, staff.organization_id, value)
    shown_again(
        request,
        lambda status, error: again(error, status),
        kinds=(ledger.LedgerError,),
        words=LEDGER,
    )
    with runtime.db.session() as session:
        event, _ = received.record_received_choice(
            session,
            staff.organization_id,
            ref,
            staff.actor,
            action=action,
            source=source,
            purpose=purpose,
            channel=channel,
            received_at=when,
            reference=reference.strip() or None,
            subject_id=found["subject_id"],
        )
        recorded = {
            "action": event.action,
            "source": event.source,
            "purpose": event.purpose,
            "channel": event.channel,
            "receipt": event.receipt_id,
        }
    return _page(
        request,
        staff,
        caller=_caller(request, staff, value),
        call_started=call_started,
        recorded=recorded,
    )


# The ledger's refusals in the desk's words.
LEDGER = {
    ("reference", 422): N_(
        "The reference is the call, ticket or letter id, with no spaces and no names "
        "(letters, digits and . _ : / # - only)."
    ),
    ("purpose", 422): N_("Choose what the choice is about from the list."),
    ("channel", 422): N_("Choose the channel from the list."),
    (ANY, 422): N_("The ledger could not record this: {message}."),
}
# The intake's refusals of a request logged on a call, in the desk's words.
INTAKE = {
    ("body.email", 422): N_(
        "Ask the caller for an email address to send the answer to, or check the one typed "
        "(such as name@example.com)."
    ),
    ("body.corrections", 422): N_(
        "A correction needs the corrected values: log it from the request form, or ask the "
        "caller to use the privacy portal."
    ),
    (ANY, 422): N_("The request could not be logged: {message}."),
}


@router.post("/console/desk/request", response_class=HTMLResponse)
def log_request(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form(PERMISSION, "rights.intake"))],
    identity: Annotated[str, Form(max_length=320)] = "",
    call_started: Annotated[str, Form(max_length=32)] = "",
    type: Annotated[str, Form(max_length=40)] = "",
    jurisdiction: Annotated[str, Form(max_length=2)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """A rights request the caller makes on the phone (a method the laws accept), received at
    the call's start: its due date counts from then."""
    value = identity.strip()
    form = {"type": type, "jurisdiction": jurisdiction.upper(), "email": email}
    found = _find(request, staff, value, call_started)
    if isinstance(found, str):
        return _page(request, staff, 422, error=found, lookup=value, call_started=call_started)

    def again(message: str, status: int = 422) -> Response:
        return _page(
            request,
            staff,
            status,
            caller=found,
            call_started=call_started,
            form=form,
            request_error=message,
        )

    try:
        when = _call_start(call_started)
    except ValueError as exc:
        return again(str(exc))
    if type not in load_rights_rules().taken_by("phone"):
        return again(N_("Choose what the caller asks for from the list."))
    if jurisdiction.upper() not in us_states():
        return again(N_("Choose the state the caller lives in."))
    kind = guess_kind(value)
    given_email = value if kind is IdentityKind.EMAIL else (email.strip() or None)
    phone = value if kind is IdentityKind.PHONE else None
    runtime = request.app.state.runtime
    shown_again(
        request, lambda status, error: again(error, status), kinds=(RightsError,), words=INTAKE
    )
    with runtime.db.session() as session:
        intake = take_request(
            session,
            services(runtime),
            staff.organization_id,
            NewRequest(
                type=RequestType(type),
                jurisdiction=jurisdiction.upper(),
                manner=Manner.PHONE,
                email=given_email,
                phone=phone,
                received_at=when,
            ),
            staff.actor,
        )
        logged = {
            "id": intake.request.id,
            "reference": intake.request.reference,
            "due_at": intake.request.due_at,
            "received_at": intake.request.received_at,
            "merged": intake.merged,
            "type": type_names().get(type, type),
        }
    return _page(
        request,
        staff,
        caller=_caller(request, staff, value),
        call_started=call_started,
        logged=logged,
    )
