"""The cross-client desk: everything due across the organizations someone works for.

Per organization and in total: open requests, overdue, due within `DUE_SOON`, opt-outs not yet
honored (open opt-out and limit requests, and opt-outs said in conversations waiting for
review), the last retention run, outbox messages that failed, the audit chain's last check,
and the breach notices a BPO owes a client (`owner_notices`: the processor-to-owner duty of
an open incident naming that client, due by the client's own rules). Then the open requests
themselves, by due date across every organization, one page at a time.

Scale: the requests' counts are one grouped query over the partial index of the open requests
(`ix_rights_requests_open_due`, which covers it, so no row is read; about 100 ms for 100,000
open requests, the desk's largest cost); a page of requests is one statement, a UNION ALL of
one keyset part per organization on the same index (`WHERE organization_id = ? AND closed_at
IS NULL AND (due_at, id) > cursor ORDER BY due_at, id LIMIT n`), of which the database keeps
the earliest n: a page costs the same on page 1 and page 2,000 and never reads more than n
rows per organization. Who may see which
organizations is the caller's business (`organizations_of_user`, `organizations_of_bpo`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import functools
import threading
from array import array
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from honorbound.accounts.models import Membership, Organization
from honorbound.audit.models import AuditCheckpoint
from honorbound.breach.deadlines import RulesSource, client_organizations, incident_plan
from honorbound.breach.models import Audience, Incident, IncidentStatus, Notice
from honorbound.breach.selection import counts_by_state
from honorbound.consent.identity import identify
from honorbound.consent.models import CompanyDnc
from honorbound.db.base import utcnow
from honorbound.db.changes import request_versions
from honorbound.errors import HonorboundError
from honorbound.intents.models import ConversationIntent
from honorbound.notify.models import OutboxMessage, OutboxStatus
from honorbound.retention.models import RetentionRun
from honorbound.rights.models import RightsRequest
from honorbound.rights.rules import load_rights_rules

DUE_SOON = dt.timedelta(days=7)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The most organizations one desk covers (a page runs one small query per organization).
MAX_ORGANIZATIONS = 500
REVIEW = "review"  # a said opt-out waiting for staff (honorbound.intents)
# The most open incidents whose notices to clients one desk computes (oldest first).
MAX_INCIDENTS = 100


class DeskError(HonorboundError, ValueError):
    """A cursor or filter that cannot be used; the message says which."""

    status = 422
    title = "Bad cursor"


@dataclass(frozen=True)
class DeskOrganization:
    id: int
    slug: str
    name: str
    state: str  # active | disabled | offboarded
    role: str | None = None  # the caller's role in it (console); None for an API key


@dataclass
class OrganizationSummary:
    organization: DeskOrganization
    open_requests: int = 0
    overdue: int = 0
    due_soon: int = 0
    opt_outs_open: int = 0
    said_opt_outs_review: int = 0
    outbox_failed: int = 0
    retention_last_started_at: dt.datetime | None = None
    retention_running: int = 0
    audit_ok: bool | None = None  # None: never checked
    audit_checked_at: dt.datetime | None = None
    audit_problem: str | None = None
    owner_notices_due: int = 0  # breach notices owed to this client, not yet sent
    owner_notices_overdue: int = 0

    @property
    def opt_outs_not_honored(self) -> int:
        return self.opt_outs_open + self.said_opt_outs_review


COUNTED = (
    "open_requests",
    "overdue",
    "due_soon",
    "opt_outs_open",
    "said_opt_outs_review",
    "outbox_failed",
    "retention_running",
    "owner_notices_due",
    "owner_notices_overdue",
)


@dataclass
class Summary:
    organizations: list[OrganizationSummary]
    totals: dict[str, int] = field(default_factory=dict)
    audit_problems: int = 0
    audit_unchecked: int = 0


@dataclass(frozen=True)
class DueItem:
    id: int
    organization: DeskOrganization
    reference: str
    type: str
    status: str
    due_at: dt.datetime
    overdue: bool


@dataclass(frozen=True)
class Page:
    items: list[DueItem]
    next_cursor: str | None


def _state(org: Organization) -> str:
    if org.offboarded_at is not None:
        return "offboarded"
    return "disabled" if org.disabled_at is not None else "active"


def organizations_of_user(session: Session, user_id: int) -> list[DeskOrganization]:
    """Every organization the user is a member of, with their role in each."""
    rows = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name, Organization.id)
        .limit(MAX_ORGANIZATIONS)
    ).all()
    return [DeskOrganization(o.id, o.slug, o.name, _state(o), role) for o, role in rows]


def organizations_of_bpo(session: Session, bpo_id: int) -> list[DeskOrganization]:
    """The BPO itself and every client it operates (an API key of the BPO sees them all)."""
    rows = session.scalars(
        select(Organization)
        .where(or_(Organization.id == bpo_id, Organization.operated_by_id == bpo_id))
        .order_by(Organization.name, Organization.id)
        .limit(MAX_ORGANIZATIONS)
    ).all()
    return [DeskOrganization(o.id, o.slug, o.name, _state(o)) for o in rows]


def only(organizations: list[DeskOrganization], slug: str | None) -> list[DeskOrganization]:
    """The filter by client: LookupError for a slug the caller may not see (unknown or not
    theirs look the same)."""
    if not slug:
        return organizations
    chosen = [o for o in organizations if o.slug == slug]
    if not chosen:
        raise LookupError(f"no organization {slug[:64]!r} among yours")
    return chosen


@dataclass(frozen=True)
class OwnerNotice:
    """A BPO's duty to tell a client (the controller) of a breach of the data it maintains
    for it, in one state: `breach.<STATE>.processor_to_owner` of the client's rules."""

    organization: DeskOrganization  # the client owed the notice
    processor: DeskOrganization  # whose incident it is (the BPO)
    incident_id: int
    incident_title: str
    state: str
    due_at: dt.datetime
    rule: str
    status: str  # due | overdue | sent (its client document marked submitted)
    confirmed: bool


