"""A BPO's per-client settings in the console: a client's calling hours override and its
sub-processor register (on the client's page), and the BPO's shared SMS numbers (on the clients
page). The same domain functions as the API (/v1/clients/{id}/overrides, /subprocessors,
/v1/sms-numbers) and `honorbound clients hours | subprocessors | sms-numbers`. Thin: each form
checks the client is this BPO's, calls one function and shows the page again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from honorbound.bpo import clients, sms_numbers
from honorbound.consent import overrides
from honorbound.disclosures import subprocessors
from honorbound.web.console.clients import MAX_ID, _act, _bpo_page
from honorbound.web.forms import shown_again
from honorbound.web.staff import Staff, staff_form

router = APIRouter(include_in_schema=False)
ClientsManager = Annotated[Staff, Depends(staff_form("clients.manage"))]
MAX_CATEGORIES_TEXT = subprocessors.MAX_CATEGORIES * (subprocessors.MAX_CATEGORY + 2)


# -- calling hours -----------------------------------------------------------------------------
@router.post("/console/clients/{client_id}/hours", response_class=HTMLResponse)
def set_hours(
    request: Request,
    staff: ClientsManager,
    client_id: int,
    start: Annotated[str, Form(max_length=5)] = "",
    end: Annotated[str, Form(max_length=5)] = "",
    note: Annotated[str, Form(max_length=overrides.MAX_NOTE)] = "",
) -> Response:

    def action(session: Any, runtime: Any) -> None:
        client = clients.client_of(session, staff.organization_id, client_id)
        overrides.set_calling_hours(
            session, client.id, runtime.contact_rules, start, end, note, staff.actor
        )

    shown = {"hours_form": {"start": start, "end": end, "note": note}}
    return _act(request, staff, client_id, action, **shown)


@router.post("/console/clients/{client_id}/hours/clear", response_class=HTMLResponse)
def clear_hours(request: Request, staff: ClientsManager, client_id: int) -> Response:

    def action(session: Any, runtime: Any) -> None:
        client = clients.client_of(session, staff.organization_id, client_id)
        overrides.clear(session, client.id, staff.actor)

    return _act(request, staff, client_id, action)


# -- sub-processors ----------------------------------------------------------------------------
@router.post("/console/clients/{client_id}/subprocessors", response_class=HTMLResponse)
def add_subprocessor(
    request: Request,
    staff: ClientsManager,
    client_id: int,
    name: Annotated[str, Form(max_length=subprocessors.MAX_NAME)] = "",
    purpose: Annotated[str, Form(max_length=subprocessors.MAX_PURPOSE)] = "",
    location: Annotated[str, Form(max_length=subprocessors.MAX_LOCATION)] = "",
    categories: Annotated[str, Form(max_length=MAX_CATEGORIES_TEXT)] = "",
    objection_days: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    named = [c.strip() for c in categories.split(",") if c.strip()]
    days = (
        int(objection_days)
        if objection_days.isdigit()
        else (subprocessors.DEFAULT_OBJECTION_DAYS if not objection_days.strip() else -1)
    )

    def action(session: Any, runtime: Any) -> None:
        client = clients.client_of(session, staff.organization_id, client_id)
        subprocessors.add(
            session, runtime.keys, runtime.jobs, client.id, client.privacy_contact, name,
            purpose, location, named, staff.actor, days,
        )  # fmt: skip

    shown = {"sub_form": {"name": name, "purpose": purpose, "location": location,
                          "categories": categories, "objection_days": objection_days}}  # fmt: skip
    return _act(request, staff, client_id, action, **shown)


@router.post("/console/clients/{client_id}/subprocessors/remove", response_class=HTMLResponse)
def remove_subprocessor(
    request: Request,
    staff: ClientsManager,
    client_id: int,
    subprocessor_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    chosen = int(subprocessor_id) if subprocessor_id.isdigit() else 0

    def action(session: Any, runtime: Any) -> dict[str, Any] | None:
        client = clients.client_of(session, staff.organization_id, client_id)
        if not 1 <= chosen <= MAX_ID:
            return {"error": "Choose a sub-processor from the list to remove."}
        try:
            subprocessors.remove(
                session, runtime.keys, runtime.jobs, client.id, client.privacy_contact, chosen,
                staff.actor,
            )  # fmt: skip
        except LookupError:  # not a current sub-processor of this client (the client is)
            return {"error": "That sub-processor is not on this client's register (any more)."}
        return None

    return _act(request, staff, client_id, action)


# -- shared SMS numbers ------------------------------------------------------------------------
@router.post("/console/sms-numbers", response_class=HTMLResponse)
def configure_number(
    request: Request,
    staff: ClientsManager,
    number: Annotated[str, Form(max_length=32)] = "",
    client: Annotated[list[str] | None, Form()] = None,
    routing: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    chosen = list(client or [])
    shown = {"number_form": {"number": number, "clients": chosen, "routing": routing}}
    if len(chosen) > sms_numbers.MAX_CLIENTS_PER_NUMBER or any(len(s) > 64 for s in chosen):
        message = f"Choose at most {sms_numbers.MAX_CLIENTS_PER_NUMBER} clients from the list."
        return _bpo_page(request, staff, 422, number_error=message, **shown)
    runtime = request.app.state.runtime

    def again(status: int, error: str) -> Response:
        return _bpo_page(request, staff, status, number_error=error.rstrip(".") + ".", **shown)

    # The messages name their field already ("routing must be ...").
    shown_again(request, again, kinds=(sms_numbers.SharedNumberError,), named=False)
    try:
        with runtime.db.session() as session:
            ids = [clients.client_by_slug(session, staff.organization_id, s).id for s in chosen]
            sms_numbers.configure(session, staff.organization_id, number, ids, routing, staff.actor)
    except LookupError as exc:
        return again(422, str(exc))
    return RedirectResponse("/console/clients#sms-numbers", status_code=303)
