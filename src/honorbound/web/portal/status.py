""" "My requests": a request's status and timeline, and the other requests made with the same
email or phone. Reached only with proof of the email: a one-time code emailed for the
reference (honorbound.rights.codes), or the bookmarkable link shown once the request is
confirmed (the reference plus a keyed MAC). A reference alone shows nothing.

Also the pages of the emailed verification code (the alternative to the link): type the
reference and the code, then the details the request type needs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated, Protocol

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from honorbound import i18n
from honorbound.accounts.models import Organization
from honorbound.rights import codes, verification
from honorbound.rights.jobs import services
from honorbound.rights.messages import type_name
from honorbound.rights.models import RightsRequest, TokenPurpose
from honorbound.rights.tokens import TokenRejected
from honorbound.web import csrf
from honorbound.web.forms import shown_again_by_error
from honorbound.web.portal import language
from honorbound.web.portal.common import (
    client_key,
    code_refused,
    limiter,
    not_found,
    organization,
    plain_error,
    too_many,
)
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)
REFERENCE = re.compile(r"^R-[A-Z0-9]{4,20}$")
CODE_SENT = i18n.N_(
    "If this reference is one of ours, we emailed a one-time code to the address the request "
    "was made with. Type it below; it works once and expires in {minutes} minutes."
)


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


def _org(request: Request, slug: str) -> Organization | None:
    with request.app.state.runtime.db.session() as session:
        return organization(session, slug)


def _clean_reference(value: str) -> str | None:
    wanted = value.strip().upper()
    return wanted if REFERENCE.match(wanted) else None


def status_response(
    request: Request,
    org: Organization,
    slug: str,
    found: RightsRequest,
    just_verified: bool = False,
) -> Response:
    """The status page of one request, its consumer timeline and the person's other requests."""
    runtime = request.app.state.runtime
    lang = language.chosen(request)
    with runtime.db.session() as session:
        row = session.get(RightsRequest, found.id)
        assert row is not None
        timeline = [
            (at, i18n.gettext(lang, what)) for at, what in codes.consumer_timeline(session, row)
        ]
        others = [
            {
                "reference": other.reference,
                "type_name": type_name(other.type, lang),
                "status_name": i18n.gettext(lang, codes.CONSUMER_STATUS[other.status]),
                "due_at": other.due_at,
            }
            for other in codes.same_person(session, row)
            if other.id != row.id
        ]
        session.expunge(row)
    return render(
        request,
        "portal/request_status.html",
        org=org,
        slug=slug,
        request_row=row,
        type_name=type_name(row.type, lang),
        status_name=i18n.gettext(lang, codes.CONSUMER_STATUS[row.status]),
        timeline=timeline,
        others=others,
        just_verified=just_verified,
        status_link=f"/p/{slug}/requests/status/"
        + status_token(runtime.keys, org.id, row.reference),
    )


def _lookup_page(
    request: Request,
    org: Organization,
    slug: str,
    status: int = 200,
    form: dict[str, str] | None = None,
    **context: object,
) -> Response:
    return render(
        request,
        "portal/request_status.html",
        status=status,
        org=org,
        slug=slug,
        request_row=None,
        form=form or {},
        **context,
    )


def _guarded(request: Request, org: Organization) -> Response | None:
    by_ip = limiter(request, "ip")
    key = client_key(request, org.id)
    if not by_ip.hit(key):
        return too_many(request, by_ip.retry_after(key))
    return None


