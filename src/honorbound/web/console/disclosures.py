"""The disclosure ledger: every disclosure to a recipient, its basis, purpose and counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from honorbound.disclosures.ledger import list_disclosures
from honorbound.disclosures.models import Basis
from honorbound.i18n import N_
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_with

router = APIRouter(include_in_schema=False)
PAGE = 100


@router.get("/console/disclosures", response_class=HTMLResponse)
def disclosures(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("reports.read"))],
    basis: Annotated[str, Query(max_length=30)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    bases = [b.value for b in Basis]
    if basis and basis not in bases:
        return render(
            request,
            "console/disclosures.html",
            status=422,
            staff=staff,
            section="disclosures",
            rows=[],
            bases=bases,
            basis=basis,
            page=page,
            more=False,
            error=N_("Choose a basis from the list."),
        )
    with request.app.state.runtime.db.session() as session:
        rows = list_disclosures(
            session,
            staff.organization_id,
            basis=Basis(basis) if basis else None,
            limit=PAGE,
            offset=(page - 1) * PAGE,
        )
    return render(
        request,
        "console/disclosures.html",
        staff=staff,
        section="disclosures",
        rows=rows,
        bases=bases,
        basis=basis,
        page=page,
        more=len(rows) == PAGE,
    )
