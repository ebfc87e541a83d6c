"""The incident record: one function per write, each with its own audit action.

The audit entry names the fields that changed (and the new status), never their text: a
description is staff's words and may one day quote something it should not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach.errors import BreachInputError, IncidentNotFound
from honorbound.breach.models import Incident, IncidentStatus
from honorbound.db.base import utcnow

OBJECT = "breach_incident"
TEXT_FIELDS = {"title": 200, "description": 20_000, "owner": 200, "contact": 500}
LIST_FIELDS = ("systems", "categories", "clients")
FLAG_FIELDS = ("encrypted", "key_compromised", "health_data_covered")
TIME_FIELDS = ("discovered_at", "occurred_from", "occurred_to")
FIELDS = (*TEXT_FIELDS, *LIST_FIELDS, *FLAG_FIELDS, *TIME_FIELDS, "status")
# How far ahead of the server's clock a discovery time may be (clock skew), no more.
FUTURE_SLACK = dt.timedelta(minutes=5)


# The earliest time an incident or a selection window may name: nothing in a vault is older,
# and it keeps every deadline computed from it inside the calendar.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_TIME_TEXT = 64


def parse_time(field: str, value: Any, now: dt.datetime | None = None) -> dt.datetime | None:
    """A date and time from an API body or a CLI option, in UTC; `now` given: not after it
    (beyond clock skew). Every time field of breach response is read here."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_TIME_TEXT:
            raise BreachInputError(field, "is not an ISO 8601 date and time")
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise BreachInputError(field, "is not an ISO 8601 date and time") from None
    if not isinstance(value, dt.datetime):
        raise BreachInputError(field, "is not a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise BreachInputError(field, "needs a time zone (e.g. 2026-11-30T09:00:00Z)")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 pushed off the calendar by its offset
        raise BreachInputError(field, "is outside the calendar") from None
    if utc < EARLIEST:
        raise BreachInputError(field, "is before 1970")
    if now is not None and utc > now + FUTURE_SLACK:
        raise BreachInputError(field, "is in the future")
    return utc


MAX_NAMES = 200
MAX_NAME = 200
MULTILINE = {"description", "contact"}


def check_text(field: str, value: Any, limit: int, *, lines: bool = False) -> str:
    """Text a person typed, stripped; refused when it is not text, too long, not encodable as
    UTF-8 (a lone surrogate: the database cannot store it) or holding control characters
    (NUL is refused by PostgreSQL; the others garble notices). `lines`: newlines and tabs are
    allowed (a description)."""
    if not isinstance(value, str):
        raise BreachInputError(field, "is text")
    text = value.strip()
    if len(text) > limit:
        raise BreachInputError(field, f"is longer than {limit} characters")
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise BreachInputError(field, "is not valid Unicode text (it holds a lone surrogate)")
    allowed = "\t\n\r" if lines else ""
    if any((c < " " or "\x7f" <= c <= "\x9f") and c not in allowed for c in text):
        raise BreachInputError(field, "holds a control character")
    return text


def _clean(values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise BreachInputError(unknown[0], "is not a field of an incident")
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in TEXT_FIELDS:
            value = "" if value is None else value
            out[name] = check_text(name, value, TEXT_FIELDS[name], lines=name in MULTILINE)
        elif name in LIST_FIELDS:
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise BreachInputError(name, "is a list of names")
            # The same bounds as the API's (200 names of at most 200 characters), for the CLI.
            if len(value) > MAX_NAMES:
                raise BreachInputError(name, f"has more than {MAX_NAMES} entries")
            if any(len(v) > MAX_NAME for v in value):
                raise BreachInputError(name, f"has an entry longer than {MAX_NAME} characters")
            names = [check_text(name, v, MAX_NAME) for v in value]
            out[name] = sorted({v for v in names if v})
        elif name in FLAG_FIELDS:
            if not isinstance(value, bool):
                raise BreachInputError(name, "is true or false")
            out[name] = value
        elif name in TIME_FIELDS:
            out[name] = parse_time(name, value, now)
        elif name == "status":
            try:
                out[name] = IncidentStatus(value).value
            except ValueError:
                choices = ", ".join(s.value for s in IncidentStatus)
                raise BreachInputError("status", f"is one of {choices}") from None
    return out


def _check(incident: Incident) -> None:
    if incident.discovered_at is None:
        raise BreachInputError(
            "discovered_at", "is required: every deadline runs from the time of discovery"
        )
    if not incident.title:
        raise BreachInputError("title", "is required")
    if not incident.owner:
        raise BreachInputError("owner", "is required: name who runs the response")
    start, end = incident.occurred_from, incident.occurred_to
    if start is not None and end is not None and end < start:
        raise BreachInputError("occurred_to", "is before occurred_from")
    if incident.key_compromised and not incident.encrypted:
        raise BreachInputError("key_compromised", "only applies to encrypted data")


def create_incident(
    session: Session, organization_id: int, values: dict[str, Any], actor: Actor
) -> Incident:
    """Record a newly discovered incident. `discovered_at` is required."""
    now = utcnow()
    clean = _clean(values, now)
    incident = Incident(
        organization_id=organization_id,
        title=clean.get("title", ""),
        description=clean.get("description", ""),
        discovered_at=clean.get("discovered_at"),
        occurred_from=clean.get("occurred_from"),
        occurred_to=clean.get("occurred_to"),
        systems=clean.get("systems", []),
        categories=clean.get("categories", []),
        clients=clean.get("clients", []),
        encrypted=clean.get("encrypted", False),
        key_compromised=clean.get("key_compromised", False),
        health_data_covered=clean.get("health_data_covered", False),
        status=clean.get("status", IncidentStatus.OPEN.value),
        owner=clean.get("owner", ""),
        contact=clean.get("contact", ""),
        selection={},
        created_at=now,
        updated_at=now,
    )
    _check(incident)
    session.add(incident)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "breach.incident_recorded",
        OBJECT,
        incident.id,
        {"fields": sorted(clean), "status": incident.status, "encrypted": incident.encrypted},
    )
    return incident


def update_incident(
    session: Session, organization_id: int, incident_id: int, values: dict[str, Any], actor: Actor
) -> Incident:
    """Change fields of an incident; every change is one audit entry naming the fields."""
    incident = get_incident(session, organization_id, incident_id)
    clean = _clean(values, utcnow())
    changed = sorted(k for k, v in clean.items() if getattr(incident, k) != v)
    for name in changed:
        setattr(incident, name, clean[name])
    _check(incident)
    if not changed:
        return incident
    incident.updated_at = utcnow()
    session.flush()
    details: dict[str, Any] = {"fields": changed}
    if "status" in changed:
        details["status"] = incident.status
    append(session, organization_id, actor, "breach.incident_changed", OBJECT, incident.id, details)
    return incident


def get_incident(session: Session, organization_id: int, incident_id: int) -> Incident:
    # An id no database integer can hold (the CLI takes any integer) is no incident either.
    if not 0 < incident_id < 2**63:
        raise IncidentNotFound(f"no incident {incident_id} in this organization")
    incident = session.get(Incident, incident_id)
    if incident is None or incident.organization_id != organization_id:
        raise IncidentNotFound(f"no incident {incident_id} in this organization")
    return incident


def list_incidents(session: Session, organization_id: int, limit: int = 200) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.organization_id == organization_id)
            .order_by(Incident.discovered_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    )
