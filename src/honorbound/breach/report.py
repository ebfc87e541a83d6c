"""The incident's timeline (from its audit entries) and a regulator-ready summary: counts per
state, every deadline with its source and whether it was met, and the notices sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit.models import AuditEntry
from honorbound.breach.confirmation import Check, incident_checks, unverified
from honorbound.breach.deadlines import Obligation, Plan, RulesSource, incident_plan
from honorbound.breach.incidents import OBJECT, get_incident
from honorbound.breach.models import Audience, Incident, Notice
from honorbound.breach.notices import delivery_counts
from honorbound.breach.selection import counts_by_state
from honorbound.db.base import utcnow
from honorbound.notify.models import OutboxMessage


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    action: str
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Summary:
    incident: Incident
    by_state: dict[str, int]
    total: int
    plan: Plan
    first_notice: dict[str, dt.datetime]  # per state, when the first individual notice went out
    delivery: dict[str, dict[str, int]]
    documents: list[Notice]
    timeline: list[Event] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=utcnow)
    # Every rule the plan, the notices and the documents rely on, confirmed or unverified.
    checks: list[Check] = field(default_factory=list)

    def met(self, o: Obligation) -> bool | None:
        """Whether a dated duty to individuals was met (None: nothing to compare yet)."""
        if o.audience != "individuals" or o.due_at is None or not o.required:
            return None
        sent = self.first_notice.get(o.state)
        if sent is None:
            return False if self.generated_at > o.due_at else None
        return sent <= o.due_at


def timeline(session: Session, organization_id: int, incident_id: int) -> list[Event]:
    rows = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.organization_id == organization_id,
            AuditEntry.object_type == OBJECT,
            AuditEntry.object_id == str(incident_id),
        )
        .order_by(AuditEntry.seq)
    )
    return [Event(e.at, e.action, e.actor, dict(e.details)) for e in rows]


def sent_per_state(session: Session, incident_id: int) -> dict[str, dt.datetime]:
    """When each state's first individual notice left (email sent, or a letter submitted)."""
    out: dict[str, dt.datetime] = {}
    rows = session.execute(
        select(
            Notice.state, Notice.channel, Notice.status, Notice.created_at, OutboxMessage.sent_at
        )
        .outerjoin(OutboxMessage, OutboxMessage.id == Notice.outbox_message_id)
        .where(Notice.incident_id == incident_id, Notice.audience == Audience.INDIVIDUAL.value)
    ).all()
    for state, channel, status, created_at, sent_at in rows:
        when = sent_at if channel == "email" else (created_at if status == "submitted" else None)
        if when is not None and (state not in out or when < out[state]):
            out[state] = when
    return out


