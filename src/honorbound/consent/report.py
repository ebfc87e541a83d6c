"""The revocation report: proof that every opt-out and do-not-call request was honored in time.

A revocation is honored when it takes effect in decisions. Here that is the moment it is
recorded (decisions read new events on every batch), so the report measures, per revocation,
the business days from when the person expressed it (`occurred_at`, e.g. the date of a letter
or a call) to when it was recorded, on the US federal holiday calendar, against the rule
(10 business days, `contact-rules.yaml`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.consent.models import Action, CompanyDnc, ConsentEvent
from honorbound.consent.rules import ContactRules


@cache
def _federal(year: int) -> frozenset[dt.date]:
    import holidays  # on first use: some 400 modules

    return frozenset(holidays.country_holidays("US", years=year))


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _federal(day.year)


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Business days after `start` up to and including `end` (0 when the same day)."""
    if end <= start:
        return 0
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if is_business_day(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


def add_business_days(start: dt.date, days: int) -> dt.date:
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            days -= 1
    return day


@dataclass(frozen=True)
class Line:
    kind: str  # opt_out | company_dnc
    record_id: int
    purpose: str
    channel: str
    source: str
    requested_on: dt.date
    effective_on: dt.date
    due_on: dt.date
    business_days: int
    honored: bool


@dataclass(frozen=True)
class Report:
    since: dt.date
    until: dt.date
    rule_business_days: int
    lines: list[Line]

    @property
    def late(self) -> list[Line]:
        return [line for line in self.lines if not line.honored]


def revocations(
    session: Session,
    organization_id: int,
    rules: ContactRules,
    since: dt.date,
    until: dt.date,
) -> Report:
    """Every opt-out and company DNC request expressed in [since, until] and how fast it took
    effect. Dates are UTC calendar dates."""
    start = dt.datetime.combine(since, dt.time(0), dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), dt.UTC)
    limit = rules.revocation_business_days
    lines: list[Line] = []

    def line(
        kind: str,
        rid: int,
        purpose: str,
        channel: str,
        source: str,
        asked: dt.datetime,
        done: dt.datetime,
    ) -> Line:
        asked_on, done_on = asked.date(), done.date()
        days = business_days_between(asked_on, done_on)
        return Line(
            kind,
            rid,
            purpose,
            channel,
            source,
            asked_on,
            done_on,
            add_business_days(asked_on, limit),
            days,
            days <= limit,
        )

    for event in session.scalars(
        select(ConsentEvent)
        .where(
            ConsentEvent.organization_id == organization_id,
            ConsentEvent.action == Action.OPT_OUT.value,
            ConsentEvent.occurred_at >= start,
            ConsentEvent.occurred_at < end,
        )
        .order_by(ConsentEvent.id)
    ):
        lines.append(
            line(
                "opt_out",
                event.id,
                event.purpose,
                event.channel,
                event.source,
                event.occurred_at,
                event.recorded_at,
            )
        )
    for dnc in session.scalars(
        select(CompanyDnc)
        .where(
            CompanyDnc.organization_id == organization_id,
            CompanyDnc.requested_at >= start,
            CompanyDnc.requested_at < end,
        )
        .order_by(CompanyDnc.id)
    ):
        lines.append(
            line(
                "company_dnc", dnc.id, "all", "voice", dnc.source, dnc.requested_at, dnc.recorded_at
            )
        )
    return Report(since, until, limit, lines)
