"""Rights requests in the portal: submit one, verify it with the emailed link, see its status,
download the access package, appeal a decision. Each page calls one `honorbound.rights`
function; tokens arrive in the query string of emailed links and are never logged (the request
log records route templates only).

The answer to a submission is the same sentence whether or not the organization knows the
email or phone given; everything else reaches the consumer by mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Annotated, Protocol

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.consent.identity import identify
from honorbound.policy import store as policy_store
from honorbound.policy.render import category_title
from honorbound.ratelimit import identity_key
from honorbound.rights import execution, verification
from honorbound.rights.context import Services
from honorbound.rights.downloads import download
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import US_STATE_NAMES, Correction, NewRequest, take_request
from honorbound.rights.jobs import services
from honorbound.rights.messages import TYPE_NAMES
from honorbound.rights.models import Manner, RequestType, RightsRequest
from honorbound.rights.tokens import TokenRejected
from honorbound.vault.identities import InvalidIdentity
from honorbound.web import csrf
from honorbound.web.portal.common import (
    PLAIN_ERRORS,
    client_key,
    limiter,
    not_found,
    organization,
    plain_error,
    too_many,
)
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Query(min_length=3, max_length=200)]
ACCEPTED = (
    "Thank you. Whether or not the details match our records, we handle every request the "
    "same way: check your email (or phone) for the next step and the date to expect an answer."
)
PUBLIC_TYPES = [t for t in RequestType if t is not RequestType.APPEAL]
MAX_CORRECTION = 5000
TOKEN_STATUS = {"invalid": 400, "expired": 410, "used": 410, "locked": 429}


class Keys(Protocol):
    def derived(self, label: str) -> bytes: ...


def status_token(keys: Keys, organization_id: int, reference: str) -> str:
    """A bookmarkable link to a request's status: the reference and a keyed MAC of it."""
    key = keys.derived(f"org:{organization_id}:web-request-status")
    mac = hmac.new(key, reference.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{reference}.{mac}"


def status_reference(keys: Keys, organization_id: int, token: str) -> str | None:
    reference, _, _mac = token.partition(".")
    expected = status_token(keys, organization_id, reference)
    return reference if hmac.compare_digest(expected, token) else None


def _svc(request: Request) -> Services:
    return services(request.app.state.runtime)


def _org(request: Request, slug: str) -> Organization | None:
    with request.app.state.runtime.db.session() as session:
        return organization(session, slug)


def _correctable(request: Request, organization_id: int) -> list[tuple[str, str]]:
    """The declared categories a person may ask to correct, by their plain names."""
    with request.app.state.runtime.db.session() as session:
        adopted = policy_store.current(session, organization_id)
    if adopted is None:
        return []
    return [(cat.key, category_title(cat)) for cat in adopted.declaration.categories]


def _form(
    request: Request,
    org: Organization,
    slug: str,
    status: int = 200,
    form: dict[str, str] | None = None,
    **context: object,
) -> Response:
    return render(
        request,
        "portal/request_new.html",
        status=status,
        org=org,
        slug=slug,
        types=[(t.value, TYPE_NAMES[t.value]) for t in PUBLIC_TYPES],
        states=sorted(US_STATE_NAMES.items(), key=lambda item: item[1]),
        correctable=_correctable(request, org.id),
        max_correction=MAX_CORRECTION,
        max_kb=request.app.state.runtime.settings.max_body_bytes // 1024,
        form=form or {},
        **context,
    )


def _client(request: Request) -> str:
    """Who is trying a link: wrong links lock per (link, client), never for everyone."""
    return request.client.host if request.client else "unknown"


def _token_problem(request: Request, org: Organization, slug: str, exc: TokenRejected) -> Response:
    return render(
        request,
        "portal/link_problem.html",
        status=TOKEN_STATUS[exc.reason],
        org=org,
        slug=slug,
        message=str(exc),
    )


@router.get("/p/{slug}/requests/new", response_class=HTMLResponse)
def new_request_page(request: Request, slug: str) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    return _form(request, org, slug)


@router.post("/p/{slug}/requests", response_class=HTMLResponse)
def submit_request(
    request: Request,
    slug: str,
    type: Annotated[str, Form(max_length=40)] = "",
    jurisdiction: Annotated[str, Form(max_length=2)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    agent: Annotated[str, Form(max_length=10)] = "",
    agent_name: Annotated[str, Form(max_length=200)] = "",
    correct_category: Annotated[str, Form(max_length=200)] = "",
    correct_value: Annotated[str, Form(max_length=MAX_CORRECTION)] = "",
    permission: Annotated[UploadFile | None, File()] = None,
    website: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    typed = {
        "type": type,
        "jurisdiction": jurisdiction,
        "email": email,
        "phone": phone,
        "agent": agent,
        "agent_name": agent_name,
        "correct_category": correct_category,
        "correct_value": correct_value,
    }
    by_ip = limiter(request, "ip")
    ip_key = client_key(request, org.id)
    if not by_ip.hit(ip_key):
        return too_many(request, by_ip.retry_after(ip_key))
    if not csrf.valid(request, csrf_token):
        return _form(
            request,
            org,
            slug,
            status=403,
            form=typed,
            error="This form expired or was not sent by this site. Please submit it again.",
        )
    try:
        request_type = RequestType(type)
        if request_type is RequestType.APPEAL:
            raise ValueError
    except ValueError:
        return _form(
            request,
            org,
            slug,
            status=422,
            form=typed,
            error=PLAIN_ERRORS["type"],
            error_field="type",
        )
    corrections: tuple[Correction, ...] = ()
    if request_type is RequestType.CORRECT:
        known = {key for key, _title in _correctable(request, org.id)}
        if correct_category not in known or not correct_value.strip():
            return _form(
                request,
                org,
                slug,
                status=422,
                form=typed,
                error=PLAIN_ERRORS["corrections"],
                error_field="correct_value" if correct_category in known else "correct_category",
            )
        corrections = (Correction(correct_category, correct_value.strip()),)
    document: bytes | None = None
    if agent and permission is not None and permission.filename:
        # The body limit (Settings.max_body_bytes) already bounds the file's size.
        document = permission.file.read() or None  # a spooled file: this runs in a thread
    new = NewRequest(
        type=request_type,
        jurisdiction=jurisdiction,
        manner=Manner.AUTHORIZED_AGENT if agent else Manner.PORTAL,
        email=email.strip() or None,
        phone=phone.strip() or None,
        agent_name=(agent_name.strip() or None) if agent else None,
        agent_permission=document,
        corrections=corrections,
    )
    runtime = request.app.state.runtime
    contact = new.email or new.phone
    if contact:
        try:
            ref = identify(runtime.keys, org.id, contact)
        except InvalidIdentity:
            ref = None  # take_request names the field
        if ref is not None:
            by_identity = limiter(request, "identity")
            person_key = identity_key(org.id, ref.index)
            if not by_identity.hit(person_key):
                return too_many(request, by_identity.retry_after(person_key))
    if website:
        return render(request, "portal/request_accepted.html", org=org, slug=slug, message=ACCEPTED)
    try:
        with runtime.db.session() as session:
            take_request(session, _svc(request), org.id, new, verification.CONSUMER)
    except RightsError as exc:
        field = exc.field.removeprefix("body.")
        return _form(
            request,
            org,
            slug,
            status=422,
            form=typed,
            error=plain_error(field, exc.message),
            error_field=field,
        )
    return render(request, "portal/request_accepted.html", org=org, slug=slug, message=ACCEPTED)


@router.get("/p/{slug}/requests/verify", response_class=HTMLResponse)
def verify_page(request: Request, slug: str, token: Token) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    runtime = request.app.state.runtime
    try:
        with runtime.db.session() as session:
            outcome = verification.preview(session, _svc(request), org.id, token, _client(request))
    except TokenRejected as exc:
        return _token_problem(request, org, slug, exc)
    return _verify_form(request, org, slug, token, outcome)


def _verify_form(
    request: Request,
    org: Organization,
    slug: str,
    token: str,
    outcome: verification.Outcome,
    status: int = 200,
    error: str = "",
    form: dict[str, str] | None = None,
    error_field: str = "",
) -> Response:
    return render(
        request,
        "portal/request_verify.html",
        status=status,
        org=org,
        slug=slug,
        token=token,
        reference=outcome.request.reference,
        type_name=TYPE_NAMES.get(outcome.request.type, outcome.request.type),
        due_at=outcome.request.due_at,
        needed=outcome.requirement.data_points,
        declaration=outcome.requirement.declaration,
        verified=outcome.verified,
        matched=outcome.matched,
        error=error,
        error_field=error_field,
        form=form or {},
    )


@router.post("/p/{slug}/requests/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    slug: str,
    token: Annotated[str, Form(min_length=3, max_length=200)],
    phone: Annotated[str, Form(max_length=40)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    account_id: Annotated[str, Form(max_length=200)] = "",
    typed_name: Annotated[str, Form(max_length=200)] = "",
    agreed: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    # Typed values come back on an error page; the signature box is ticked again by hand.
    typed = {
        "phone": phone,
        "birth_date": birth_date,
        "account_id": account_id,
        "typed_name": typed_name,
    }
    runtime = request.app.state.runtime
    svc = _svc(request)
    try:
        with runtime.db.session() as session:
            preview = verification.preview(session, svc, org.id, token, _client(request))
    except TokenRejected as exc:
        return _token_problem(request, org, slug, exc)
    if not csrf.valid(request, csrf_token):
        return _verify_form(
            request,
            org,
            slug,
            token,
            preview,
            status=403,
            form=typed,
            error="This form expired or was not sent by this site. Please try again.",
        )
    born: dt.date | None = None
    if birth_date:
        try:
            born = dt.date.fromisoformat(birth_date)
        except ValueError:
            return _verify_form(
                request,
                org,
                slug,
                token,
                preview,
                status=422,
                form=typed,
                error=PLAIN_ERRORS["birth_date"],
                error_field="birth_date",
            )
    points = verification.DataPoints(
        phone=phone.strip() or None, account_id=account_id.strip() or None, birth_date=born
    )
    signed = (
        verification.SignedDeclaration(typed_name, bool(agreed))
        if typed_name.strip() or agreed
        else None
    )
    try:
        with runtime.db.session() as session:
            outcome = verification.verify(
                session, svc, org.id, points, signed, token=token, client=_client(request)
            )
    except TokenRejected as exc:
        return _token_problem(request, org, slug, exc)
    except RightsError as exc:
        field = exc.field.removeprefix("body.").removeprefix("data_points.")
        field = field.removeprefix("declaration.")
        return _verify_form(
            request,
            org,
            slug,
            token,
            preview,
            status=422,
            form=typed,
            error=plain_error(field, exc.message),
            error_field=field,
        )
    if not outcome.verified:
        return _verify_form(
            request,
            org,
            slug,
            token,
            outcome,
            status=422,
            form=typed,
            error="We could not confirm enough of these details. Check them and try again; "
            "after a few attempts the link locks.",
        )
    return render(
        request,
        "portal/request_status.html",
        org=org,
        slug=slug,
        request_row=outcome.request,
        type_name=TYPE_NAMES.get(outcome.request.type, outcome.request.type),
        just_verified=True,
        status_link=f"/p/{slug}/requests/status/"
        + status_token(runtime.keys, org.id, outcome.request.reference),
    )


@router.get("/p/{slug}/requests/status", response_class=HTMLResponse)
def status_page(
    request: Request,
    slug: str,
    reference: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    found: RightsRequest | None = None
    if reference.strip():
        by_ip = limiter(request, "ip")
        ip_key = client_key(request, org.id)
        if not by_ip.hit(ip_key):
            return too_many(request, by_ip.retry_after(ip_key))
        with request.app.state.runtime.db.session() as session:
            found = session.scalar(
                select(RightsRequest).where(
                    RightsRequest.organization_id == org.id,
                    RightsRequest.reference == reference.strip().upper(),
                )
            )
    return render(
        request,
        "portal/request_status.html",
        status=404 if reference.strip() and found is None else 200,
        org=org,
        slug=slug,
        request_row=found,
        searched=bool(reference.strip()),
        type_name=TYPE_NAMES.get(found.type, found.type) if found else "",
    )


@router.get("/p/{slug}/requests/status/{token}", response_class=HTMLResponse)
def signed_status_page(request: Request, slug: str, token: str) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    runtime = request.app.state.runtime
    reference = status_reference(runtime.keys, org.id, token) if len(token) <= 80 else None
    if reference is None:
        return render(
            request,
            "portal/link_problem.html",
            status=400,
            org=org,
            slug=slug,
            message="This status link is not valid (it may have been altered).",
        )
    with runtime.db.session() as session:
        found = session.scalar(
            select(RightsRequest).where(
                RightsRequest.organization_id == org.id, RightsRequest.reference == reference
            )
        )
    if found is None:
        return render(
            request,
            "portal/link_problem.html",
            status=404,
            org=org,
            slug=slug,
            message="That request no longer exists.",
        )
    return render(
        request,
        "portal/request_status.html",
        org=org,
        slug=slug,
        request_row=found,
        type_name=TYPE_NAMES.get(found.type, found.type),
    )


@router.get("/p/{slug}/requests/download")
def download_package(request: Request, slug: str, token: Token) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    try:
        with request.app.state.runtime.db.session() as session:
            row, package = download(session, _svc(request), org.id, token, _client(request))
            reference = row.reference
    except TokenRejected as exc:
        return _token_problem(request, org, slug, exc)
    return Response(
        package.content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{reference}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/p/{slug}/requests/appeal", response_class=HTMLResponse)
def appeal_page(request: Request, slug: str, token: Token) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    return render(request, "portal/request_appeal.html", org=org, slug=slug, token=token)


@router.post("/p/{slug}/requests/appeal", response_class=HTMLResponse)
def appeal(
    request: Request,
    slug: str,
    token: Annotated[str, Form(min_length=3, max_length=200)],
    reason: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    if not csrf.valid(request, csrf_token):
        return render(
            request,
            "portal/request_appeal.html",
            status=403,
            org=org,
            slug=slug,
            token=token,
            error="This form expired or was not sent by this site.",
        )
    if not reason.strip():
        return render(
            request,
            "portal/request_appeal.html",
            status=422,
            org=org,
            slug=slug,
            token=token,
            error=PLAIN_ERRORS["reason"],
        )
    try:
        with request.app.state.runtime.db.session() as session:
            filed = execution.file_appeal(
                session, _svc(request), org.id, token, reason, client=_client(request)
            )
            reference = filed.reference
    except TokenRejected as exc:
        return _token_problem(request, org, slug, exc)
    except RightsError as exc:
        return render(
            request,
            "portal/request_appeal.html",
            status=422,
            org=org,
            slug=slug,
            token=token,
            reason=reason,
            error=plain_error(exc.field, exc.message),
        )
    return render(
        request,
        "portal/request_accepted.html",
        org=org,
        slug=slug,
        message=f"We received your appeal (reference {reference}); we sent you a "
        "confirmation by email.",
    )