def owner_notices(
    session: Session,
    rules: RulesSource,
    visible: list[DeskOrganization],
    chosen: list[DeskOrganization] | None = None,
    now: dt.datetime | None = None,
) -> list[OwnerNotice]:
    """The breach notices owed to the `chosen` clients (default: every `visible` one) by the
    open incidents of an organization the caller sees too (`visible`: a client's own staff do
    not see their BPO's incidents here), earliest due first."""
    now = now or utcnow()
    seen = {o.id: o for o in visible}
    wanted = {o.id for o in (visible if chosen is None else chosen)}
    incidents = session.scalars(
        select(Incident)
        .where(
            Incident.organization_id.in_(list(seen)),
            Incident.status != IncidentStatus.CLOSED.value,
        )
        .order_by(Incident.discovered_at, Incident.id)
        .limit(MAX_INCIDENTS)
    ).all()
    out: list[OwnerNotice] = []
    for incident in incidents:
        targets = {
            entry: org
            for entry, org in client_organizations(session, incident).items()
            if org.id in wanted and org.id in seen
        }
        if not targets:
            continue
        _, plan = incident_plan(session, rules, incident, counts_by_state(session, incident.id))
        sent = {
            (state, recipient)
            for state, recipient in session.execute(
                select(Notice.state, Notice.recipient).where(
                    Notice.incident_id == incident.id,
                    Notice.audience == Audience.OWNER.value,
                    Notice.status == "submitted",
                )
            )
        }
        for o in plan.required():
            if o.audience != "owner" or o.who not in targets or o.due_at is None:
                continue
            due = _utc(o.due_at)
            status = "sent" if (o.state, o.who) in sent else "overdue" if due < now else "due"
            out.append(
                OwnerNotice(
                    seen[targets[o.who].id], seen[incident.organization_id], incident.id,
                    incident.title, o.state, due, o.rule, status, o.confirmed,
                )
            )  # fmt: skip
    return sorted(out, key=lambda n: (n.due_at, n.incident_id, n.organization.slug, n.state))


