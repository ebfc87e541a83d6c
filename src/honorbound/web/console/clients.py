"""A BPO in the console: the organization switcher, the clients page (onboard, keys, invite,
staff, disable, offboard) and the cross-client desk ("All my clients"). Thin: each form calls
one function of bpo.clients, sessions or bpo.desk and renders the answer."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from honorbound import i18n
from honorbound.accounts import sessions
from honorbound.accounts.models import Organization
from honorbound.accounts.roles import ROLE_NAMES, Role
from honorbound.accounts.service import AccountError
from honorbound.bpo import clients, datamap, desk, sms_numbers
from honorbound.consent import overrides
from honorbound.disclosures import subprocessors
from honorbound.i18n import N_
from honorbound.retention.certificates import document
from honorbound.web.forms import shown_again
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import SESSION_TOKEN, Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
MAX_ID = 2_147_483_647
KEY_ROLES = [r.value for r in Role]  # shown by words.say("role", ...)


def _refuse(
    request: Request, staff: Staff | None, status: int, title: str, message: str
) -> Response:
    """An error page in the console's frame."""
    return render(
        request,
        "error.html",
        status=status,
        title=title,
        message=message,
        layout="console/layout.html" if staff else "base.html",
        staff=staff,
        home="/console" if staff else "/login",
    )


# -- the organization switcher -----------------------------------------------------------------
@router.post("/console/organization", response_class=HTMLResponse)
def switch(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form())],
    organization_id: Annotated[str, Form(max_length=12)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    token = request.session.get(SESSION_TOKEN)
    chosen = int(organization_id) if organization_id.isdigit() else 0
    refused = N_(
        "You are not a member of that organization, or it is disabled. Choose one of yours "
        "from the list."
    )
    title = N_("Not one of your organizations")
    if not (1 <= chosen <= MAX_ID and isinstance(token, str)):
        return _refuse(request, staff, 403, title, refused)
    shown_again(request, lambda status, _: _refuse(request, staff, status, title, refused),
                kinds=(sessions.NotAMember,))  # fmt: skip
    with request.app.state.runtime.db.session() as session:
        sessions.switch(session, token, chosen)
    # Only a console page of this site (no open redirect).
    target = next_page if next_page.startswith("/console") and "//" not in next_page else "/console"
    return RedirectResponse(target, status_code=303)


# -- the clients page --------------------------------------------------------------------------
def _bpo_page(request: Request, staff: Staff, status: int = 200, **context: Any) -> Response:
    with request.app.state.runtime.db.read_session() as session:
        org = session.get(Organization, staff.organization_id)
        assert org is not None
        rows = clients.clients(session, org.id) if org.operated_by_id is None else []
        is_client = org.operated_by_id is not None
        numbers = [] if is_client else sms_numbers.numbers_of(session, org.id)
    return render(
        request,
        "console/clients.html",
        status=status,
        staff=staff,
        section="clients",
        clients=rows,
        is_client=is_client,
        numbers=numbers,
        routings=[r.value for r in sms_numbers.Routing],
        **context,
    )


@router.get("/console/clients", response_class=HTMLResponse)
def clients_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("clients.manage"))]
) -> Response:
    return _bpo_page(request, staff)


@router.post("/console/clients", response_class=HTMLResponse)
def onboard(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    slug: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=clients.MAX_NAME)] = "",
    privacy_contact: Annotated[str, Form(max_length=clients.MAX_CONTACT)] = "",
    notice: Annotated[str, Form(max_length=clients.MAX_NOTICE_BYTES)] = "",
) -> Response:
    from honorbound.policy.store import AdoptionError, prepare

    form = {"slug": slug, "name": name, "privacy_contact": privacy_contact, "notice": notice}
    runtime = request.app.state.runtime

    def again(status: int, error: str) -> Response:
        return _bpo_page(request, staff, status, error=error, form=form)

    # The notice's problems (their lines) after the page's own words.
    shown_again(request, again, field="notice", kinds=(AdoptionError,),
                words={("notice", 422): N_("The notice has errors: {message}")})  # fmt: skip
    prepared = prepare(notice, "notice.yaml") if notice.strip() else None
    shown_again(request, again, kinds=(AccountError,))
    with runtime.db.session() as session:
        org = clients.onboard_client(
            session, staff.organization_id, slug, name, privacy_contact, staff.actor,
            prepared, runtime.jobs,
        )  # fmt: skip
        client_id = org.id
    return RedirectResponse(f"/console/clients/{client_id}?onboarded=1", status_code=303)


