"""The preference center: a person's contact choices per purpose and channel, through a signed
link (no account, no password).

Links use the consent package's signed format (`consent.links`) with the list id
`preferences`, so an unsubscribe link for a mailing list does not open it. Staff hand a link
out from the console's consent ledger page; campaign mail can carry one too. Only changes are
recorded: saving the page unchanged adds nothing to the ledger.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.api.deps import FormFields
from honorbound.audit import Actor
from honorbound.consent import ledger, links
from honorbound.consent.identity import IdentityRef, Keys
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent, Purpose, Source
from honorbound.i18n import N_
from honorbound.web import csrf
from honorbound.web.forms import shown_again
from honorbound.web.portal import language
from honorbound.web.portal.common import not_found, organization, plain_error
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)
LIST_ID = "preferences"
CONSUMER = Actor("consumer", "consumer")
PURPOSES = (Purpose.MARKETING.value, Purpose.RESEARCH.value)
CHANNELS = (
    ConsentChannel.EMAIL.value,
    ConsentChannel.SMS.value,
    ConsentChannel.VOICE.value,
    ConsentChannel.MAIL.value,
)
NOT_OURS = N_("This link is not a preference-center link of this organization.")
# What the page calls each purpose and channel (translated where shown).
LABELS = {
    "marketing": N_("Offers and news"),
    "research": N_("Surveys and research"),
    "email": N_("Email"),
    "sms": N_("Text messages"),
    "voice": N_("Phone calls"),
    "mail": N_("Post"),
}


def issue_link(keys: Keys, base_url: str, slug: str, organization_id: int, ref: IdentityRef) -> str:
    token = links.issue(keys, organization_id, ref, LIST_ID)
    return f"{base_url.rstrip('/')}/p/{slug}/preferences/{token}"


def _allowed(
    required: frozenset[tuple[str, str]], history: list[ConsentEvent], purpose: str, channel: str
) -> bool:
    """What the ledger says: where the contact rules need an opt-in (`consent_required` in
    consent/data/contact-rules.yaml, e.g. marketing texts), 'yes' only after one; elsewhere
    'yes' unless the person's latest covering choice is an opt-out."""
    latest = ledger.effective_action(history, purpose, channel, None)
    if (purpose, channel) in required or (purpose, "all") in required:
        return latest is not None and latest.action == Action.OPT_IN.value
    return latest is None or latest.action != Action.OPT_OUT.value


def _read(request: Request, slug: str, token: str) -> tuple[int, links.Unsubscribe] | Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        org = organization(session, slug)
        org_id = org.id if org else None
    if org_id is None:
        return not_found(request)
    shown_again(
        request,
        lambda status, error: render(
            request, "portal/link_problem.html", status=status, org=org, slug=slug, message=error
        ),
        kinds=(links.LinkError,),
    )
    link = links.read(runtime.keys, token, runtime.contact_rules.unsubscribe_link_valid_days)
    if link.organization_id != org_id or link.list_id != LIST_ID:
        return render(
            request,
            "portal/link_problem.html",
            status=400,
            org=org,
            slug=slug,
            message=i18n.gettext(language.chosen(request), NOT_OURS),
        )
    return org_id, link


def _page(
    request: Request,
    slug: str,
    token: str,
    org_id: int,
    link: links.Unsubscribe,
    saved: int | None = None,
    status: int = 200,
    error: str = "",
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        org = organization(session, slug)
        history = ledger.history(session, org_id, link.identity.index)
    required = runtime.contact_rules.consent_required
    grid = [
        (purpose, [(c, _allowed(required, history, purpose, c)) for c in CHANNELS])
        for purpose in PURPOSES
    ]
    return render(
        request,
        "portal/preferences.html",
        status=status,
        org=org,
        slug=slug,
        token=token,
        grid=grid,
        labels=LABELS,
        saved=saved,
        error=error,
    )


@router.get("/p/{slug}/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, slug: str, token: str) -> Response:
    found = _read(request, slug, token)
    if isinstance(found, Response):
        return found
    return _page(request, slug, token, *found)


@router.post("/p/{slug}/preferences/{token}", response_class=HTMLResponse)
def save_preferences(request: Request, slug: str, token: str, form: FormFields) -> Response:
    found = _read(request, slug, token)
    if isinstance(found, Response):
        return found
    org_id, link = found
    if not csrf.valid(request, form.get("csrf_token", "")):
        return _page(
            request,
            slug,
            token,
            org_id,
            link,
            status=403,
            error=plain_error("csrf", "", language.chosen(request)),
        )
    wanted = {key for key in form if ":" in key}
    unknown = wanted - {f"{p}:{c}" for p in PURPOSES for c in CHANNELS}
    if unknown:
        return _page(
            request,
            slug,
            token,
            org_id,
            link,
            status=422,
            error=f"{sorted(unknown)[0]}: not a choice on this page.",
        )
    runtime = request.app.state.runtime
    changed = 0
    with runtime.db.session() as session:
        history = ledger.history(session, org_id, link.identity.index)
        for purpose in PURPOSES:
            for channel in CHANNELS:
                now_allowed = f"{purpose}:{channel}" in wanted
                if now_allowed == _allowed(
                    runtime.contact_rules.consent_required, history, purpose, channel
                ):
                    continue
                ledger.record(
                    session,
                    org_id,
                    link.identity,
                    purpose,
                    channel,
                    (Action.OPT_IN if now_allowed else Action.OPT_OUT).value,
                    Source.EMAIL_LINK.value,
                    CONSUMER,
                    subject_id=link.subject_id,
                    evidence={"form_id": "portal.preferences"},
                )
                changed += 1
    return _page(request, slug, token, org_id, link, saved=changed)