def summary(
    session: Session,
    organizations: list[DeskOrganization],
    now: dt.datetime | None = None,
    owed: list[OwnerNotice] | None = None,
    counts: RequestCounts | None = None,
) -> Summary:
    """The figures per organization and in total; `owed` (from `owner_notices`) counted in
    each client's `owner_notices_due` and `owner_notices_overdue` (sent ones are not). With
    `counts` (the runtime's), the open-request figures come from its cache, re-read only for
    organizations whose requests changed; without, from four counts over the index (the same
    figures, slower at size)."""
    now = now or utcnow()
    by_id = {o.id: OrganizationSummary(o) for o in organizations}
    ids = list(by_id)
    if not ids:
        return Summary([], dict.fromkeys(COUNTED, 0))
    if counts is None:
        _count_requests(session, by_id, now)
    else:
        counts.fill(session, by_id, now)
    for org_id, count in session.execute(
        select(ConversationIntent.organization_id, func.count())
        .where(ConversationIntent.organization_id.in_(ids), ConversationIntent.status == REVIEW)
        .group_by(ConversationIntent.organization_id)
    ):
        by_id[org_id].said_opt_outs_review = int(count)
    for org_id, count in session.execute(
        select(OutboxMessage.organization_id, func.count())
        .where(
            OutboxMessage.status == OutboxStatus.FAILED.value,
            OutboxMessage.organization_id.in_(ids),
        )
        .group_by(OutboxMessage.organization_id)
    ):
        by_id[org_id].outbox_failed = int(count)
    for org_id, last, running in session.execute(
        select(
            RetentionRun.organization_id,
            func.max(RetentionRun.started_at),
            func.sum(case((RetentionRun.status == "running", 1), else_=0)),
        )
        .where(RetentionRun.organization_id.in_(ids))
        .group_by(RetentionRun.organization_id)
    ):
        by_id[org_id].retention_last_started_at = last
        by_id[org_id].retention_running = int(running or 0)
    for checkpoint in session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.organization_id.in_(ids))
    ):
        row = by_id[checkpoint.organization_id]
        row.audit_ok = checkpoint.ok
        row.audit_checked_at = checkpoint.checked_at
        row.audit_problem = checkpoint.problem
    for notice in owed or []:
        target = by_id.get(notice.organization.id)
        if target is not None and notice.status != "sent":
            target.owner_notices_due += 1
            target.owner_notices_overdue += notice.status == "overdue"
    rows = list(by_id.values())
    totals = {name: sum(int(getattr(r, name)) for r in rows) for name in COUNTED}
    return Summary(
        rows,
        totals,
        audit_problems=sum(1 for r in rows if r.audit_ok is False),
        audit_unchecked=sum(1 for r in rows if r.audit_ok is None),
    )


def _count_requests(
    session: Session, by_id: dict[int, OrganizationSummary], now: dt.datetime
) -> None:
    """The open requests per organization: all, overdue, due soon, opt-outs. Four counts over
    the open-requests index, each a range or a plain filter, instead of one pass summing CASE
    expressions per row (at 100,000 open requests: about 60 ms against 105 on SQLite)."""
    # The types applied at once without verification (`executes: opt_out` in their rows).
    opt_out_types = sorted(load_rights_rules().executing("opt_out"))
    open_ = and_(RightsRequest.organization_id.in_(list(by_id)), RightsRequest.closed_at.is_(None))
    counts = {
        "open_requests": open_,
        "overdue": and_(open_, RightsRequest.due_at < now),
        "due_soon": and_(open_, RightsRequest.due_at >= now, RightsRequest.due_at < now + DUE_SOON),
        "opt_outs_open": and_(open_, RightsRequest.type.in_(opt_out_types)),
    }
    for name, where in counts.items():
        for org_id, count in session.execute(
            select(RightsRequest.organization_id, func.count())
            .where(where)
            .group_by(RightsRequest.organization_id)
        ):
            setattr(by_id[org_id], name, int(count))


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


