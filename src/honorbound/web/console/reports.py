"""Reports: the CCPA request metrics for a calendar year (11 CCR 7102), on screen and as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.db.base import utcnow
from honorbound.rights import metrics
from honorbound.rights.jobs import services
from honorbound.web.rendering import render
from honorbound.web.staff import guard

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
def reports(request: Request, year: Year = None) -> Response:
    staff = guard(request, "reports.read")
    if isinstance(staff, Response):
        return staff
    chosen = year or utcnow().year
    rows = [r.as_dict() for r in _rows(request, staff.organization_id, chosen)]
    return render(
        request,
        "console/reports.html",
        staff=staff,
        section="reports",
        year=chosen,
        columns=metrics.COLUMNS,
        rows=rows,
    )


@router.get("/console/reports/metrics-{year}.csv")
def metrics_csv(request: Request, year: int) -> Response:
    staff = guard(request, "reports.read")
    if isinstance(staff, Response):
        return staff
    if not 2020 <= year <= 2100:
        return render(request, "console/not_found.html", status=404, staff=staff, what="year")
    body = metrics.to_csv(_rows(request, staff.organization_id, year))
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="request-metrics-{year}.csv"'},
    )
