"""The organization's privacy notice, rendered from its adopted declaration, with history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.policy import store as policy_store
from honorbound.policy.schema import Declaration
from honorbound.web.datamap import matrix
from honorbound.web.portal.common import not_found, organization
from honorbound.web.rendering import render

router = APIRouter(include_in_schema=False)
MAX_VERSION = 2_147_483_647


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
    assert adopted is not None
    declaration: Declaration = adopted.declaration
    return render(
        request,
        "portal/notice.html",
        org=org,
        slug=slug,
        notice=declaration,
        version=adopted,
        latest_number=latest.number,
        history=list(reversed(history)),
        rows=matrix(declaration),
    )


@router.get("/p/{slug}", response_class=HTMLResponse)
def notice(request: Request, slug: str) -> Response:
    return _page(request, slug, None)


@router.get("/p/{slug}/versions/{number}", response_class=HTMLResponse)
def notice_version(request: Request, slug: str, number: int) -> Response:
    if not 1 <= number <= MAX_VERSION:
        return not_found(request)
    return _page(request, slug, number)
