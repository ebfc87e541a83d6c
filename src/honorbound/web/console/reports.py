"""Reports: the CCPA request metrics for a calendar year (11 CCR 7102), on screen and as CSV;
and one person's California Shine the Light answer (Cal. Civ. Code 1798.83), looked up by the
email or phone posted in a form (never in a URL, so it stays out of history and server logs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.audit import append
from honorbound.db.base import utcnow
from honorbound.disclosures.reports import shine_the_light
from honorbound.i18n import N_
from honorbound.policy import store
from honorbound.rights import metrics
from honorbound.rights.jobs import services
from honorbound.vault.identities import InvalidIdentity, guess_kind
from honorbound.vault.subjects import find_subject_id
from honorbound.web.forms import shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(ge=2020, le=2100)]


def _rows(request: Request, organization_id: int, year: int) -> list[metrics.Row]:
    svc = services(request.app.state.runtime)
    with request.app.state.runtime.db.session() as session:
        return metrics.compute(
            session,
            organization_id,
            year,
            svc.rules,
            list(svc.laws.california.metrics.request_types),
        )


@router.get("/console/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("reports.read"))],
    year: Year = None,
) -> Response:
    chosen = year or utcnow().year
    rows = [r.as_dict() for r in _rows(request, staff.organization_id, chosen)]
    return render(
        request,
        "console/reports.html",
        staff=staff,
        section="reports",
        year=chosen,
        first_day=dt.date(chosen, 1, 1),
        last_day=dt.date(chosen, 12, 31),
        columns=metrics.COLUMNS,
        rows=rows,
    )


@router.get("/console/reports/metrics-{year}.csv")
def metrics_csv(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))], year: int
) -> Response:
    if not 2020 <= year <= 2100:
        return render(request, "console/not_found.html", status=404, staff=staff, what="year")
    body = metrics.to_csv(_rows(request, staff.organization_id, year))
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="request-metrics-{year}.csv"'},
    )


STL_TEMPLATE = "console/shine_the_light.html"
NOT_AN_IDENTITY = N_(
    "That is not an email address or a phone number we can read: check it and try again."
)


def _stl_page(
    request: Request,
    staff: Staff,
    *,
    year: str = "",
    error: str = "",
    status: int = 200,
    **found: object,
) -> Response:
    return render(
        request,
        STL_TEMPLATE,
        status=status,
        staff=staff,
        section="reports",
        year=year or str(utcnow().year - 1),
        error=error,
        report=found.get("report"),
        subject_id=found.get("subject_id"),
    )


@router.get("/console/reports/shine-the-light", response_class=HTMLResponse)
def shine_the_light_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("reports.read"))]
) -> Response:
    return _stl_page(request, staff)


@router.post("/console/reports/shine-the-light", response_class=HTMLResponse)
def shine_the_light_lookup(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("reports.read"))],
    identity: Annotated[str, Form(max_length=320)] = "",
    year: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The person's Shine the Light answer for the preceding calendar year (or `year`)."""
    value = identity.strip()
    wanted = year.strip()
    this_year = utcnow().year
    if not value:
        return _stl_page(
            request,
            staff,
            year=wanted,
            error=N_("Enter the person's email address or phone number."),
            status=422,
        )
    if wanted and not (wanted.isdigit() and 2000 <= int(wanted) < this_year):
        return _stl_page(
            request,
            staff,
            year="",
            error=N_("Give a past calendar year, 2000 to {last}.", last=this_year - 1),
            status=422,
        )
    chosen = int(wanted) if wanted else this_year - 1
    kind = guess_kind(value)
    runtime = request.app.state.runtime

    def again(status: int, error: str) -> Response:
        return _stl_page(request, staff, year=str(chosen), error=error, status=status)

    shown_again(request, again, kinds=(InvalidIdentity,),
                words={("identity", 422): NOT_AN_IDENTITY})  # fmt: skip
    with runtime.db.session() as session:
        subject_id = find_subject_id(
            session, runtime.vault_keys, staff.organization_id, kind, value
        )
        if subject_id is None:
            return again(404, N_("No one with this identity is on file."))
        adopted = store.current(session, staff.organization_id)
        if adopted is None:
            return again(409, N_("Adopt a privacy notice first: the report needs its purposes."))
        report = shine_the_light(
            session, staff.organization_id, subject_id, adopted.declaration, chosen
        )
        append(
            session,
            staff.organization_id,
            staff.actor,
            "disclosures.shine_the_light_viewed",
            "subject",
            subject_id,
            {"year": chosen, "recipients": len(report.recipients)},
        )
    return _stl_page(request, staff, year=str(chosen), report=report, subject_id=subject_id)
