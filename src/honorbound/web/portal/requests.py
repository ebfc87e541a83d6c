"""Rights requests in the portal: submit one, verify it with the emailed link, see its status,
download the access package, appeal a decision. Each page calls one `honorbound.rights`
function; tokens arrive in the query string of emailed links and are never logged (the request
log records route templates only).

The answer to a submission is the same sentence whether or not the organization knows the
email or phone given; everything else reaches the consumer by mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.accounts.models import Organization
from honorbound.consent.identity import identify
from honorbound.policy import store as policy_store
from honorbound.policy.render import category_title
from honorbound.policy.translations import Foreign, localize
from honorbound.ratelimit import identity_key
from honorbound.rights import execution, verification
from honorbound.rights.context import Services
from honorbound.rights.downloads import download
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import (
    Correction,
    NewRequest,
    new_reference,
    take_request,
    us_state_names,
)
from honorbound.rights.jobs import services
from honorbound.rights.messages import type_name
from honorbound.rights.models import Manner, RequestType
from honorbound.rights.timeline import CONSUMER
from honorbound.rights.tokens import TokenRejected
from honorbound.vault.identities import InvalidIdentity
from honorbound.web import csrf
from honorbound.web.forms import shown_again_by_error
from honorbound.web.portal import language
from honorbound.web.portal.common import (
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
NOT_ENOUGH = i18n.N_(
    "We could not confirm enough of these details. Check them and try again; "
    "after a few attempts the link or code locks."
)
ACCEPTED = i18n.N_(
    "Thank you. Whether or not the details match our records, we handle every request the "
    "same way: check your email (or phone) for the next step and the date to expect an answer."
)
MAX_CORRECTION = 5000
TOKEN_STATUS = {"invalid": 400, "expired": 410, "used": 410, "locked": 429}


def _svc(request: Request) -> Services:
    return services(request.app.state.runtime)


def _org(request: Request, slug: str) -> Organization | None:
    with request.app.state.runtime.db.session() as session:
        return organization(session, slug)


def _correctable(request: Request, organization_id: int) -> list[tuple[str, str, str | None]]:
    """The declared categories a person may ask to correct, by their plain names in the
    page's language: (key, name, the name's language when it is not the page's)."""
    with request.app.state.runtime.db.session() as session:
        adopted = policy_store.current(session, organization_id)
    if adopted is None:
        return []
    lang = language.chosen(request)
    out = []
    for cat in localize(adopted.declaration, lang).categories:
        title = category_title(cat, lang)
        out.append((cat.key, str(title), title.lang if isinstance(title, Foreign) else None))
    return out


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
        # The types whose row offers them on the portal (`taken_by: [portal, ...]`).
        types=[
            (t, type_name(t, language.chosen(request)))
            for t in _svc(request).rules.taken_by("portal")
        ],
        states=sorted(us_state_names().items(), key=lambda item: item[1]),
        correctable=_correctable(request, org.id),
        max_correction=MAX_CORRECTION,
        max_kb=request.app.state.runtime.settings.max_body_bytes // 1024,
        form=form or {},
        **context,
    )


def _t(request: Request, message: str) -> str:
    """`message` in the page's language."""
    return i18n.gettext(language.chosen(request), message)


def _accepted(request: Request, org: Organization, slug: str, reference: str) -> Response:
    """The answer to a submission: the same sentence for everyone, and the request's reference
    (a merged duplicate shows the reference of the request it joined)."""
    return render(
        request,
        "portal/request_accepted.html",
        org=org,
        slug=slug,
        message=_t(request, ACCEPTED),
        reference=reference,
    )


def _client(request: Request) -> str:
    """Who is trying a link: wrong links lock per (link, client), never for everyone."""
    return request.client.host if request.client else "unknown"


def _link_refused(request: Request, org: Organization, slug: str) -> None:
    """A link or code refused from here on answers the portal's link-problem page."""
    shown_again_by_error(
        request, lambda exc, _: _token_problem(request, org, slug, exc), kinds=(TokenRejected,)
    )


def _field(exc: RightsError) -> str:
    """The form field a refusal is about (`body.data_points.phone` -> `data_points.phone`)."""
    return exc.field.removeprefix("body.")