_NAIVE_EPOCH: Final = _EPOCH.replace(tzinfo=None)


def _micros(value: dt.datetime) -> int:
    """Microseconds since 1970 of a UTC time (naive, as SQLite gives it back, or aware)."""
    if value.tzinfo is None:
        return (value - _NAIVE_EPOCH) // _MICROSECOND
    return (value - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class _Open:
    version: int
    due: array[int]  # due dates of the open requests, sorted, in microseconds since 1970
    opt_outs: int


class RequestCounts:
    """The open requests of each organization, kept by its `requests_version` (a counter the
    database's triggers move on every write to rights_requests, migration 0040): the due dates
    sorted, so "overdue" and "due soon" at any moment are two binary searches, and the count of
    opt-out requests. A desk page reads the 50 counters (primary-key lookups) and re-reads the
    rows of only the organizations whose counter moved; at 50 clients and 100,000 open requests
    that takes the summary from a scan of every open request to one indexed read.

    One per process (runtime.py builds it). The counter is read before the rows, so a write
    that lands in between leaves the cache older than its counter, and the next page re-reads."""

    def __init__(self) -> None:
        self._by_org: dict[int, _Open] = {}
        self._lock = threading.Lock()

    def fill(
        self, session: Session, by_id: dict[int, OrganizationSummary], now: dt.datetime
    ) -> None:
        versions = request_versions(session, by_id)
        with self._lock:
            known = dict(self._by_org)
        stale = [org for org, v in versions.items() if org not in known or known[org].version != v]
        if stale:
            fresh = self._read(session, stale, versions)
            with self._lock:
                self._by_org.update(fresh)
            known.update(fresh)
        at, soon = _micros(now), _micros(now + DUE_SOON)
        for org_id, row in by_id.items():
            found = known[org_id]
            overdue = bisect.bisect_left(found.due, at)
            row.open_requests, row.overdue = len(found.due), overdue
            row.due_soon = bisect.bisect_left(found.due, soon) - overdue
            row.opt_outs_open = found.opt_outs

    @staticmethod
    def _read(session: Session, orgs: list[int], versions: dict[int, int]) -> dict[int, _Open]:
        opt_out_types = load_rights_rules().executing("opt_out")
        due: dict[int, list[int]] = {org: [] for org in orgs}
        opt_outs = dict.fromkeys(orgs, 0)
        # The due date as the driver gives it (SQLite: ISO text, parsed here by the C
        # `fromisoformat`; SQLAlchemy's own DateTime parsing is several times slower per row).
        raw_due = type_coerce(RightsRequest.due_at, String)
        # Plain column reads on the connection: no ORM row processing for 100,000 rows.
        for org_id, due_at, kind in session.connection().execute(
            select(RightsRequest.organization_id, raw_due, RightsRequest.type).where(
                RightsRequest.organization_id.in_(orgs), RightsRequest.closed_at.is_(None)
            )
        ):
            when = due_at if isinstance(due_at, dt.datetime) else dt.datetime.fromisoformat(due_at)
            due[org_id].append(_micros(when))
            opt_outs[org_id] += kind in opt_out_types
        return {
            org: _Open(versions[org], array("q", sorted(due[org])), opt_outs[org]) for org in orgs
        }


# -- the requests, by due date -----------------------------------------------------------------
def encode_cursor(due_at: dt.datetime, request_id: int) -> str:
    text = f"{due_at.astimezone(dt.UTC).isoformat()}|{request_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    if len(cursor) > 100:
        raise DeskError("the page cursor is too long; start again from the first page")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, number = text.partition("|")
        due_at = dt.datetime.fromisoformat(when)
        request_id = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise DeskError("the page cursor is not one this desk gave; start again") from None
    if due_at.tzinfo is None or not 1 <= request_id <= 2_147_483_647:
        raise DeskError("the page cursor is not one this desk gave; start again")
    return due_at, request_id


@functools.lru_cache(maxsize=256)
def _page_statement(organizations: int, keyset: bool, overdue: bool, rows: int) -> Any:
    """The page's one statement for this many organizations, built once per shape (its values
    are bound parameters, so the database and SQLAlchemy reuse the compiled form): a UNION ALL
    of one keyset part per organization, each walking its own index range, and the earliest
    `rows` of them, ordered by the database."""
    due_type = RightsRequest.due_at.type
    parts = []
    for n in range(organizations):
        query = select(
            RightsRequest.due_at,
            RightsRequest.id,
            RightsRequest.organization_id,
            RightsRequest.reference,
            RightsRequest.type,
            RightsRequest.status,
        ).where(
            RightsRequest.organization_id == bindparam(f"org{n}"),
            RightsRequest.closed_at.is_(None),
        )
        if keyset:
            # A row-value comparison, not `due > d OR (due = d AND id > i)`: PostgreSQL starts
            # an index range scan at a row value, while the OR form is a filter over the range.
            query = query.where(
                tuple_(RightsRequest.due_at, RightsRequest.id)
                > tuple_(bindparam("due", type_=due_type), bindparam("last"))
            )
        if overdue:
            query = query.where(RightsRequest.due_at < bindparam("now", type_=due_type))
        parts.append(
            select(query.order_by(RightsRequest.due_at, RightsRequest.id).limit(rows).subquery())
        )
    combined = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    return select(combined).order_by(combined.c.due_at, combined.c.id).limit(rows)


def due_requests(
    session: Session,
    organizations: list[DeskOrganization],
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    overdue_only: bool = False,
    now: dt.datetime | None = None,
) -> Page:
    """One page of open requests across `organizations`, earliest due first."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise DeskError(f"a page holds 1 to {MAX_PAGE_SIZE} requests")
    now = now or utcnow()
    after = decode_cursor(cursor) if cursor else None
    by_id = {o.id: o for o in organizations}
    params: dict[str, Any] = {f"org{n}": org_id for n, org_id in enumerate(by_id)}
    if after is not None:
        params["due"], params["last"] = after
    if overdue_only:
        params["now"] = now
    if not by_id:
        return Page([], None)
    statement = _page_statement(len(by_id), after is not None, overdue_only, limit + 1)
    merged = [tuple(r) for r in session.execute(statement, params)]
    items = [
        DueItem(r[1], by_id[r[2]], r[3], r[4], r[5], _utc(r[0]), _utc(r[0]) < now)
        for r in merged[:limit]
    ]
    more = len(merged) > limit
    return Page(items, encode_cursor(items[-1].due_at, items[-1].id) if more else None)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def dnc_hints(
    session: Session,
    keys: Any,
    organizations: list[DeskOrganization],
    value: str,
    kind: str | None = None,
    now: dt.datetime | None = None,
) -> list[DeskOrganization]:
    """The organizations of this desk whose own company do-not-call list holds the identity
    (unexpired): "this number opted out at another client", a hint for BPO staff. Read here,
    written nowhere: no client's decisions or data change (a seller's list binds that seller
    only; see docs/bpo.md). Raises InvalidIdentity (its message never quotes the value)."""
    moment = now or utcnow()
    found = []
    for org in organizations:
        ref = identify(keys, org.id, value, kind)
        listed = session.scalar(
            select(CompanyDnc.id)
            .where(
                CompanyDnc.organization_id == org.id,
                CompanyDnc.identity_index == ref.index,
                CompanyDnc.expires_at > moment,
            )
            .limit(1)
        )
        if listed is not None:
            found.append(org)
    return found