def _client_page(
    request: Request, staff: Staff, client_id: int, status: int = 200, **context: Any
) -> Response:
    from honorbound.accounts import team

    with request.app.state.runtime.db.read_session() as session:
        try:
            client = clients.client_of(session, staff.organization_id, client_id)
        except LookupError:
            return render(request, "console/not_found.html", 404, staff=staff, what="client")
        row = clients.clients(session, staff.organization_id)
        found = next(r for r in row if r.id == client.id)
        members = team.members(session, client.id)
        try:
            offboarding = clients.offboarding_of(session, staff.organization_id, client.id)
        except LookupError:
            offboarding = None
        hours = session.get(overrides.ContactOverride, client.id)
        register = subprocessors.current(session, client.id)
    return render(
        request,
        "console/client.html",
        status=status,
        staff=staff,
        section="clients",
        client=found,
        members=members,
        offboarding=offboarding,
        hours=hours,
        subprocessors=register,
        roles=ROLE_NAMES,
        key_roles=KEY_ROLES,
        languages_offered=i18n.LANGUAGES,
        onboarded=request.query_params.get("onboarded") == "1",
        **context,
    )


def _client_id(request: Request, staff: Staff, client_id: int) -> Response | None:
    if not 1 <= client_id <= MAX_ID:
        return render(request, "console/not_found.html", 404, staff=staff, what="client")
    return None


@router.get("/console/clients/{client_id}", response_class=HTMLResponse)
def client_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("clients.manage"))], client_id: int
) -> Response:
    return _client_id(request, staff, client_id) or _client_page(request, staff, client_id)


def _act(request: Request, staff: Staff, client_id: int, action: Any, **shown: Any) -> Response:
    """Run one write for a client; its errors come back on the client's page (422), an id
    that is not this BPO's client is the console's 404."""
    bad = _client_id(request, staff, client_id)
    if bad is not None:
        return bad
    runtime = request.app.state.runtime
    # The messages name their field already ("note is longer than ...").
    shown_again(
        request,
        lambda status, error: _client_page(request, staff, client_id, status, error=error, **shown),
        kinds=(AccountError, overrides.OverrideError, subprocessors.SubprocessorError),
        named=False,
    )
    try:
        with runtime.db.session() as session:
            result = action(session, runtime)
    except LookupError:
        return render(request, "console/not_found.html", 404, staff=staff, what="client")
    if isinstance(result, dict):
        return _client_page(request, staff, client_id, **result)
    return RedirectResponse(f"/console/clients/{client_id}", status_code=303)


@router.post("/console/clients/{client_id}/keys", response_class=HTMLResponse)
def issue_key(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
    name: Annotated[str, Form(max_length=clients.MAX_NAME)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:

    def action(session: Any, runtime: Any) -> dict[str, Any]:
        key, plaintext = clients.issue_client_key(
            session, staff.organization_id, client_id, role, name, staff.actor
        )
        return {"new_key": plaintext, "new_key_prefix": key.prefix}

    return _act(request, staff, client_id, action, key_form={"name": name, "role": role})


@router.post("/console/clients/{client_id}/invite", response_class=HTMLResponse)
def invite(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=10)] = "",
) -> Response:

    def action(session: Any, runtime: Any) -> dict[str, Any]:
        user, link = clients.invite_to_client(
            session, runtime.keys, runtime.jobs, staff.organization_id, client_id, email, role,
            display_name, staff.actor, runtime.settings.base_url.rstrip("/") + "/invite",
            language or chosen(request),
        )  # fmt: skip
        return {"invited": user.username, "invite_link": link}

    form = {"email": email, "role": role, "display_name": display_name, "language": language}
    shown = {"invite_form": form}
    return _act(request, staff, client_id, action, **shown)


@router.post("/console/clients/{client_id}/grant", response_class=HTMLResponse)
def grant(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
    username: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:

    def action(session: Any, runtime: Any) -> None:
        clients.grant_client_access(
            session, staff.organization_id, client_id, username, role, staff.actor
        )

    return _act(request, staff, client_id, action, grant_form={"username": username})


@router.post("/console/clients/{client_id}/disable", response_class=HTMLResponse)
def disable(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
) -> Response:

    def action(session: Any, runtime: Any) -> None:
        clients.disable_client(session, staff.organization_id, client_id, staff.actor)

    return _act(request, staff, client_id, action)


@router.post("/console/clients/{client_id}/enable", response_class=HTMLResponse)
def enable(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
) -> Response:

    def action(session: Any, runtime: Any) -> None:
        clients.enable_client(session, staff.organization_id, client_id, staff.actor)

    return _act(request, staff, client_id, action)


def offboarding_dir(runtime: Any) -> Any:
    return runtime.settings.data_dir / "offboarding"


@router.post("/console/clients/{client_id}/offboard", response_class=HTMLResponse)
def offboard(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("clients.manage"))],
    client_id: int,
    confirm: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    bad = _client_id(request, staff, client_id)
    if bad is not None:
        return bad
    runtime = request.app.state.runtime
    shown_again(
        request,
        lambda status, error: _client_page(request, staff, client_id, status, error=error),
        kinds=(AccountError,),
    )
    try:
        with runtime.db.read_session() as session:
            client = clients.client_of(session, staff.organization_id, client_id)
            if confirm.strip() != client.slug:
                raise AccountError(
                    N_(
                        "Type the client's slug ({slug}) to confirm: offboarding erases its data.",
                        slug=client.slug,
                    )
                )
            export = clients.export_client(
                session, runtime.vault_keys, runtime.rules, staff.organization_id, client_id,
                offboarding_dir(runtime), runtime.settings.recordings_store,
            )  # fmt: skip
        with runtime.db.session() as session:
            clients.offboard_client(
                session, runtime.keys, runtime.vault_keys, staff.organization_id, client_id,
                export, staff.actor,
            )  # fmt: skip
    except LookupError:
        return render(request, "console/not_found.html", 404, staff=staff, what="client")
    return RedirectResponse(f"/console/clients/{client_id}", status_code=303)


