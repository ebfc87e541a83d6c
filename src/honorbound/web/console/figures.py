"""The dashboard's figures, read from the domain tables (read-only; nothing here decides).

Week buckets start on Monday (UTC). Medians are in calendar days from receipt to response,
as the CCPA metrics count them (11 CCR 7102).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from honorbound import i18n
from honorbound.consent import report
from honorbound.consent.rules import ContactRules
from honorbound.retention.models import RetentionRun
from honorbound.rights import queries
from honorbound.rights.models import OPEN_STATUSES, RightsRequest
from honorbound.web.charts import Series
from honorbound.web.console.words import WORDS

WEEKS = 8


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weeks(today: dt.date) -> list[dt.date]:
    first = week_start(today) - dt.timedelta(weeks=WEEKS - 1)
    return [first + dt.timedelta(weeks=i) for i in range(WEEKS)]


def _index(starts: list[dt.date], day: dt.date) -> int | None:
    i = (week_start(day) - starts[0]).days // 7
    return i if 0 <= i < len(starts) else None


def week_labels(today: dt.date, lang: str = i18n.DEFAULT) -> list[str]:
    """The first day of each of the dashboard's weeks, in the page's language."""
    return [i18n.format_month_day(s, lang) for s in _weeks(today)]


@dataclass(frozen=True)
class RequestFigures:
    open_soonest: list[RightsRequest]
    open_count: int
    overdue: int
    per_week: list[Series]  # one series per request type seen
    median_days: list[float]  # per week of response


def request_figures(session: Session, organization_id: int, now: dt.datetime) -> RequestFigures:
    starts = _weeks(now.date())
    since = dt.datetime.combine(starts[0], dt.time(), tzinfo=dt.UTC)
    open_statuses = [s.value for s in OPEN_STATUSES]
    counts = session.execute(
        select(
            func.count(),
            func.count().filter(RightsRequest.due_at < now),
        ).where(
            RightsRequest.organization_id == organization_id,
            RightsRequest.status.in_(open_statuses),
        )
    ).one()
    per_type: dict[str, list[float]] = {}
    for request_type, received_at in session.execute(
        select(RightsRequest.type, RightsRequest.received_at).where(
            RightsRequest.organization_id == organization_id, RightsRequest.received_at >= since
        )
    ):
        i = _index(starts, received_at.date())
        if i is not None:
            per_type.setdefault(request_type, [0.0] * WEEKS)[i] += 1
    durations: list[list[float]] = [[] for _ in starts]
    for received_at, closed_at in session.execute(
        select(RightsRequest.received_at, RightsRequest.closed_at).where(
            RightsRequest.organization_id == organization_id,
            RightsRequest.closed_at.is_not(None),
            RightsRequest.closed_at >= since,
        )
    ):
        i = _index(starts, closed_at.date()) if closed_at is not None else None
        if i is not None and closed_at is not None:
            durations[i].append((closed_at - received_at).total_seconds() / 86400)
    soonest = queries.list_requests(session, organization_id, True, None, limit=10)
    return RequestFigures(
        open_soonest=soonest,
        open_count=int(counts[0]),
        overdue=int(counts[1]),
        per_week=[
            # each type's words (marked for the catalog), shown in the page's language
            Series(WORDS["type"].get(name) or name.replace("_", " "), values)
            for name, values in sorted(per_type.items())
        ],
        median_days=[round(statistics.median(d), 1) if d else 0.0 for d in durations],
    )


@dataclass(frozen=True)
class OptOutFigures:
    total: int
    honored: int
    rule_business_days: int

    @property
    def share(self) -> str:
        return f"{100 * self.honored / self.total:.0f}%" if self.total else "no opt-outs"


def opt_out_figures(
    session: Session, contact: ContactRules, organization_id: int, today: dt.date
) -> OptOutFigures:
    """Opt-outs expressed in the last 90 days and how many took effect within the rule."""
    result = report.revocations(
        session, organization_id, contact, today - dt.timedelta(days=90), today
    )
    return OptOutFigures(
        len(result.lines), len(result.lines) - len(result.late), result.rule_business_days
    )


def last_sweep(session: Session, organization_id: int) -> RetentionRun | None:
    return session.scalar(
        select(RetentionRun)
        .where(RetentionRun.organization_id == organization_id)
        .order_by(RetentionRun.started_at.desc(), RetentionRun.id.desc())
        .limit(1)
    )
