"""The documents prepared for regulators, consumer reporting agencies and client controllers.

A regulator's is filled in the fields its state's form asks for, in the form's order (the
rules data's `breach_submission_forms`), with a sample of the notice its residents got; a
consumer reporting agency's gives the timing, distribution and content of the notices. Nothing
names a person: counts, dates, the categories and the staff's description only. Honorbound
prepares these; staff file them (and mark them submitted)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from honorbound.breach.confirmation import form_check, notice_checks
from honorbound.breach.deadlines import Obligation, RulesSource, incident_categories, incident_plan
from honorbound.breach.models import Audience, Incident, Notice
from honorbound.breach.notices import category_words, document_text, protection_for, render
from honorbound.breach.report import sent_per_state
from honorbound.breach.selection import counts_by_state
from honorbound.breach.wording import Wording


def _labels() -> dict[str, str]:
    text = resources.files("honorbound.breach").joinpath("templates/submission.en.yaml")
    data: dict[str, str] = yaml.safe_load(text.read_text("utf-8"))
    return data


LABELS = _labels()


def _day(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).date().isoformat() if value else None


def _methods(session: Session, incident_id: int, state: str) -> str:
    where = [Notice.incident_id == incident_id, Notice.audience == Audience.INDIVIDUAL.value]
    if state not in ("", "US"):
        where.append(Notice.state == state)
    rows = session.execute(
        select(Notice.channel, func.count()).where(*where).group_by(Notice.channel)
    ).all()
    found = Counter({("email" if c == "email" else "letter by mail"): int(n) for c, n in rows})
    return ", ".join(f"{k} ({v:,})" for k, v in sorted(found.items())) or "none sent yet"


def _individuals(obligations: list[Obligation], state: str) -> Obligation | None:
    return next((o for o in obligations if o.audience == "individuals" and o.state == state), None)


def submission_text(
    session: Session,
    rules: RulesSource,
    wording: Wording,
    incident: Incident,
    organization: str,
    notice: Notice,
) -> str:
    """The document for `notice` (a regulator, agency or client notice), ready to submit."""
    by_state = counts_by_state(session, incident.id)
    sent = sent_per_state(session, incident.id)
    rules, p = incident_plan(session, rules, incident, by_state, sent)
    total = sum(by_state.values())
    residents = by_state.get(notice.state, total)
    if notice.audience == Audience.OWNER.value:
        lines = [document_text(rules, incident, organization, notice, residents).rstrip(), ""]
        lines += ["Affected people by state of residence:"]
        lines += [f"  {s or '(unknown)'}: {n:,}" for s, n in by_state.items()]
        return "\n".join(lines) + "\n"
    agency = "consumer reporting" in notice.recipient.lower()
    form = rules.submission_form(notice.state, agency=agency)
    cats = incident_categories(incident)
    months = protection_for(rules, p, notice.state, cats)
    first = sent.get(notice.state) or (
        min(sent.values()) if notice.state == "US" and sent else None
    )
    due = _individuals(p.obligations, notice.state)
    missing = LABELS["not_recorded"]
    values: dict[str, Any] = {
        "organization": organization,
        "contact": incident.contact or missing,
        "date_breach_began": _day(incident.occurred_from) or "unknown (under investigation)",
        "date_breach_ended": _day(incident.occurred_to) or "unknown (under investigation)",
        "date_discovered": _day(incident.discovered_at),
        "date_individuals_notified": _day(first)
        or (f"not sent yet (due {_day(due.due_at)})" if due and due.due_at else "not sent yet"),
        "residents_affected": f"{residents:,}",
        "total_affected": f"{total:,}",
        "information_types": category_words(cats),
        "description": incident.description or missing,
        "notice_method": _methods(session, incident.id, notice.state),
        "identity_protection": f"{months} months, at no cost" if months else "none required",
        "encrypted": ("yes" if incident.encrypted else "no")
        + (" (the key was compromised)" if incident.key_compromised else ""),
        "steps_taken": missing,
        "law_enforcement_delay": missing,
        "notice_sample": "attached below" if form.attach_notice_sample else "not asked for",
    }
    where = f" ({notice.state})" if notice.state else ""
    lines = [
        f"To: {notice.recipient}{where}",
        f"From: {organization}",
        f"Re: data security incident {incident.id}: {incident.title}",
    ]
    # For staff, before they file it: what here no source confirms (confirmation.py).
    check = form_check(rules, notice.state, agency)
    duty = next(
        (o for o in p.required() if o.state == notice.state and o.who == notice.recipient), None
    )
    flag = "" if check.confirmed else " (UNVERIFIED: confirm with counsel before relying on it)"
    if form.submit:
        lines.append(f"Submit: {form.submit}{flag}")
    lines += [f"Form fields per: {form.source}", f"Form fields: {check.status}"]
    if duty is not None:
        lines.append(
            f"Deadline: {_day(duty.due_at) or 'none fixed'} ({duty.rule}); {duty.confidence}"
        )
    doubtful = [c for c in notice_checks(rules, notice.state) if not c.confirmed]
    if form.attach_notice_sample and doubtful:
        lines.append(
            "Sample notice content UNVERIFIED (confirm with counsel): "
            + "; ".join(c.item for c in doubtful)
            + ". Agencies whose contact details are unverified are named without them."
        )
    lines.append("")
    lines += [f"{LABELS[name]}: {values[name]}" for name in form.fields]
    if form.attach_notice_sample:
        sample = render(
            rules, wording, incident, organization, notice.state if notice.state != "US" else "",
            cats, months,
        )  # fmt: skip
        lines += ["", "--- Sample of the notice to residents (no person's details) ---", ""]
        lines.append(sample.text().rstrip())
    return "\n".join(lines) + "\n"