def _refusal_shown(
    request: Request, org: Organization, slug: str, typed: dict[str, Any], lang: str
) -> None:
    """A refused request: the form again, what was typed kept, the field marked, plain words."""
    shown_again_by_error(
        request,
        lambda exc, _: _form(
            request,
            org,
            slug,
            status=422,
            form=typed,
            error=plain_error(_field(exc), exc.message, lang),
            error_field=_field(exc),
        ),
        kinds=(RightsError,),
    )


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
    confirmed: Annotated[str, Form(max_length=10)] = "",
    back: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    lang = language.chosen(request)
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
            error=plain_error("csrf", "", lang),
        )
    if back:
        return _form(request, org, slug, form=typed)
    rules = _svc(request).rules
    try:
        request_type = RequestType(type)
        if "portal" not in rules.type_rule(request_type.value).taken_by:
            raise ValueError
    except ValueError:
        return _form(
            request,
            org,
            slug,
            status=422,
            form=typed,
            error=plain_error("type", "", lang),
            error_field="type",
        )
    executes = rules.type_rule(request_type.value).executes
    if executes == "delete" and confirmed != "yes" and not website:
        # Deleting cannot be undone: say so, and send it only after a second, explicit yes.
        return render(
            request,
            "portal/request_confirm_delete.html",
            org=org,
            slug=slug,
            form=typed,
            max_kb=request.app.state.runtime.settings.max_body_bytes // 1024,
        )
    corrections: tuple[Correction, ...] = ()
    if executes == "correct":
        known = {key for key, _title, _lang in _correctable(request, org.id)}
        if correct_category not in known or not correct_value.strip():
            return _form(
                request,
                org,
                slug,
                status=422,
                form=typed,
                error=plain_error("corrections", "", lang),
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
        language=lang,
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
        # A bot gets what a person gets: a reference (one that names no request).
        return _accepted(request, org, slug, new_reference())
    _refusal_shown(request, org, slug, typed, lang)
    with runtime.db.session() as session:
        taken = take_request(session, _svc(request), org.id, new, CONSUMER)
        reference = taken.request.reference
    return _accepted(request, org, slug, reference)


@router.get("/p/{slug}/requests/verify", response_class=HTMLResponse)
def verify_page(request: Request, slug: str, token: Token) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    runtime = request.app.state.runtime
    _link_refused(request, org, slug)
    with runtime.db.session() as session:
        outcome = verification.preview(session, _svc(request), org.id, token, _client(request))
    return verify_form(request, org, slug, outcome, token=token)


def verify_form(
    request: Request,
    org: Organization,
    slug: str,
    outcome: verification.Outcome,
    token: str = "",
    code: str = "",
    status: int = 200,
    error: str = "",
    form: dict[str, str] | None = None,
    error_field: str = "",
) -> Response:
    """The details form of a request being confirmed, by its link (`token`) or by its
    reference and emailed code (`code`, carried to the final step, spent there)."""
    return render(
        request,
        "portal/request_verify.html",
        status=status,
        org=org,
        slug=slug,
        token=token,
        code=code,
        reference=outcome.request.reference,
        type_name=type_name(outcome.request.type, language.chosen(request)),
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
    token: Annotated[str, Form(max_length=200)] = "",
    reference: Annotated[str, Form(max_length=24)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
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
    lang = language.chosen(request)
    # Typed values come back on an error page; the signature box is ticked again by hand.
    typed = {
        "phone": phone,
        "birth_date": birth_date,
        "account_id": account_id,
        "typed_name": typed_name,
    }
    by_code = not token
    if by_code and not (reference.strip() and code.strip()):
        return _token_problem(request, org, slug, TokenRejected("invalid"))
    runtime = request.app.state.runtime
    svc = _svc(request)
    _link_refused(request, org, slug)
    with runtime.db.session() as session:
        if by_code:
            preview = verification.preview_code(session, svc, org.id, reference, code)
        else:
            preview = verification.preview(session, svc, org.id, token, _client(request))

    def again(status: int, error: str, error_field: str = "") -> Response:
        return verify_form(
            request,
            org,
            slug,
            preview,
            token=token,
            code=code if by_code else "",
            status=status,
            form=typed,
            error=error,
            error_field=error_field,
        )

    if not csrf.valid(request, csrf_token):
        return again(403, plain_error("csrf", "", lang))
    born: dt.date | None = None
    if birth_date:
        try:
            born = dt.date.fromisoformat(birth_date)
        except ValueError:
            return again(422, plain_error("birth_date", "", lang), "birth_date")
    points = verification.DataPoints(
        phone=phone.strip() or None, account_id=account_id.strip() or None, birth_date=born
    )
    signed = (
        verification.SignedDeclaration(typed_name, bool(agreed))
        if typed_name.strip() or agreed
        else None
    )

    def refused(exc: RightsError, _: str) -> Response:
        field = _field(exc).removeprefix("data_points.").removeprefix("declaration.")
        return again(422, plain_error(field, exc.message, lang), field)

    shown_again_by_error(request, refused, kinds=(RightsError,))
    with runtime.db.session() as session:
        if by_code:
            outcome = verification.verify(
                session, svc, org.id, points, signed, reference=reference, code=code
            )
        else:
            outcome = verification.verify(
                session, svc, org.id, points, signed, token=token, client=_client(request)
            )
    if not outcome.verified:
        preview = outcome
        return again(
            422,
            i18n.gettext(lang, NOT_ENOUGH),
        )
    from honorbound.web.portal.status import status_response

    return status_response(request, org, slug, outcome.request, just_verified=True)


@router.get("/p/{slug}/requests/download")
def download_package(request: Request, slug: str, token: Token) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    _link_refused(request, org, slug)
    with request.app.state.runtime.db.session() as session:
        row, package = download(session, _svc(request), org.id, token, _client(request))
        reference = row.reference
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
            error=plain_error("csrf", "", language.chosen(request)),
        )
    if not reason.strip():
        return render(
            request,
            "portal/request_appeal.html",
            status=422,
            org=org,
            slug=slug,
            token=token,
            error=plain_error("reason", "", language.chosen(request)),
        )
    _link_refused(request, org, slug)
    shown_again_by_error(
        request,
        lambda exc, _: render(
            request,
            "portal/request_appeal.html",
            status=422,
            org=org,
            slug=slug,
            token=token,
            reason=reason,
            error=plain_error(exc.field, exc.message, language.chosen(request)),
        ),
        kinds=(RightsError,),
    )
    with request.app.state.runtime.db.session() as session:
        filed = execution.file_appeal(
            session, _svc(request), org.id, token, reason, client=_client(request)
        )
        reference = filed.reference
    return render(
        request,
        "portal/request_accepted.html",
        org=org,
        slug=slug,
        message=_t(
            request,
            "We received your appeal (reference {reference}); we sent you a confirmation by email.",
        ).format(reference=reference),
    )