@router.get("/p/{slug}/requests/status", response_class=HTMLResponse)
def status_page(
    request: Request, slug: str, reference: Annotated[str, Query(max_length=24)] = ""
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    return _lookup_page(request, org, slug, form={"reference": reference.strip().upper()})


def _send(request: Request, org: Organization, reference: str, purpose: TokenPurpose) -> None:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        codes.send_code(
            session, services(runtime), org.id, reference, purpose, language.chosen(request)
        )


def _code_sent_notice(request: Request) -> str:
    lifetime = services(request.app.state.runtime).rules.settings.email_code_minutes
    return i18n.gettext(language.chosen(request), CODE_SENT).format(
        minutes=i18n.format_number(lifetime, language.chosen(request))
    )


@router.post("/p/{slug}/requests/status/code", response_class=HTMLResponse)
def send_status_code(
    request: Request,
    slug: str,
    reference: Annotated[str, Form(max_length=24)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    lang = language.chosen(request)
    typed = {"reference": reference}
    if (refused := _guarded(request, org)) is not None:
        return refused
    if not csrf.valid(request, csrf_token):
        return _lookup_page(request, org, slug, 403, typed, error=plain_error("csrf", "", lang))
    wanted = _clean_reference(reference)
    if wanted is None:
        return _lookup_page(
            request,
            org,
            slug,
            422,
            typed,
            error=plain_error("reference", "", lang),
            error_field="reference",
        )
    _send(request, org, wanted, TokenPurpose.STATUS)
    return _lookup_page(
        request,
        org,
        slug,
        form={"reference": wanted},
        code_sent=True,
        notice=_code_sent_notice(request),
    )


def _code_status(exc: TokenRejected) -> int:
    """A refused code: 429 once the code is locked, else the form's 422."""
    return 429 if exc.reason == "locked" else 422


@router.post("/p/{slug}/requests/status", response_class=HTMLResponse)
def open_status(
    request: Request,
    slug: str,
    reference: Annotated[str, Form(max_length=24)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    lang = language.chosen(request)
    typed = {"reference": reference, "code": code}
    if (refused := _guarded(request, org)) is not None:
        return refused
    if not csrf.valid(request, csrf_token):
        return _lookup_page(
            request, org, slug, 403, typed, code_sent=True, error=plain_error("csrf", "", lang)
        )
    wanted = _clean_reference(reference)
    if wanted is None:
        return _lookup_page(
            request,
            org,
            slug,
            422,
            typed,
            code_sent=True,
            error=plain_error("reference", "", lang),
            error_field="reference",
        )
    runtime = request.app.state.runtime
    shown_again_by_error(
        request,
        lambda exc, _: _lookup_page(
            request,
            org,
            slug,
            _code_status(exc),
            {"reference": wanted, "code": ""},
            code_sent=True,
            error=code_refused(exc.reason, lang),
            error_field="code",
        ),
        kinds=(TokenRejected,),
    )
    with runtime.db.session() as session:
        found = codes.open_status(session, services(runtime), org.id, wanted, code)
        session.expunge(found)
    return status_response(request, org, slug, found)


@router.get("/p/{slug}/requests/status/{token}", response_class=HTMLResponse)
def signed_status_page(request: Request, slug: str, token: str) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    runtime = request.app.state.runtime
    lang = language.chosen(request)
    reference = status_reference(runtime.keys, org.id, token) if len(token) <= 80 else None
    if reference is None:
        return render(
            request,
            "portal/link_problem.html",
            status=400,
            org=org,
            slug=slug,
            message=i18n.gettext(lang, "This status link is not valid (it may have been altered)."),
        )
    with runtime.db.session() as session:
        found = session.scalar(
            select(RightsRequest).where(
                RightsRequest.organization_id == org.id, RightsRequest.reference == reference
            )
        )
        if found is not None:
            session.expunge(found)
    if found is None:
        return render(
            request,
            "portal/link_problem.html",
            status=404,
            org=org,
            slug=slug,
            message=i18n.gettext(lang, "That request no longer exists."),
        )
    return status_response(request, org, slug, found)


# -- the emailed verification code: the alternative to the link ------------------------------
def _code_page(
    request: Request,
    org: Organization,
    slug: str,
    status: int = 200,
    form: dict[str, str] | None = None,
    **context: object,
) -> Response:
    return render(
        request,
        "portal/request_code.html",
        status=status,
        org=org,
        slug=slug,
        form=form or {},
        **context,
    )


@router.get("/p/{slug}/requests/code", response_class=HTMLResponse)
def code_page(
    request: Request, slug: str, reference: Annotated[str, Query(max_length=24)] = ""
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    return _code_page(request, org, slug, form={"reference": reference.strip().upper()})


@router.post("/p/{slug}/requests/code", response_class=HTMLResponse)
def enter_code(
    request: Request,
    slug: str,
    reference: Annotated[str, Form(max_length=24)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    from honorbound.web.portal.requests import verify_form

    org = _org(request, slug)
    if org is None:
        return not_found(request)
    lang = language.chosen(request)
    typed = {"reference": reference, "code": code}
    if (refused := _guarded(request, org)) is not None:
        return refused
    if not csrf.valid(request, csrf_token):
        return _code_page(request, org, slug, 403, typed, error=plain_error("csrf", "", lang))
    wanted = _clean_reference(reference)
    if wanted is None:
        return _code_page(
            request,
            org,
            slug,
            422,
            typed,
            error=plain_error("reference", "", lang),
            error_field="reference",
        )
    if not code.strip():
        return _code_page(
            request, org, slug, 422, typed, error=plain_error("code", "", lang), error_field="code"
        )
    runtime = request.app.state.runtime
    shown_again_by_error(
        request,
        lambda exc, _: _code_page(
            request,
            org,
            slug,
            _code_status(exc),
            {"reference": wanted, "code": ""},
            error=code_refused(exc.reason, lang),
            error_field="code",
        ),
        kinds=(TokenRejected,),
    )
    with runtime.db.session() as session:
        outcome = verification.preview_code(session, services(runtime), org.id, wanted, code)
    return verify_form(request, org, slug, outcome, code="".join(code.split()))


@router.post("/p/{slug}/requests/code/new", response_class=HTMLResponse)
def new_code(
    request: Request,
    slug: str,
    reference: Annotated[str, Form(max_length=24)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    org = _org(request, slug)
    if org is None:
        return not_found(request)
    lang = language.chosen(request)
    typed = {"reference": reference}
    if (refused := _guarded(request, org)) is not None:
        return refused
    if not csrf.valid(request, csrf_token):
        return _code_page(request, org, slug, 403, typed, error=plain_error("csrf", "", lang))
    wanted = _clean_reference(reference)
    if wanted is None:
        return _code_page(
            request,
            org,
            slug,
            422,
            typed,
            error=plain_error("reference", "", lang),
            error_field="reference",
        )
    _send(request, org, wanted, TokenPurpose.VERIFY)
    return _code_page(
        request, org, slug, form={"reference": wanted}, notice=_code_sent_notice(request)
    )
