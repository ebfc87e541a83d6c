"""Limits on access requests: how many are free per window, and the period a package covers.

Both are rules as data: the free count per state is `free_requests` in us-rules.yaml, the
request types and the window are `free_requests` in rights/data/requests.yaml; the lookback is
`access_period` there and `california.access_never_disclose.lookback_months` in us-rules.yaml.
Both facts are written on the request's "received" event (and an `excess_request` event), so
staff see them on the timeline and the package reads the period the consumer chose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.rights.models import RequestEvent, Response, RightsRequest
from honorbound.rights.rules import Period, RightsRules

EXCESS_EVENT = "excess_request"


def months_before(value: dt.datetime, months: int) -> dt.datetime:
    """`value` moved back `months` calendar months (day clamped to the month's length)."""
    index = value.year * 12 + value.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, last_day))


@dataclass(frozen=True)
class Excess:
    count: int  # this request's place among the person's requests in the window
    free: int
    window_months: int | None  # None: the calendar year
    source: str

    @property
    def window(self) -> str:
        return "calendar year" if self.window_months is None else f"{self.window_months} months"


def _place(
    session: Session, request: RightsRequest, types: Sequence[str], since: dt.datetime
) -> int:
    """This request's place among the same person's requests of `types` (same contact or same
    vault subject) received since `since` (exclusive), not counting denied ones (no free answer
    was given)."""
    same = RightsRequest.contact_index == request.contact_index
    if request.subject_id is not None:
        same = or_(same, RightsRequest.subject_id == request.subject_id)
    earlier = session.scalar(
        select(func.count())
        .select_from(RightsRequest)
        .where(
            RightsRequest.organization_id == request.organization_id,
            RightsRequest.id != request.id,
            RightsRequest.type.in_(list(types)),
            same,
            RightsRequest.received_at > since,
            RightsRequest.received_at <= request.received_at,
            or_(
                RightsRequest.response.is_(None),
                RightsRequest.response != Response.DENIED.value,
            ),
        )
    )
    return int(earlier or 0) + 1


def _year_start(value: dt.datetime) -> dt.datetime:
    """The instant before 1 January of `value`'s year (UTC), so `> since` counts the year."""
    start = dt.datetime(value.year, 1, 1, tzinfo=value.tzinfo or dt.UTC)
    return start - dt.timedelta(microseconds=1)


def check_excess(
    session: Session, rules: RightsRules, laws: JurisdictionRules, request: RightsRequest
) -> Excess | None:
    """Whether `request` is beyond the free requests of its state.

    Two rules, both data: the state's own per-type limits (`free_requests_by_type` in
    us-rules.yaml: CO portability twice per calendar year) and the general count
    (`free_requests` there) over the counted types and rolling window of requests.yaml. A
    type a per-type limit names is judged by that limit only (the state's specific rule for
    it). Only a law in force on the day the request was received counts; a state without one
    has no free-request limit (nothing is flagged). The first one exceeded is reported."""
    state = request.jurisdiction
    row = laws.in_force(state, request.received_at.date())
    if row is None:
        return None
    for own in row.free_requests_by_type:
        if request.type not in own.types:
            continue
        if own.window == "calendar_year":
            since, months = _year_start(request.received_at), None
        else:
            since, months = months_before(request.received_at, 12), 12
        count = _place(session, request, own.types, since)
        if count > own.count:
            return Excess(count, own.count, months, f"{state}: {own.source}")
        return None
    limit = rules.free_requests
    free = row.free_requests
    if free is None or request.type not in limit.types:
        return None
    since = months_before(request.received_at, limit.window_months)
    own_types = {t for own in row.free_requests_by_type for t in own.types}
    count = _place(session, request, [t for t in limit.types if t not in own_types], since)
    if count <= free:
        return None
    return Excess(count, free, limit.window_months, f"{state}: {limit.source}")


@dataclass(frozen=True)
class Marks:
    period: Period | None = None
    excess_request: int | None = None


def marks(session: Session, request_ids: Sequence[int]) -> dict[int, Marks]:
    """The period and the excess-request count of each request, in one query."""
    found: dict[int, Marks] = {}
    if not request_ids:
        return found
    rows = session.execute(
        select(RequestEvent.request_id, RequestEvent.kind, RequestEvent.details)
        .where(
            RequestEvent.request_id.in_(list(request_ids)),
            RequestEvent.kind.in_(["received", EXCESS_EVENT]),
        )
        .order_by(RequestEvent.id)
    )
    for request_id, kind, details in rows:
        current = found.get(request_id, Marks())
        if kind == "received" and details.get("period") is not None:
            current = Marks(cast(Period, details["period"]), current.excess_request)
        elif kind == EXCESS_EVENT:
            current = Marks(current.period, int(details["count"]))
        found[request_id] = current
    return found


def period_of(session: Session, request: RightsRequest) -> Period | None:
    return marks(session, [request.id]).get(request.id, Marks()).period


def excess_of(session: Session, request: RightsRequest) -> int | None:
    return marks(session, [request.id]).get(request.id, Marks()).excess_request
