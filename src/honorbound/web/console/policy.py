"""Data map, adopted policy versions and the difference between two versions."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.policy import store as policy_store
from honorbound.policy.applicability import report as applicability_report
from honorbound.policy.datamap import matrix
from honorbound.policy.diff import diff as declaration_diff
from honorbound.policy.translations import localize
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_with

router = APIRouter(include_in_schema=False)
VersionNumber = Annotated[int, Query(ge=1, le=2_147_483_647)]


@router.get("/console/data-map", response_class=HTMLResponse)
def data_map(
    request: Request, staff: Annotated[Staff, Depends(staff_with("policy.read"))]
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        policy = policy_store.current(session, staff.organization_id)
    # The organization's own texts in the page's language where it translated them, else as
    # written and marked with their language (never machine-translated).
    lang = chosen(request)
    return render(
        request,
        "console/data_map.html",
        staff=staff,
        section="data-map",
        policy=policy,
        rows=matrix(localize(policy.declaration, lang), lang) if policy else [],
    )


@router.get("/console/obligations", response_class=HTMLResponse)
def obligations(
    request: Request, staff: Annotated[Staff, Depends(staff_with("policy.read"))]
) -> Response:
    """Which state laws apply to the organization and its dated obligations (the same report
    as `GET /v1/policy/applicability` and `honorbound policy check`)."""
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        policy = policy_store.current(session, staff.organization_id)
    found = (
        applicability_report(runtime.rules, policy.declaration, dt.date.today()) if policy else None
    )
    return render(
        request,
        "console/obligations.html",
        staff=staff,
        section="obligations",
        policy=policy,
        found=found,
    )


@router.get("/console/policy", response_class=HTMLResponse)
def versions(
    request: Request, staff: Annotated[Staff, Depends(staff_with("policy.read"))]
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        rows = policy_store.versions(session, staff.organization_id)
    return render(
        request, "console/policy.html", staff=staff, section="policy", versions=list(reversed(rows))
    )


@router.get("/console/policy/diff", response_class=HTMLResponse)
def diff(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("policy.read"))],
    old: VersionNumber,
    new: VersionNumber,
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        by_number = {v.number: v for v in policy_store.versions(session, staff.organization_id)}
        adopted = {
            n: policy_store.get_version(session, staff.organization_id, by_number[n].id)
            for n in (old, new)
            if n in by_number
        }
    if old not in by_number or new not in by_number:
        return render(
            request,
            "console/not_found.html",
            status=404,
            staff=staff,
            what="policy version",
        )
    a, b = by_number[old], by_number[new]
    old_policy, new_policy = adopted[old], adopted[new]
    assert old_policy is not None and new_policy is not None
    changes = declaration_diff(old_policy.declaration, new_policy.declaration)
    lang = chosen(request)
    lines = list(
        difflib.unified_diff(
            a.source_text.splitlines(),
            b.source_text.splitlines(),
            i18n.gettext(lang, "version %(number)s") % {"number": a.number},
            i18n.gettext(lang, "version %(number)s") % {"number": b.number},
            lineterm="",
        )
    )
    return render(
        request,
        "console/policy_diff.html",
        staff=staff,
        section="policy",
        old=a,
        new=b,
        lines=lines,
        changes=changes,
    )
