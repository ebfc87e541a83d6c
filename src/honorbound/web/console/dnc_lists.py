"""Do-not-call across clients (console, "All my clients"): the company-specific lists of every
organization the person is a member of (a client's own, and the BPO's, which binds every
client), paged; a request taken on a client's call, for that client or for the call center;
a request taken off a list; and, for BPO staff, the hint "this number opted out at another
client". Thin: each form calls one function of consent.dnc or bpo.desk.

Role checks are the API's, in the organization concerned: recording needs `consent.write` in
the organization whose call it was, removing needs `dnc.replace` in the organization whose
list it is. The number is posted, never put in a URL, and never shown back: the lists hold
only its keyed blind index."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.roles import Role, allowed
from honorbound.bpo import desk
from honorbound.consent import dnc
from honorbound.consent.models import CompanyDnc, Source
from honorbound.i18n import N_
from honorbound.vault.identities import InvalidIdentity
from honorbound.web.forms import shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
PAGE = "/console/all-clients/dnc"
MAX_ID = 2_147_483_647
SOURCES = [s.value for s in (Source.AGENT_VERBAL, Source.PHONE_CALL, Source.EMAIL, Source.LETTER)]


def _mine(session: Any, staff: Staff) -> tuple[list[desk.DeskOrganization], bool]:
    """The person's organizations, and whether they are BPO staff (a member of an
    organization that operates clients): only they see the hint across clients."""
    mine = desk.organizations_of_user(session, staff.user_id)
    operates = session.scalar(
        select(Organization.id)
        .where(Organization.operated_by_id.in_([o.id for o in mine]))
        .limit(1)
    )
    return mine, operates is not None


def _page(
    request: Request, staff: Staff, status: int = 200, before: int | None = None, **context: Any
) -> Response:
    with request.app.state.runtime.db.read_session() as session:
        mine, bpo_staff = _mine(session, staff)
        page = dnc.company_requests(session, [o.id for o in mine], before)
        operators = set(
            session.scalars(
                select(Organization.operated_by_id).where(Organization.id.in_([m.id for m in mine]))
            )
        )
    by_id = {o.id: o for o in mine}
    rows = [
        {
            "row": r,
            "organization": by_id[r.organization_id],
            "bpo_wide": r.organization_id in operators,  # a BPO's list binds its clients
            "removable": _may(by_id[r.organization_id], "dnc.replace"),
        }
        for r in page.rows
    ]
    return render(
        request,
        "console/all_clients_dnc.html",
        status=status,
        staff=staff,
        section="all-clients",
        callers=[o for o in mine if _may(o, "consent.write") and o.state == "active"],
        rows=rows,
        next_before=page.next_before,
        first=before is None,
        bpo_staff=bpo_staff,
        sources=SOURCES,
        reasons=[r.value for r in dnc.RemovalReason],
        **context,
    )


def _may(org: desk.DeskOrganization, permission: str) -> bool:
    return org.role is not None and allowed(Role(org.role), permission)


@router.get(PAGE, response_class=HTMLResponse)
def dnc_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("desk.read"))]
) -> Response:
    raw = request.query_params.get("before", "")[:12]
    before = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_ID else None
    if raw and before is None:
        return _page(request, staff, 422, error=N_("before: use the link under the list"))
    return _page(request, staff, before=before)


def _chosen(session: Any, staff: Staff, slug: str, permission: str) -> desk.DeskOrganization:
    """The person's organization of that slug, when their role there has `permission`."""
    mine = {o.slug: o for o in desk.organizations_of_user(session, staff.user_id)}
    org = mine.get(slug)
    if org is None or org.state != "active" or not _may(org, permission):
        raise dnc.DncListError(
            "organization", N_("choose one of your organizations where you may do this")
        )
    return org


@router.post(PAGE, response_class=HTMLResponse)
def take(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("desk.read"))],
    organization: Annotated[str, Form(max_length=64)] = "",
    identity: Annotated[str, Form(max_length=254)] = "",
    binds: Annotated[str, Form(max_length=16)] = "",
    source: Annotated[str, Form(max_length=32)] = Source.AGENT_VERBAL.value,
) -> Response:
    """A request taken on a call made for `organization`: its own list (seller) or the call
    center's (telemarketer). The answer names the other organizations already holding it."""
    runtime = request.app.state.runtime
    form = {"organization": organization, "binds": binds, "source": source}
    shown_again(
        request, lambda status, error: _page(request, staff, status, error=error, form=form)
    )
    if not identity.strip():
        raise InvalidIdentity(N_("enter the phone number or email the person gave"))
    chosen = dnc.Binds(binds) if binds in set(dnc.Binds) else None
    if binds and chosen is None:
        raise dnc.DncListError("binds", N_("choose whom the request binds"))
    with runtime.db.session() as session:
        org = _chosen(session, staff, organization, "consent.write")
        row, used = dnc.take_request(
            session, runtime.keys, org.id, identity.strip(), None, runtime.contact_rules,
            staff.actor, chosen, source,
        )  # fmt: skip
        mine, bpo_staff = _mine(session, staff)
        listed = row.organization_id
        others = (
            desk.dnc_hints(
                session, runtime.keys, [o for o in mine if o.id != listed], identity.strip()
            )
            if bpo_staff
            else []
        )
    return _page(
        request,
        staff,
        201,
        taken={"organization": org, "binds": used.value, "id": row.id},
        others=others,
    )


@router.post(PAGE + "/check", response_class=HTMLResponse)
def check(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("desk.read"))],
    identity: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """The hint for BPO staff: which of their organizations hold this number on their own
    list. Read only: nothing is written to any organization."""
    shown_again(request, lambda status, error: _page(request, staff, status, check_error=error))
    if not identity.strip():
        raise InvalidIdentity(N_("enter the phone number or email the person gave"))
    runtime = request.app.state.runtime
    with runtime.db.read_session() as session:
        mine, bpo_staff = _mine(session, staff)
        if not bpo_staff:
            return _page(
                request,
                staff,
                403,
                check_error=N_("Only the call center's staff see where else a number opted out."),
            )
        found = desk.dnc_hints(session, runtime.keys, mine, identity.strip())
    return _page(request, staff, checked=found)


@router.post(PAGE + "/{dnc_id}/remove", response_class=HTMLResponse)
def remove(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("desk.read"))],
    dnc_id: int,
    reason: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Take a request off a list: needs `dnc.replace` in the organization whose list it is;
    a request of an organization the person is not a member of is not found."""
    if not 1 <= dnc_id <= MAX_ID:
        return render(request, "console/not_found.html", 404, staff=staff, what="request")
    runtime = request.app.state.runtime
    shown_again(request, lambda status, error: _page(request, staff, status, error=error))
    with runtime.db.session() as session:
        row = session.get(CompanyDnc, dnc_id)
        mine = {o.id: o for o in desk.organizations_of_user(session, staff.user_id)}
        org = mine.get(row.organization_id) if row is not None else None
        if org is None:
            return render(request, "console/not_found.html", 404, staff=staff, what="request")
        if not _may(org, "dnc.replace"):
            return render(
                request, "console/forbidden.html", 403, staff=staff, permission="dnc.replace"
            )
        dnc.remove_company_request(session, org.id, dnc_id, reason, staff.actor)
    return RedirectResponse(PAGE + "?removed=1", status_code=303)