@router.get("/console/clients/{client_id}/certificate.json", response_model=None)
def certificate(
    request: Request, staff: Annotated[Staff, Depends(staff_with("clients.manage"))], client_id: int
) -> Response:
    bad = _client_id(request, staff, client_id)
    if bad is not None:
        return bad
    try:
        with request.app.state.runtime.db.read_session() as session:
            row = clients.offboarding_of(session, staff.organization_id, client_id)
            body = json.dumps(document(row.certificate, row.signature), indent=2)
    except LookupError:
        return render(request, "console/not_found.html", 404, staff=staff, what="offboarding")
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="offboarding-{client_id}.json"'},
    )


@router.get("/console/clients/{client_id}/package.zip", response_model=None)
def package(
    request: Request, staff: Annotated[Staff, Depends(staff_with("clients.manage"))], client_id: int
) -> Response:
    bad = _client_id(request, staff, client_id)
    if bad is not None:
        return bad
    runtime = request.app.state.runtime
    try:
        with runtime.db.read_session() as session:
            row = clients.offboarding_of(session, staff.organization_id, client_id)
    except LookupError:
        return render(request, "console/not_found.html", 404, staff=staff, what="offboarding")
    path = offboarding_dir(runtime) / row.package_name
    if not path.is_file():
        gone = N_("The package was removed from the server after it was handed over.")
        return _refuse(request, staff, 410, N_("Package removed"), gone)
    return FileResponse(path, media_type="application/zip", filename=row.package_name)


# -- the cross-client desk ---------------------------------------------------------------------
@router.get("/console/all-clients", response_class=HTMLResponse)
def all_clients(
    request: Request, staff: Annotated[Staff, Depends(staff_with("desk.read"))]
) -> Response:
    params = request.query_params
    client = params.get("client", "")[:65]
    cursor = params.get("cursor", "") or None
    overdue = params.get("overdue") == "1"
    with request.app.state.runtime.db.read_session() as session:
        mine = desk.organizations_of_user(session, staff.user_id)
        try:
            chosen = desk.only(mine, client or None)
        except LookupError:
            return _refuse(request, staff, 404, N_("Not one of your clients"),
                           N_("There is no organization with that name among the ones you work "
                              "for. Choose one from the list."))  # fmt: skip
        runtime = request.app.state.runtime
        owed = desk.owner_notices(session, runtime.rule_book, mine, chosen)
        found = desk.summary(session, chosen, owed=owed, counts=runtime.desk_counts)
        shown_again(
            request,
            lambda status, error: _refuse(
                request, staff, status, N_("This page cannot be shown"), error.rstrip(".") + "."
            ),
            kinds=(desk.DeskError,),
        )
        page = desk.due_requests(session, chosen, cursor, overdue_only=overdue)
    return render(
        request,
        "console/all_clients.html",
        staff=staff,
        section="all-clients",
        mine=mine,
        summary=found,
        owed=owed,
        page=page,
        client=client,
        overdue=overdue,
        first=cursor is None,
    )


@router.get("/console/all-clients/data-map", response_class=HTMLResponse)
def all_clients_data_map(
    request: Request, staff: Annotated[Staff, Depends(staff_with("desk.read"))]
) -> Response:
    """The notices of every organization the person is a member of, side by side by data
    category (purposes, recipients, retention), with the differences marked."""
    from honorbound.policy.datamap import PRODUCT_WORDS

    with request.app.state.runtime.db.read_session() as session:
        found = datamap.compare(session, desk.organizations_of_user(session, staff.user_id))
    return render(
        request,
        "console/all_clients_map.html",
        staff=staff,
        section="all-clients",
        columns=[(c.organization, c.notice) for c in found.columns],
        rows=found.rows,
        differing=found.differing,
        product_words=PRODUCT_WORDS,
    )


@router.get("/console/all-clients/data-map.csv", response_model=None)
def all_clients_data_map_csv(
    request: Request, staff: Annotated[Staff, Depends(staff_with("desk.read"))]
) -> Response:
    """The same comparison as a CSV file (the notices' words as written, in English)."""
    with request.app.state.runtime.db.read_session() as session:
        found = datamap.compare(session, desk.organizations_of_user(session, staff.user_id))
    return Response(
        datamap.as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="clients-data-map.csv"'},
    )
