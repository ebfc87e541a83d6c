""" "Your privacy choices": opt out of sale and sharing, of targeted advertising, and limit the
use of sensitive data. Choices go to the consent ledger.

A browser sending Global Privacy Control (`Sec-GPC: 1`) is told the signal was received; when
such a browser submits the form, `consent.gpc` records the sale, sharing and
targeted-advertising opt-outs (source `gpc_signal`) whenever the person's state requires it or
the notice promises to honor the signal, whether or not their boxes were ticked.

The answer to a submission is the same whether or not the organization knows the person, and a
filled honeypot field gets that same answer with nothing recorded.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.audit import Actor
from honorbound.consent import gpc as gpc_rules
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.consent.models import Purpose, Source
from honorbound.policy import store as policy_store
from honorbound.ratelimit import identity_key
from honorbound.vault.identities import IdentityKind, InvalidIdentity
from honorbound.web import csrf
from honorbound.web.forms import shown_again
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

# Each box on the form and the ledger purposes it opts out of.
CHOICES: dict[str, tuple[str, ...]] = {
    "sale_sharing": (Purpose.SALE.value, Purpose.SHARING.value),
    "targeted_advertising": (Purpose.TARGETED_ADVERTISING.value,),
    "limit_sensitive": (Purpose.SENSITIVE_DATA_USE.value,),
}
FORM_ID = "portal.choices"
# A browser-only opt-out (no email or phone given): a random id in this cookie names the
# browser in the ledger (identity kind `cookie_id`, stored as a blind index like any identity).
OPT_OUT_COOKIE = "honorbound_optout"
OPT_OUT_COOKIE_DAYS = 400  # the longest lifetime browsers keep a cookie


def browser_id(request: Request) -> str | None:
    value = request.cookies.get(OPT_OUT_COOKIE, "")
    ok = 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()
    return value if ok else None


def gpc(request: Request) -> bool:
    return gpc_rules.signal_present(request.headers)


def states(request: Request) -> list[tuple[str, str]]:
    """The states with a consumer privacy law in the runtime's rules, as (code, name)."""
    return sorted(
        (code, rule.name) for code, rule in request.app.state.runtime.rules.states.items()
    )


def _form(request: Request, slug: str, status: int = 200, **context: object) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        org = organization(session, slug)
        if org is None:
            return not_found(request)
        policy = policy_store.current(session, org.id)
        promises = gpc_rules.declaration_promises(session, org.id)
        known_browser = browser_id(request)
        browser_opted_out = False
        if known_browser is not None:
            ref = identify(runtime.keys, org.id, known_browser, IdentityKind.COOKIE_ID)
            latest = ledger.effective_action(
                ledger.history(session, org.id, ref.index), Purpose.SALE.value, "all", None
            )
            browser_opted_out = latest is not None and latest.action == "opt_out"
    context.setdefault("form", {})
    context.setdefault("browser_opted_out", browser_opted_out)
    return render(
        request,
        "portal/choices.html",
        status=status,
        org=org,
        slug=slug,
        gpc=gpc(request),
        gpc_promised=promises,
        states=states(request),
        policy=policy,
        **context,
    )


def _unreadable_identity_shown(request: Request, slug: str, typed: dict[str, Any]) -> None:
    """An email or phone that cannot be read: the form again, the field marked, plain words."""
    shown_again(
        request,
        lambda status, _: _form(
            request,
            slug,
            status=status,
            form=typed,
            error_field="identity",
            error=plain_error("identity", "", language.chosen(request)),
        ),
        kinds=(InvalidIdentity,),
    )


@router.get("/p/{slug}/choices", response_class=HTMLResponse)
def choices_page(request: Request, slug: str) -> Response:
    return _form(request, slug)


