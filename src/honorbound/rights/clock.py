"""The legal clock: due dates from the jurisdiction rules data, in calendar or business days.

Every clock starts at receipt, not at verification (11 CCR 7021(b)). Business days skip
weekends and US federal holidays (the `holidays` package); state holidays are not counted.

A state's rules apply from its law's effective date. A person of a state without a law in
force (not yet in force, or none, or a code not in the rules) gets the organization's default:
`JurisdictionRules.rule_for`, the strictest of the states its notice covers (`scope`), with an
appeal allowed. Only a law in force that gives no appeal (CA, UT) refuses one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from honorbound.errors import HonorboundError
from honorbound.policy.jurisdictions import DayKind, Days, JurisdictionRules
from honorbound.policy.schema import Declaration
from honorbound.rights.rules import RightsRules


class NoAppealRight(HonorboundError, LookupError):
    """The state's law gives no right to appeal (CA, UT)."""

    status = 404
    title = "Not found"


class NoAppealExtension(HonorboundError, LookupError):
    """The state's law allows no extension of an appeal decision (only CO and MN do)."""

    status = 404
    title = "Not found"


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    # Imported on first use: the package loads about 300 modules, which a server that never
    # counts a deadline (or not yet) need not hold.
    import holidays

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
    laws: JurisdictionRules,
    rights: RightsRules,
    request_type: str,
    state: str,
    on: dt.date | None = None,
    scope: frozenset[str] | None = None,
) -> tuple[Days, str]:
    """The response period of a request type in a state on a date (default today), and where the
    rule comes from. `scope`: the states whose rules make up the organization's default for a
    state without a law in force (`Declaration.unknown_state_scope`; None: every state)."""
    clock = rights.type_rule(request_type).clock
    state = state.upper()
    on = on or dt.date.today()
    row = laws.rule_for(state, on, scope)
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
        if not row.appeal.required:
            raise NoAppealRight(f"the law of {state} gives no right to appeal")
        days = row.appeal.days
        if days is None:
            return Days(days=rights.appeal_unknown_days, kind=DayKind.calendar), (
                rights.appeal_unknown_source
            )
        return days, row.source
    return row.respond, row.source


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
    scope: frozenset[str] | None = None,
) -> Clock:
    """The due date: the stricter (earlier) of the law's period and the notice's own promise.
    A state without a law in force on the day of receipt gets the organization's default, the
    strictest of the states `declaration` covers (`Declaration.unknown_state_scope`), or of
    `scope` when the caller gives it without a declaration."""
    if declaration is not None:
        scope = declaration.unknown_state_scope()
    period, source = period_for(laws, rights, request_type, state, received_at.date(), scope)
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


def extension_for(
    laws: JurisdictionRules,
    state: str,
    on: dt.date | None = None,
    scope: frozenset[str] | None = None,
) -> Days:
    return laws.rule_for(state, on or dt.date.today(), scope).extension


def extended_due(
    laws: JurisdictionRules,
    rights: RightsRules,
    request_type: str,
    state: str,
    due_at: dt.datetime,
    declaration: Declaration | None = None,
    on: dt.date | None = None,
) -> tuple[dt.datetime, Days]:
    """The due date after the one extension: the law's extension (the rule in force `on`, the
    day of receipt), or the notice's own `extension_days` when that ends earlier."""
    scope = declaration.unknown_state_scope() if declaration is not None else None
    law = extension_for(laws, state, on, scope)
    due = add(due_at, law)
    _, promised = notice_promise(declaration, rights, request_type, state)
    if promised is not None and due_at + dt.timedelta(days=promised) < due:
        return due_at + dt.timedelta(days=promised), Days(days=promised, kind=DayKind.calendar)
    return due, law


def appeal_extension_for(
    laws: JurisdictionRules,
    state: str,
    on: dt.date | None = None,
    scope: frozenset[str] | None = None,
) -> Days:
    """The one extension of an appeal decision (CO, MN: 60 days); NoAppealExtension otherwise."""
    extension = laws.rule_for(state, on or dt.date.today(), scope).appeal.extension
    if extension is None:
        raise NoAppealExtension(f"the law of {state.upper()} allows no extension of an appeal")
    return extension


def appeal_allowed(
    laws: JurisdictionRules,
    state: str,
    on: dt.date | None = None,
    scope: frozenset[str] | None = None,
) -> bool:
    return laws.rule_for(state, on or dt.date.today(), scope).appeal.required


def elapsed_percent(received_at: dt.datetime, due_at: dt.datetime, now: dt.datetime) -> float:
    total = (due_at - received_at).total_seconds()
    if total <= 0:
        return 100.0
    return max(0.0, (now - received_at).total_seconds() / total * 100.0)
