"""The legal clock: due dates from the jurisdiction rules data, in calendar or business days.

Every clock starts at receipt, not at verification (11 CCR 7021(b)). Business days skip
weekends and US federal holidays (the `holidays` package); state holidays are not counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from honorbound.policy.jurisdictions import DayKind, Days, JurisdictionRules
from honorbound.policy.schema import Declaration
from honorbound.rights.rules import RightsRules


class NoAppealRight(LookupError):
    """The state's law gives no right to appeal (CA, UT)."""


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """`days` business days after `start` (same time of day); the day of receipt never counts."""
    current = start
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if is_business_day(current.date()):
            left -= 1
    return current


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Business days after `start` up to and including `end`."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def add(start: dt.datetime, days: Days) -> dt.datetime:
    if days.kind is DayKind.business:
        return add_business_days(start, days.days)
    return start + dt.timedelta(days=days.days)


@dataclass(frozen=True)
class Clock:
    acknowledge_by: dt.datetime
    due_at: dt.datetime
    period: Days
    source: str


def period_for(
    laws: JurisdictionRules, rights: RightsRules, request_type: str, state: str
) -> tuple[Days, str]:
    """The response period of a request type in a state, and where the rule comes from."""
    clock = rights.type_rule(request_type).clock
    state = state.upper()
    if clock == "opt_out":
        own = laws.opt_out_deadline(state)
        if own is not None:
            return own, f"{state} opt-out deadline (us-rules.yaml opt_out_deadlines)"
        rule = laws.california.opt_out_sale_sharing
        return rule.within, rule.source
    if clock == "limit":
        return laws.california.limit_sensitive.within, laws.california.limit_sensitive.source
    if clock == "shine_the_light":
        return laws.shine_the_light.respond_designated, laws.shine_the_light.source
    if clock == "appeal":
        if state not in laws.states or not laws.states[state].appeal.required:
            raise NoAppealRight(f"the law of {state} gives no right to appeal")
        days = laws.states[state].appeal.days
        if days is None:
            return Days(days=rights.appeal_unknown_days, kind=DayKind.calendar), (
                rights.appeal_unknown_source
            )
        return days, laws.states[state].source
    if state in laws.states:
        return laws.states[state].respond, laws.states[state].source
    return laws.california.respond.within, laws.california.respond.source


def notice_promise(
    declaration: Declaration | None, rights: RightsRules, request_type: str, state: str
) -> tuple[int | None, int | None]:
    """(response_days, extension_days) the adopted notice promises for this request type in
    this state: the shortest of every offer that covers the state and the right (`None` when
    no offer says). The notice's days are calendar days."""
    if declaration is None:
        return None, None
    wanted = set(rights.type_rule(request_type).notice_rights)
    offers = [
        o
        for o in declaration.rights_for(f"US-{state.upper()}")
        if wanted & {r.value for r in o.rights}
    ]
    respond = [o.response_days for o in offers if o.response_days is not None]
    extend = [o.extension_days for o in offers if o.extension_days is not None]
    return min(respond, default=None), min(extend, default=None)


def clock_for(
    laws: JurisdictionRules,
    rights: RightsRules,
    request_type: str,
    state: str,
    received_at: dt.datetime,
    declaration: Declaration | None = None,
) -> Clock:
    """The due date: the stricter (earlier) of the law's period and the notice's own promise."""
    period, source = period_for(laws, rights, request_type, state)
    acknowledge = add(received_at, laws.california.acknowledge_request.within)
    due = add(received_at, period)
    promised, _ = notice_promise(declaration, rights, request_type, state)
    if promised is not None:
        by_notice = received_at + dt.timedelta(days=promised)
        if by_notice < due:
            period = Days(days=promised, kind=DayKind.calendar)
            source = f"the privacy notice (rights[].response_days: {promised}); law: {source}"
            due = by_notice
    return Clock(acknowledge, due, period, source)


def extension_for(laws: JurisdictionRules, state: str) -> Days:
    state = state.upper()
    if state in laws.states:
        return laws.states[state].extension
    return laws.california.extension.within


def extended_due(
    laws: JurisdictionRules,
    rights: RightsRules,
    request_type: str,
    state: str,
    due_at: dt.datetime,
    declaration: Declaration | None = None,
) -> tuple[dt.datetime, Days]:
    """The due date after the one extension: the law's extension, or the notice's own
    `extension_days` when that ends earlier."""
    law = extension_for(laws, state)
    due = add(due_at, law)
    _, promised = notice_promise(declaration, rights, request_type, state)
    if promised is not None and due_at + dt.timedelta(days=promised) < due:
        return due_at + dt.timedelta(days=promised), Days(days=promised, kind=DayKind.calendar)
    return due, law


def appeal_allowed(laws: JurisdictionRules, state: str) -> bool:
    row = laws.states.get(state.upper())
    return row is not None and row.appeal.required


def elapsed_percent(received_at: dt.datetime, due_at: dt.datetime, now: dt.datetime) -> float:
    total = (due_at - received_at).total_seconds()
    if total <= 0:
        return 100.0
    return max(0.0, (now - received_at).total_seconds() / total * 100.0)
