"""Per-organization contact overrides: a client's counsel may set calling hours stricter than
the law (e.g. 09:00-20:00 where the law allows 08:00-21:00). The law's windows still apply on
top; the override only takes hours away, and one that reaches outside the federal window is
refused, so an override can never make a call legal that the law forbids.

Read by the decision engine for every batch of the organization (one primary-key read); set
by a BPO administrator for one of its clients (`/v1/clients/{id}/overrides`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.audit import Actor, append
from honorbound.consent.rules import ContactRules
from honorbound.db.base import Base, utcnow
from honorbound.errors import FieldError

MAX_NOTE = 500
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ContactOverride(Base):
    __tablename__ = "consent_contact_overrides"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    calling_start: Mapped[str] = mapped_column(String(5))  # "09:00", the callee's local time
    calling_end: Mapped[str] = mapped_column(String(5))
    note: Mapped[str] = mapped_column(String(MAX_NOTE), default="")  # the counsel position
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class OverrideError(FieldError, ValueError):
    """A client's contact override that cannot be used; `field` names the input."""

    title = "Invalid override"


@dataclass(frozen=True)
class CallingHours:
    start: dt.time
    end: dt.time


def federal_window(rules: ContactRules) -> tuple[dt.time, dt.time]:
    """The federal voice window of the contact rules (the `*` row): the widest any override
    may be."""
    for window in rules.calling_hours:
        if window.state == "*" and "voice" in window.channels:
            return window.start, window.end
    raise OverrideError("calling_hours", "the contact rules have no federal calling window")


def _time(value: str, field: str) -> dt.time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise OverrideError(field, f"{field} must be a time as HH:MM (24-hour), e.g. 09:00")
    return dt.time.fromisoformat(value)


def check_calling_hours(rules: ContactRules, start: str, end: str) -> CallingHours:
    """Parse and check a window: it must end after it starts and lie inside the federal
    window (stricter than the law, never looser)."""
    begin, finish = _time(start, "calling_hours.start"), _time(end, "calling_hours.end")
    if finish <= begin:
        raise OverrideError("calling_hours.end", "calling_hours.end must be after the start")
    low, high = federal_window(rules)
    if begin < low or finish > high:
        raise OverrideError(
            "calling_hours",
            f"a client's calling hours can only be stricter than the law: the federal window "
            f"is {low:%H:%M}-{high:%H:%M}; choose hours inside it",
        )
    return CallingHours(begin, finish)


def set_calling_hours(
    session: Session,
    organization_id: int,
    rules: ContactRules,
    start: str,
    end: str,
    note: str,
    actor: Actor,
) -> ContactOverride:
    hours = check_calling_hours(rules, start, end)
    if len(note) > MAX_NOTE:
        raise OverrideError("note", f"note is longer than {MAX_NOTE} characters")
    row = session.get(ContactOverride, organization_id)
    if row is None:
        row = ContactOverride(organization_id=organization_id)
        session.add(row)
    row.calling_start, row.calling_end = f"{hours.start:%H:%M}", f"{hours.end:%H:%M}"
    row.note, row.updated_at, row.updated_by = note, utcnow(), actor.id
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "consent.calling_hours_overridden",
        "contact_override",
        organization_id,
        {"start": row.calling_start, "end": row.calling_end},
    )
    return row


def clear(session: Session, organization_id: int, actor: Actor) -> bool:
    row = session.get(ContactOverride, organization_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "consent.calling_hours_override_cleared",
        "contact_override",
        organization_id,
        {},
    )
    return True


def calling_hours_of(session: Session, organization_id: int) -> CallingHours | None:
    row = session.get(ContactOverride, organization_id)
    if row is None:
        return None
    start, end = dt.time.fromisoformat(row.calling_start), dt.time.fromisoformat(row.calling_end)
    return CallingHours(start, end)


def inside(hours: CallingHours, at: dt.datetime, zones: tuple[str, ...]) -> bool:
    """True when `at` is inside the window in every one of the callee's possible zones (the
    conservative reading the law's windows get too)."""
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone)).time()
        if not (hours.start <= local < hours.end):
            return False
    return True
