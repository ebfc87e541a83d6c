"""Public consent endpoints: the SMS gateway webhook, one-click unsubscribe pages, receipts and
the browser GPC ping. No API key: each is authenticated by what it carries (a gateway
signature, a signed link, an unguessable receipt id)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.models import Organization
from honorbound.api.deps import FormFields, PublicRead, ReadSessionDep, RuntimeDep, SessionDep
from honorbound.api.gpc import GpcDep
from honorbound.api.problems import Problem
from honorbound.consent import links, service, sms
from honorbound.consent import unsubscribe as unsubscribe_
from honorbound.consent.identity import identify
from honorbound.consent.models import Source
from honorbound.vault.identities import IdentityKind
from honorbound.web.forms import shown_again
from honorbound.web.rendering import SECURITY_HEADERS

router = APIRouter(tags=["consent (public)"])
pages = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(FilePath(__file__).parents[2] / "web" / "templates"))
# The shared base template marks its words for translation; these pages are in English.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _organization(session: Any, slug: str) -> Any:
    org = service.organization_by_slug(session, slug)
    if org is None:
        raise Problem(404, "Not found", "No organization with that name.")
    return org


def signature_check(runtime: Any, organization_id: int) -> sms.SignatureCheck:
    """The check for this organization's gateway. Replace (e.g. in a plugin) for gateways that
    sign differently; the default is HMAC-SHA1 over URL + sorted parameters."""
    return sms.HmacUrlParams(sms.webhook_secret(runtime.keys, organization_id))


@router.post("/v1/public/sms/{org_slug}")
def sms_webhook(
    org_slug: Annotated[str, Path(max_length=64)],
    request: Request,
    params: FormFields,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Inbound SMS (form-encoded `From`, `To`, `Body`, `MessageSid`). Answers `kind` and
    whether the message id was already seen."""
    org = _organization(session, org_slug)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not signature_check(runtime, org.id).valid(str(request.url), params, headers):
        raise Problem(403, "Bad signature", "The request signature does not match.")
    message = sms.Inbound.from_form(params)
    outcome = sms.handle(
        session,
        runtime.keys,
        runtime.jobs,
        org.id,
        message,
        runtime.contact_rules,
        sms.Program(
            org.name,
            runtime.settings.mail_from,
            runtime.contact_rules.sms.default_frequency,
        ),
        detector=sms.detect_revocation,
    )
    return {"kind": outcome.kind, "duplicate": outcome.duplicate}


@router.get("/v1/public/consent/receipts/{receipt_id}", dependencies=[PublicRead])
def get_receipt(
    receipt_id: Annotated[str, Path(pattern=UUID_PATTERN)],
    session: ReadSessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """A consent receipt by its id (the id is the secret the person keeps)."""
    event = service.event_by_receipt(session, receipt_id)
    if event is None:
        raise Problem(404, "Not found", "No receipt with that id.")
    claims, token = service.receipt_for(
        session, runtime.keys, event, runtime.settings.base_url, runtime.settings.mail_from
    )
    return {"receipt": token, "claims": claims, "jwks_url": "/.well-known/jwks.json"}


class GpcPing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cookie_id: str = Field(min_length=8, max_length=200, pattern=r"^[\x21-\x7e]+$")
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


@router.post("/v1/public/consent/{org_slug}/gpc", dependencies=[PublicRead])
def gpc_ping(
    org_slug: Annotated[str, Path(max_length=64)],
    body: GpcPing,
    signal: GpcDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """A site's script reports the browser's cookie id; with `Sec-GPC: 1` the opt-outs are
    recorded for that cookie id."""
    org = _organization(session, org_slug)
    ref = identify(runtime.keys, org.id, body.cookie_id, IdentityKind.COOKIE_ID)
    outcome = signal.honor(session, org.id, ref, state=body.state)
    # `status` is the text the site shows (11 CCR 7025(c)(6)), also when already in force.
    return {
        "gpc": signal.present,
        "recorded": [e.purpose for e in outcome.recorded],
        "honored": outcome.honored,
        "status": outcome.display,
    }


# -- email one-click unsubscribe (outside /v1: mail clients and people open these) ----------


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("public", True)
    context.setdefault("user", None)
    context.setdefault("csrf_token", "")
    response = templates.TemplateResponse(
        request, "consent/unsubscribe.html", context, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _shown_again(request: Request) -> None:
    shown_again(
        request,
        lambda status, error: _page(request, status, error=error, organization=""),
        kinds=(links.LinkError,),
    )


def _read(runtime: Any, token: str) -> links.Unsubscribe:
    return links.read(runtime.keys, token, runtime.contact_rules.unsubscribe_link_valid_days)


@pages.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    token: str, request: Request, session: SessionDep, runtime: RuntimeDep, signal: GpcDep
) -> Response:
    _shown_again(request)
    link = _read(runtime, token)  # a LinkError answers the page with its sentence (400)
    org = session.get(Organization, link.organization_id)
    gpc_status = signal.honor(
        session, link.organization_id, link.identity, subject_id=link.subject_id
    ).display
    return _page(
        request,
        organization=org.name if org else "",
        list_id=link.list_id,
        token=token,
        gpc_status=gpc_status,
    )


@pages.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(
    token: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    signal: GpcDep,
    one_click: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    confirm: Annotated[str | None, Form()] = None,
) -> Response:
    """RFC 8058: `List-Unsubscribe=One-Click` acts at once. The confirm page's button too."""
    _shown_again(request)
    link = _read(runtime, token)  # a LinkError answers the page with its sentence (400)
    if one_click != "One-Click" and confirm != "1":
        return _page(
            request, 400, error="Use the button on the page to unsubscribe.", organization=""
        )
    source = Source.EMAIL_ONE_CLICK if one_click == "One-Click" else Source.EMAIL_LINK
    event, every_list = unsubscribe_.unsubscribe(session, link, source.value, sms.CONSUMER)
    gpc_status = signal.honor(
        session, link.organization_id, link.identity, subject_id=link.subject_id
    ).display
    org = session.get(Organization, link.organization_id)
    return _page(
        request,
        organization=org.name if org else "",
        list_id=link.list_id,
        done=True,
        every_list=every_list,
        receipt_id=event.receipt_id,
        gpc_status=gpc_status,
    )
