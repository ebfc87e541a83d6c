"""Sub-processors per client: the companies a BPO (the processor) passes a client's personal
data to (a dialer vendor, a cloud host, a transcription service), with what they do, where,
and which data categories.

State laws (CT, CO, OR and most newer ones) require subcontractors under written contract and
give the controller a chance to object; CCPA 11 CCR 7051 binds a service provider's
subcontractors (rules-review-2026-12 s.5). So every change (added, removed) is sent to the
client's privacy contact as a change notice naming the objection deadline, the register is
shown on the client's public notice page, and it is listed in every access package.
The objection window is the contract's term (default 30 days), not a legal number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.audit import Actor, append
from honorbound.crypto.keyring import KeyRing
from honorbound.db.base import Base, utcnow
from honorbound.errors import FieldError
from honorbound.notify import outbox
from honorbound.notify.models import Channel

MAX_NAME, MAX_PURPOSE, MAX_LOCATION = 200, 500, 100
MAX_CATEGORIES, MAX_CATEGORY = 50, 100
DEFAULT_OBJECTION_DAYS = 30


class Subprocessor(Base):
    __tablename__ = "subprocessors"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    purpose: Mapped[str] = mapped_column(String(MAX_PURPOSE))
    location: Mapped[str] = mapped_column(String(MAX_LOCATION))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class SubprocessorError(FieldError, ValueError):
    """A sub-processor entry that cannot be used; `field` names the input."""

    title = "Invalid sub-processor"


@dataclass(frozen=True)
class Change:
    subprocessor: Subprocessor
    notice_id: int  # the outbox message to the client's privacy contact
    objection_deadline: dt.date


def _text(value: str, field: str, limit: int) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise SubprocessorError(field, f"{field} is empty")
    if len(cleaned) > limit:
        raise SubprocessorError(field, f"{field} is longer than {limit} characters")
    return cleaned


def out(row: Subprocessor) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "purpose": row.purpose,
        "location": row.location,
        "categories": list(row.categories),
        "added_at": row.added_at.isoformat(),
    }


def current(session: Session, organization_id: int) -> list[Subprocessor]:
    return list(
        session.scalars(
            select(Subprocessor)
            .where(
                Subprocessor.organization_id == organization_id, Subprocessor.removed_at.is_(None)
            )
            .order_by(Subprocessor.name, Subprocessor.id)
        )
    )


def _notify(
    session: Session,
    keys: KeyRing,
    jobs: outbox.Enqueuer | None,
    organization_id: int,
    contact: str,
    what: str,
    row: Subprocessor,
    objection_days: int,
    actor: Actor,
) -> tuple[int, dt.date]:
    deadline = (utcnow() + dt.timedelta(days=objection_days)).date()
    remaining = ", ".join(s.name for s in current(session, organization_id)) or "none"
    body = (
        f"Sub-processor change notice: {what} {row.name}.\n\n"
        f"Purpose: {row.purpose}\nLocation: {row.location}\n"
        f"Data categories: {', '.join(row.categories) or 'none named'}\n\n"
        f"You may object to this change until {deadline.isoformat()} ({objection_days} days, "
        "per our contract) by replying to this message.\n\n"
        f"Current sub-processors: {remaining}\n"
    )
    message = outbox.put(
        session,
        keys,
        jobs,
        organization_id,
        Channel.EMAIL,
        "subprocessors.changed",
        contact,
        body,
        subject=f"Sub-processor change: {what} {row.name}",
        actor=actor,
    )
    return message.id, deadline


def _check_days(objection_days: int) -> int:
    if not 0 <= objection_days <= 365:
        raise SubprocessorError("objection_days", "objection_days must be between 0 and 365")
    return objection_days


def add(
    session: Session,
    keys: KeyRing,
    jobs: outbox.Enqueuer | None,
    organization_id: int,
    contact: str,
    name: str,
    purpose: str,
    location: str,
    categories: list[str],
    actor: Actor,
    objection_days: int = DEFAULT_OBJECTION_DAYS,
) -> Change:
    """Register a sub-processor for the organization and send the change notice."""
    days = _check_days(objection_days)
    if not contact:
        raise SubprocessorError("privacy_contact", "the client has no privacy contact to notify")
    if len(categories) > MAX_CATEGORIES:
        raise SubprocessorError("categories", f"at most {MAX_CATEGORIES} categories")
    cleaned = [_text(c, "categories", MAX_CATEGORY) for c in categories]
    row = Subprocessor(
        organization_id=organization_id,
        name=_text(name, "name", MAX_NAME),
        purpose=_text(purpose, "purpose", MAX_PURPOSE),
        location=_text(location, "location", MAX_LOCATION),
        categories=list(dict.fromkeys(cleaned)),
    )
    session.add(row)
    session.flush()
    notice_id, deadline = _notify(
        session, keys, jobs, organization_id, contact, "added", row, days, actor
    )
    append(
        session,
        organization_id,
        actor,
        "subprocessor.added",
        "subprocessor",
        row.id,
        {"name": row.name, "objection_deadline": deadline.isoformat()},
    )
    return Change(row, notice_id, deadline)


def remove(
    session: Session,
    keys: KeyRing,
    jobs: outbox.Enqueuer | None,
    organization_id: int,
    contact: str,
    subprocessor_id: int,
    actor: Actor,
    objection_days: int = DEFAULT_OBJECTION_DAYS,
) -> Change:
    """Take a sub-processor off the register (kept, with its removal time) and notify."""
    days = _check_days(objection_days)
    row = session.get(Subprocessor, subprocessor_id)
    if row is None or row.organization_id != organization_id or row.removed_at is not None:
        raise LookupError("no such sub-processor")
    row.removed_at = utcnow()
    session.flush()
    notice_id, deadline = _notify(
        session, keys, jobs, organization_id, contact, "removed", row, days, actor
    )
    append(
        session,
        organization_id,
        actor,
        "subprocessor.removed",
        "subprocessor",
        row.id,
        {"name": row.name},
    )
    return Change(row, notice_id, deadline)