def summary(
    session: Session, rules: RulesSource, organization_id: int, incident_id: int
) -> Summary:
    incident = get_incident(session, organization_id, incident_id)
    by_state = counts_by_state(session, incident.id)
    first = sent_per_state(session, incident.id)
    documents = list(
        session.scalars(
            select(Notice)
            .where(Notice.incident_id == incident.id, Notice.audience != Audience.INDIVIDUAL.value)
            .order_by(Notice.id)
        )
    )
    rules, p = incident_plan(session, rules, incident, by_state, first)
    return Summary(
        incident=incident,
        by_state=by_state,
        total=sum(by_state.values()),
        plan=p,
        checks=incident_checks(rules, p),
        first_notice=first,
        delivery=delivery_counts(session, incident.id),
        documents=documents,
        timeline=timeline(session, organization_id, incident.id),
    )


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def as_text(s: Summary) -> str:
    """The summary as plain text, for a regulator's form or the incident file."""
    i = s.incident
    lines = [
        f"Data security incident {i.id}: {i.title}",
        f"Status: {i.status}; owner: {i.owner}",
        f"Discovered: {_when(i.discovered_at)}",
        f"Took place: {_when(i.occurred_from)} to {_when(i.occurred_to)}",
        f"Encrypted: {'yes' if i.encrypted else 'no'}"
        + ("; key compromised" if i.key_compromised else ""),
        f"People affected: {s.total:,}",
        "",
        "Affected residents by state:",
    ]
    lines += [f"  {state or '(unknown)'}: {n:,}" for state, n in s.by_state.items()]
    searched = i.selection.get("connected_search") or []
    if searched:
        lines += ["", "Connected systems:"]
    for x in searched:
        if x["searched"]:
            told = (
                "kept sealed for this incident's notices"
                if i.selection.get("notify_unknown")
                else "not notified until collected"
            )
            lines.append(
                f"  {x['system']} ({x['type']}): {x['rows']:,} row(s) read, {x['in_vault']:,} "
                f"people selected from the vault, {x['not_in_vault']:,} identity value(s) the "
                f"vault does not hold ({told}); {x['reason']}"
            )
            for n in x.get("not_read") or []:
                lines.append(f"    not read: {n['file']}: {n['why']}")
            if x.get("not_read_more"):
                lines.append(f"    not read: {x['not_read_more']:,} more file(s)")
        else:
            lines.append(f"  {x['system']} ({x['type']}): NOT SEARCHED: {x['reason']}")
    if i.selection.get("not_in_vault_kept"):
        lines.append(
            f"  People found only in connected systems, kept to be notified: "
            f"{i.selection['not_in_vault_kept']:,} (counted above by state; "
            "'(unknown)' where the system holds no state)"
        )
    lines += ["", "Deadlines:"]
    for o in s.plan.obligations:
        flag = "required" if o.required else "not required"
        met = s.met(o)
        tail = "" if met is None else ("; met" if met else "; MISSED")
        lines.append(
            f"  [{o.state or '?'}] {o.who}: {flag}; due {_when(o.due_at)} ({o.rule}); "
            f"{o.reason}{tail}; source: {o.source}; {o.confidence}"
        )
    doubtful = unverified(s.checks)
    lines += [
        "",
        f"Rules relied on: {len(s.checks) - len(doubtful)} confirmed against the reference, "
        f"{len(doubtful)} UNVERIFIED (no source confirms them: confirm with counsel before "
        "relying on them):",
    ]
    lines += [unverified_line(c) for c in doubtful]
    lines += ["", "Notices to people (per state, channel:status):"]
    for state, counts in s.delivery.items():
        lines.append(
            f"  {state or '(unknown)'}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
    lines += ["", "Documents to regulators and clients:"]
    lines += [f"  {d.recipient} ({d.state}): {d.status}" for d in s.documents] or ["  none"]
    lines += ["", "Timeline:"]
    lines += [f"  {_when(e.at)} {e.action} by {e.actor}" for e in s.timeline]
    return "\n".join(lines) + "\n"


def unverified_line(c: Check) -> str:
    shown = f" [{c.details}]" if c.details else ""
    return f"  UNVERIFIED {c.kind} [{c.state or '?'}] {c.item}{shown}; source: {c.source}"


def pending(s: Summary) -> list[Obligation]:
    """Required, dated duties not done yet, soonest first: individual notices of a state with
    none sent, documents not yet submitted."""
    submitted = {(d.state, d.recipient) for d in s.documents if d.status == "submitted"}
    out = []
    for o in s.plan.required():
        if o.due_at is None:
            continue
        if o.audience == "individuals" and (o.state in s.first_notice or o.state == "US"):
            continue
        if o.audience != "individuals" and (o.state, o.who) in submitted:
            continue
        out.append(o)
    return sorted(out, key=lambda o: o.due_at or s.incident.discovered_at)


@dataclass(frozen=True)
class Clock:
    """One open incident's next duty, for the console's dashboard."""

    incident_id: int
    title: str
    status: str
    affected: int
    next: Obligation | None
    due_soon: int  # duties due within `soon`, the reminder


def open_clocks(
    session: Session,
    rules: RulesSource,
    organization_id: int,
    now: dt.datetime,
    soon: dt.timedelta = dt.timedelta(hours=72),
) -> list[Clock]:
    rows = session.scalars(
        select(Incident)
        .where(Incident.organization_id == organization_id, Incident.status != "closed")
        .order_by(Incident.discovered_at)
        .limit(50)
    )
    out = []
    for incident in rows:
        s = summary(session, rules, organization_id, incident.id)
        todo = pending(s)
        out.append(
            Clock(
                incident.id, incident.title, incident.status, s.total,
                todo[0] if todo else None,
                sum(1 for o in todo if o.due_at is not None and o.due_at <= now + soon),
            )
        )  # fmt: skip
    return out
