"""The audit log, newest first, with the chain's verification status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from honorbound.accounts.team import members
from honorbound.audit import AuditEntry, head, verify
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_with

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/console/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("audit.read"))],
    action: Annotated[str, Query(max_length=100)] = "",
    before: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> Response:
    runtime = request.app.state.runtime
    org_id = staff.organization_id
    with runtime.db.session() as session:
        chain = verify(session, org_id)
        seq, digest = head(session, org_id)
        stmt = (
            select(AuditEntry)
            .where(AuditEntry.organization_id == org_id)
            .order_by(AuditEntry.seq.desc())
            .limit(PAGE)
        )
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if before:
            stmt = stmt.where(AuditEntry.seq < before)
        entries = list(session.scalars(stmt))
        # Actors are stored as ids (user:7); the page names the staff member too.
        names = {f"user:{m.user_id}": m.username for m in members(session, org_id)}
    return render(
        request,
        "console/audit.html",
        staff=staff,
        section="audit",
        entries=entries,
        names=names,
        action=action,
        chain_ok=chain.ok,
        chain_entries=chain.entries,
        chain_problem=str(chain.problems[0]) if chain.problems else "",
        head_seq=seq,
        head_hash=digest,
        older=entries[-1].seq if len(entries) == PAGE else 0,
    )
