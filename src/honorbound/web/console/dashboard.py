"""The console home: what needs attention today, with charts drawn on the server."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import head
from honorbound.audit.checkpoints import full_check_pending, request_full_check, verify_chain
from honorbound.breach.report import open_clocks
from honorbound.consent.models import Action, ConsentEvent
from honorbound.db.base import utcnow
from honorbound.i18n import N_
from honorbound.notify.models import OutboxMessage, OutboxStatus
from honorbound.policy import store as policy_store
from honorbound.web.charts import Series, bar_chart
from honorbound.web.console import figures
from honorbound.web.console.requests import time_left
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)


def consent_weeks(
    session: Session, organization_id: int, today: dt.date
) -> tuple[list[int], list[int]]:
    """Opt-ins and opt-outs recorded per week over the dashboard's weeks."""
    labels = figures.week_labels(today)
    first = figures.week_start(today) - dt.timedelta(weeks=len(labels) - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    opt_in = [0] * len(labels)
    opt_out = [0] * len(labels)
    for recorded_at, action in session.execute(
        select(ConsentEvent.recorded_at, ConsentEvent.action).where(
            ConsentEvent.organization_id == organization_id, ConsentEvent.recorded_at >= since
        )
    ):
        index = (figures.week_start(recorded_at.date()) - first).days // 7
        if 0 <= index < len(labels):
            (opt_out if action == Action.OPT_OUT else opt_in)[index] += 1
    return opt_in, opt_out


@router.get("/console", response_class=HTMLResponse)
def dashboard(
    request: Request, staff: Annotated[Staff, Depends(staff_with("policy.read"))]
) -> Response:
    runtime = request.app.state.runtime
    org_id = staff.organization_id
    now = utcnow()
    lang = chosen(request)
    labels = figures.week_labels(now.date(), lang)
    # Only the entries added since the last check, in read batches of their own before the
    # page's unit of work; the full walk runs daily and on demand.
    chain = verify_chain(runtime.db, org_id, now=now)
    with runtime.db.session() as session:
        org = session.get(Organization, org_id)
        full_check_waiting = full_check_pending(session, org_id)
        seq, digest = head(session, org_id)
        outbox_counts = dict(
            session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.organization_id == org_id)
                .group_by(OutboxMessage.status)
            ).all()
        )
        opt_in, opt_out = consent_weeks(session, org_id, now.date())
        policy = policy_store.current(session, org_id)
        rights = figures.request_figures(session, org_id, now)
        opt_outs = figures.opt_out_figures(session, runtime.contact_rules, org_id, now.date())
        sweep = figures.last_sweep(session, org_id)
        clocks = (
            open_clocks(session, runtime.rules, org_id, now) if staff.may("reports.read") else []
        )
    return render(
        request,
        "console/dashboard.html",
        org=org,
        staff=staff,
        section="dashboard",
        chain=chain,
        full_check_waiting=full_check_waiting,
        head_seq=seq,
        head_hash=digest,
        may_verify=staff.may("audit.read"),
        outbox_pending=outbox_counts.get(OutboxStatus.PENDING.value, 0),
        outbox_failed=outbox_counts.get(OutboxStatus.FAILED.value, 0),
        outbox_sent=outbox_counts.get(OutboxStatus.SENT.value, 0),
        consent_chart=bar_chart(
            N_("Consent choices recorded per week"),
            labels,
            [Series(N_("Opt-outs"), opt_out), Series(N_("Opt-ins"), opt_in)],
            lang=lang,
        ),
        opt_outs_total=sum(opt_out),
        policy=policy,
        rights=rights,
        soonest=[(r, *time_left(r.due_at, now)) for r in rights.open_soonest],
        requests_chart=bar_chart(
            N_("Requests received per week, by type"), labels, rights.per_week, lang=lang
        ),
        median_chart=bar_chart(
            N_("Median days to close, by week of response"),
            labels,
            [Series(N_("Median days"), rights.median_days)],
            unit=N_(" days"),
            lang=lang,
        ),
        opt_out_share=opt_outs,
        sweep=sweep,
        breach_clocks=[
            (c, *(time_left(c.next.due_at, now) if c.next and c.next.due_at else ("", False)))
            for c in clocks
        ],
    )


@router.post("/console/audit/verify", response_class=HTMLResponse)
def verify_chain_now(
    request: Request, staff: Annotated[Staff, Depends(staff_form("audit.read"))]
) -> Response:
    """Queue a walk of the whole audit chain (what the daily job does), recorded as asked by
    this staff member; the dashboard shows it waiting, then its result."""
    runtime = request.app.state.runtime
    with runtime.db.session() as session:
        request_full_check(session, runtime.jobs, staff.organization_id, staff.actor)
    return RedirectResponse("/console#audit-h", status_code=303)