@router.post("/p/{slug}/choices", response_class=HTMLResponse)
def submit_choices(
    request: Request,
    slug: str,
    identity: Annotated[str, Form(max_length=320)] = "",
    sale_sharing: Annotated[str, Form(max_length=10)] = "",
    targeted_advertising: Annotated[str, Form(max_length=10)] = "",
    limit_sensitive: Annotated[str, Form(max_length=10)] = "",
    state: Annotated[str, Form(max_length=2)] = "",
    website: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        org = organization(session, slug)
        if org is None:
            return not_found(request)
        org_id = org.id
    by_ip = limiter(request, "ip")
    ip_key = client_key(request, org_id)
    if not by_ip.hit(ip_key):
        return too_many(request, by_ip.retry_after(ip_key))
    if not csrf.valid(request, csrf_token):
        return _form(
            request,
            slug,
            status=403,
            error=plain_error("csrf", "", language.chosen(request)),
        )
    ticked = {
        name
        for name, value in (
            ("sale_sharing", sale_sharing),
            ("targeted_advertising", targeted_advertising),
            ("limit_sensitive", limit_sensitive),
        )
        if value
    }
    signal = gpc(request)
    # What was typed comes back with an error; errors say what to do in plain words.
    typed = {"identity": identity, "state": state, "ticked": sorted(ticked)}
    if not ticked and not signal:
        return _form(
            request,
            slug,
            status=422,
            form=typed,
            error_field="sale_sharing",
            error=i18n.gettext(language.chosen(request), "Tick at least one of the choices below."),
        )
    if state and state not in {code for code, _ in states(request)}:
        return _form(
            request,
            slug,
            status=422,
            form=typed,
            error_field="state",
            error=plain_error("jurisdiction", "", language.chosen(request)),
        )
    value = identity.strip()
    # No email or phone: the choices hold for this browser, by cookie (like GPC).
    cookie = (browser_id(request) or secrets.token_urlsafe(24)) if not value else None
    _unreadable_identity_shown(request, slug, typed)
    if cookie is not None:
        ref = identify(runtime.keys, org_id, cookie, IdentityKind.COOKIE_ID)
    else:
        ref = identify(runtime.keys, org_id, value)
    by_identity = limiter(request, "identity")
    person_key = identity_key(org_id, ref.index)
    if not by_identity.hit(person_key):
        return too_many(request, by_identity.retry_after(person_key))
    if website:
        # A person cannot see the honeypot field; a form filler does. Same answer, no write.
        return _form(request, slug, done=True, ticked=sorted(ticked), browser_only=bool(cookie))
    user_agent = request.headers.get("user-agent", "")
    host = request.client.host if request.client else ""
    with runtime.db.session() as session:
        policy = policy_store.current(session, org_id)
        evidence: dict[str, str] = {
            "form_id": FORM_ID,
            "ip_hash": ledger.hash_evidence(runtime.keys, org_id, host),
            "user_agent_hash": ledger.hash_evidence(runtime.keys, org_id, user_agent),
        }
        if policy is not None:
            evidence["policy_version"] = str(policy.number)
        actor = Actor("consumer", "consumer")
        for name in sorted(ticked):
            for purpose in CHOICES[name]:
                ledger.record(
                    session,
                    org_id,
                    ref,
                    purpose,
                    "all",
                    "opt_out",
                    Source.WEB_FORM.value,
                    actor,
                    evidence=evidence,
                )
        gpc_status: str | None = None
        if signal:
            honored = gpc_rules.honor_signal(
                session,
                org_id,
                ref,
                state=state or None,
                declaration_promises=gpc_rules.declaration_promises(session, org_id),
                laws=runtime.rules,
                contact=runtime.contact_rules,
                evidence={**evidence, "text_shown": "Sec-GPC: 1"},
            )
            gpc_status = (
                runtime.contact_rules.gpc_display(language.chosen(request))
                if honored.display
                else None
            )
    response = _form(
        request,
        slug,
        done=True,
        ticked=sorted(ticked),
        browser_only=bool(cookie),
        gpc_status=gpc_status,
    )
    if cookie is not None:
        response.set_cookie(
            OPT_OUT_COOKIE,
            cookie,
            max_age=OPT_OUT_COOKIE_DAYS * 86400,
            path=f"/p/{slug}",
            httponly=True,
            samesite="lax",
            secure=runtime.settings.secure_cookies,
        )
    return response
