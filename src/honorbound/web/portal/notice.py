"""The organization's privacy notice, rendered from its adopted declaration, with history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.disclosures import subprocessors
from honorbound.policy import store as policy_store
from honorbound.policy.datamap import Row, matrix
from honorbound.policy.render import category_rows, jurisdiction_names, word, wording
from honorbound.policy.schema import Declaration, Recipient, RecipientType
from honorbound.policy.translations import localize
from honorbound.web.portal import language
from honorbound.web.portal.common import not_found, organization
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)
MAX_VERSION = 2_147_483_647


@dataclass(frozen=True)
class PlainRow:
    """One row of the notice's table in plain words (the codes stay in the JSON notice)."""

    row: Row
    title: str
    retention: list[str]
    sources: str
    recipients: list[tuple[str, str]]  # (the recipient's name, what kind it is)


@dataclass(frozen=True)
class PlainOffer:
    where: str
    rights: list[str]
    methods: list[str]


def _recipient_kind(recipient: Recipient, lang: str) -> str:
    """What follows a recipient's name, such as " (processors, a sale)": its kind, left out when
    it only repeats the name ("Processors (processors)" read as a mistake), and what it gets."""
    _ = i18n.translations(lang).gettext
    kind = word("recipient_types", recipient.type.value, lang).lower()
    text = (
        ("" if kind == str(recipient.name).strip().lower() else kind)
        + (_(", a sale") if recipient.sale else "")
        + (_(", sharing for targeted advertising") if recipient.sharing else "")
    ).lstrip(", ")
    return f" ({text})" if text else ""


def plain_notice(
    declaration: Declaration, state_names: dict[str, str], lang: str = "en"
) -> dict[str, Any]:
    """What the notice page says, worded for a consumer: category names, retention as "3 years
    after your last activity with us", states by name, rights and methods in words; and the
    truth about advertising partners next to the sharing statement. The product's words are
    in `lang`; the declaration's own texts are as `declaration` has them (the caller passes
    it through policy.translations.localize)."""
    rows = []
    worded_rows = category_rows(declaration, lang, html=True)
    for row, worded in zip(matrix(declaration), worded_rows, strict=True):
        recipients = [(r.name, _recipient_kind(r, lang)) for r in row.recipients]
        rows.append(
            PlainRow(
                row, worded.title, list(dict.fromkeys(worded.retention)), worded.sources, recipients
            )
        )
    offers = [
        PlainOffer(
            jurisdiction_names(list(o.jurisdictions), state_names, lang),
            [word("rights", r.value, lang) for r in o.rights],
            [word("methods", m.value, lang) for m in o.methods],
        )
        for o in declaration.rights
    ]
    partners = [
        r
        for r in declaration.recipients
        if r.type is RecipientType.advertising_partner and not (r.sale or r.sharing)
    ]
    return {
        "plain_rows": rows,
        "offers": offers,
        "ad_partners": partners,
        "recipient_types": {
            k: i18n.gettext(lang, v).lower() for k, v in wording()["recipient_types"].items()
        },
    }


def _page(request: Request, slug: str, number: int | None) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        org = organization(session, slug)
        if org is None:
            return not_found(request)
        history = policy_store.versions(session, org.id)
        if not history:
            return render(request, "portal/no_notice.html", status=404, org=org, slug=slug)
        latest = history[-1]
        chosen = (
            latest if number is None else next((v for v in history if v.number == number), None)
        )
        if chosen is None:
            return not_found(request)
        adopted = policy_store.get_version(session, org.id, chosen.id)
        # The register as it is today (it is not versioned with the notice).
        processors = [subprocessors.out(s) for s in subprocessors.current(session, org.id)]
    assert adopted is not None
    lang = language.chosen(request)
    declaration: Declaration = localize(adopted.declaration, lang)
    return render(
        request,
        "portal/notice.html",
        org=org,
        slug=slug,
        notice=declaration,
        version=adopted,
        latest_number=latest.number,
        subprocessors=processors,
        history=list(reversed(history)),
        rows=matrix(declaration),
        **plain_notice(declaration, runtime.rules.state_names, lang),
    )


@router.get("/p/{slug}", response_class=HTMLResponse)
def notice(request: Request, slug: str) -> Response:
    return _page(request, slug, None)


@router.get("/p/{slug}/versions/{number}", response_class=HTMLResponse)
def notice_version(request: Request, slug: str, number: int) -> Response:
    if not 1 <= number <= MAX_VERSION:
        return not_found(request)
    return _page(request, slug, number)
