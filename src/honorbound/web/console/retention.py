"""Retention: what the declaration's rules will dispose of next, legal holds (place, release),
the last sweeps, and the signed disposal certificates."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from honorbound import i18n
from honorbound.i18n import N_
from honorbound.policy.render import describe_trigger
from honorbound.policy.schema import RetentionTrigger, Trigger
from honorbound.retention import holds
from honorbound.retention.certificates import document
from honorbound.retention.due import Forecast
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.models import RetentionRun
from honorbound.retention.sweep import disposals, forecast, get_disposal
from honorbound.web.forms import Words, shown_again
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
MAX_ID = 2_147_483_647


def rule_rows(plan: Forecast, lang: str = i18n.DEFAULT) -> list[dict[str, object]]:
    """The forecast's steps as the page shows them: grouped by rule and by whom it applies to,
    each trigger with its period in words; a second trigger of the same rule and people reads
    as the alternative it is ("or 6 years after ..."), not as a repeated row."""
    steps = sorted(plan.steps, key=lambda s: (s.rule_id, tuple(s.subject_types or ())))
    rows: list[dict[str, object]] = []
    for index, step in enumerate(steps):
        before = steps[index - 1] if index else None
        trigger = RetentionTrigger(trigger=Trigger(step.trigger), period=step.period or None)
        rows.append(
            {
                "step": step,
                "first_of_rule": before is None or before.rule_id != step.rule_id,
                "alternative": before is not None
                and before.rule_id == step.rule_id
                and before.subject_types == step.subject_types,
                "applies_to": list(step.subject_types or ()),
                "when": describe_trigger(trigger, lang),
            }
        )
    return rows


# What the hold forms can be refused for, by (field, status), in the page's language (the
# domain's sentence, for the API, stays English); another refusal shows the domain's words.
PLACE_REFUSED = {
    ("reason", 422): N_("Say why the hold is placed, for example: litigation hold, case 24-117."),
    ("owner", 422): N_("Say who answers for this hold."),
    ("category", 422): N_("Give the category as a taxonomy key, such as user.contact.email."),
    ("subject_id", 404): N_("There is no subject with that number in your organization."),
}
RELEASE_REFUSED = {
    ("reason", 422): N_("Say why the hold is released, for example: case settled."),
    ("hold_id", 404): N_("There is no legal hold with that number in your organization."),
    ("hold_id", 409): N_("That hold is already released."),
}


def _shown(request: Request, staff: Staff, words: Words) -> None:
    """A refused hold form shows the page again, in the page's words for `words`' refusals."""
    shown_again(
        request,
        lambda status, error: _page(request, staff, status, error),
        kinds=(RetentionInputError,),
        words=words,
    )


def _page(request: Request, staff: Staff, status: int = 200, error: str = "") -> Response:
    org_id = staff.organization_id
    with request.app.state.runtime.db.session() as session:
        try:
            plan = forecast(session, org_id)
        except RetentionInputError:
            plan = None  # no declaration adopted: nothing to enforce yet
        all_holds = holds.list_holds(session, org_id, include_released=True)
        runs = list(
            session.scalars(
                select(RetentionRun)
                .where(RetentionRun.organization_id == org_id)
                .order_by(RetentionRun.id.desc())
                .limit(10)
            )
        )
        certificates = disposals(session, org_id, limit=100)
    return render(
        request,
        "console/retention.html",
        status=status,
        staff=staff,
        section="retention",
        plan=plan,
        rule_rows=rule_rows(plan, chosen(request)) if plan is not None else [],
        holds=all_holds,
        runs=runs,
        certificates=certificates,
        can_manage=staff.may("retention.manage"),
        error=error,
    )


@router.get("/console/retention", response_class=HTMLResponse)
def retention_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))]
) -> Response:
    return _page(request, staff)


@router.post("/console/retention/holds", response_class=HTMLResponse)
def place_hold(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("retention.manage"))],
    reason: Annotated[str, Form(max_length=500)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    subject_id: Annotated[str, Form(max_length=12)] = "",
    category: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    subject: int | None = None
    if subject_id.strip():
        if not subject_id.strip().isdigit() or not 1 <= int(subject_id) <= MAX_ID:
            return _page(request, staff, 422, N_("Give a subject number, or leave it empty."))
        subject = int(subject_id)
    _shown(request, staff, PLACE_REFUSED)
    with request.app.state.runtime.db.session() as session:
        holds.place_hold(
            session,
            staff.organization_id,
            staff.actor,
            reason=reason,
            owner=owner,
            subject_id=subject,
            category=category.strip() or None,
        )
    return RedirectResponse("/console/retention", status_code=303)


@router.post("/console/retention/holds/{hold_id}/release", response_class=HTMLResponse)
def release_hold(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("retention.manage"))],
    hold_id: int,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not 1 <= hold_id <= MAX_ID:
        return _page(request, staff, 404, RELEASE_REFUSED["hold_id", 404])
    _shown(request, staff, RELEASE_REFUSED)
    with request.app.state.runtime.db.session() as session:
        holds.release_hold(session, staff.organization_id, hold_id, staff.actor, reason)
    return RedirectResponse("/console/retention", status_code=303)


@router.get("/console/retention/certificates/{entry_id}.json")
def certificate(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))], entry_id: int
) -> Response:
    if not 1 <= entry_id <= MAX_ID:
        return render(
            request, "console/not_found.html", status=404, staff=staff, what="disposal certificate"
        )
    shown_again(
        request,
        lambda status, _: render(
            request, "console/not_found.html", status=404, staff=staff, what="disposal certificate"
        ),
        kinds=(RetentionInputError,),
    )
    with request.app.state.runtime.db.session() as session:
        entry = get_disposal(session, staff.organization_id, entry_id)
        body = json.dumps(document(entry.certificate, entry.signature), indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="disposal-{entry_id}.json"'},
    )
