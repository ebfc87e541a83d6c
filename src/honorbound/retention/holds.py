"""Legal holds: what they cover stays, whatever the retention rules say, until released.

Releasing a hold does not dispose of anything by itself: what it covered becomes due again and
the next sweep takes it (if a rule says it is due).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.models import LegalHold
from honorbound.retention.rules import INTERACTION_PARTS
from honorbound.vault.models import Interaction, Record, Subject

_CATEGORY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def place_hold(
    session: Session,
    organization_id: int,
    actor: Actor,
    *,
    reason: str,
    owner: str,
    subject_id: int | None = None,
    category: str | None = None,
    collected_from: dt.datetime | None = None,
    collected_to: dt.datetime | None = None,
) -> LegalHold:
    """Place a hold. With no subject, category or time range it holds the whole organization."""
    if not reason.strip():
        raise RetentionInputError(
            "reason", "reason is required (e.g. 'litigation hold, case 24-117')"
        )
    if len(reason) > 500:
        raise RetentionInputError("reason", "reason must be at most 500 characters")
    if not owner.strip():
        raise RetentionInputError("owner", "owner is required: who answers for this hold")
    if len(owner) > 200:
        raise RetentionInputError("owner", "owner must be at most 200 characters")
    if category is not None and not _CATEGORY.match(category):
        raise RetentionInputError(
            "category", "category must be a taxonomy key such as 'user.contact.email'"
        )
    for name, value in (("collected_from", collected_from), ("collected_to", collected_to)):
        if value is not None and value.tzinfo is None:
            raise RetentionInputError(name, f"{name} needs a time zone (e.g. 'Z')")
    if collected_from and collected_to and collected_from > collected_to:
        raise RetentionInputError("collected_to", "collected_to is before collected_from")
    if subject_id is not None:
        found = session.scalar(
            select(Subject.id).where(
                Subject.id == subject_id, Subject.organization_id == organization_id
            )
        )
        if found is None:
            raise RetentionInputError(
                "subject_id", "no subject with that id in this organization", 404
            )
    hold = LegalHold(
        organization_id=organization_id,
        subject_id=subject_id,
        category=category,
        collected_from=collected_from,
        collected_to=collected_to,
        reason=reason.strip(),
        owner=owner.strip(),
        placed_by=actor.id,
        placed_at=utcnow(),
    )
    session.add(hold)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "retention.hold_placed",
        "legal_hold",
        hold.id,
        {
            "subject_id": subject_id,
            "category": category,
            "time_range": bool(collected_from or collected_to),
        },
    )
    return hold


def get_hold(session: Session, organization_id: int, hold_id: int) -> LegalHold:
    hold = session.scalar(
        select(LegalHold).where(
            LegalHold.id == hold_id, LegalHold.organization_id == organization_id
        )
    )
    if hold is None:
        raise RetentionInputError("hold_id", "no legal hold with that id in this organization", 404)
    return hold


def release_hold(
    session: Session, organization_id: int, hold_id: int, actor: Actor, reason: str
) -> LegalHold:
    """Release a hold; what it covered is due again at the next sweep."""
    hold = get_hold(session, organization_id, hold_id)
    if not reason.strip():
        raise RetentionInputError("reason", "say why the hold is released (e.g. 'case settled')")
    if hold.released_at is not None:
        raise RetentionInputError("hold_id", "that hold is already released", 409)
    hold.released_at = utcnow()
    hold.released_by = actor.id
    hold.release_reason = reason.strip()[:500]
    append(session, organization_id, actor, "retention.hold_released", "legal_hold", hold.id, {})
    return hold


def list_holds(
    session: Session, organization_id: int, include_released: bool = False
) -> list[LegalHold]:
    query = select(LegalHold).where(LegalHold.organization_id == organization_id)
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.scalars(query.order_by(LegalHold.id)))


def record_clause(hold: LegalHold) -> ColumnElement[bool]:
    """True for the vault records this hold covers."""
    parts: list[ColumnElement[bool]] = []
    if hold.subject_id is not None:
        parts.append(Record.subject_id == hold.subject_id)
    if hold.category is not None:
        parts.append(
            or_(Record.category == hold.category, Record.category.like(hold.category + ".%"))
        )
    if hold.collected_from is not None:
        parts.append(Record.collected_at >= hold.collected_from)
    if hold.collected_to is not None:
        parts.append(Record.collected_at <= hold.collected_to)
    return and_(true(), *parts) if parts else true()


def records_held(holds: list[LegalHold]) -> ColumnElement[bool]:
    """True for records any of `holds` covers."""
    if not holds:
        return false()
    return or_(*(record_clause(h) for h in holds))


def subjects_held(holds: list[LegalHold]) -> ColumnElement[bool]:
    """True for subjects that may not be erased: held themselves, or holding a held record."""
    if not holds:
        return false()
    parts: list[ColumnElement[bool]] = []
    for hold in holds:
        if hold.category is None and hold.collected_from is None and hold.collected_to is None:
            parts.append(true() if hold.subject_id is None else Subject.id == hold.subject_id)
        else:
            parts.append(
                exists().where(
                    Record.organization_id == Subject.organization_id,
                    Record.subject_id == Subject.id,
                    record_clause(hold),
                )
            )
            if (
                hold.category is None
                or "user.contact_center".startswith(hold.category)
                or any(p.startswith(hold.category) for p in INTERACTION_PARTS)
            ):
                parts.append(
                    exists().where(
                        Interaction.organization_id == Subject.organization_id,
                        Interaction.subject_id == Subject.id,
                        *(
                            [Interaction.started_at >= hold.collected_from]
                            if hold.collected_from
                            else []
                        ),
                        *(
                            [Interaction.started_at <= hold.collected_to]
                            if hold.collected_to
                            else []
                        ),
                        *([Interaction.subject_id == hold.subject_id] if hold.subject_id else []),
                    )
                )
    return or_(*parts)


def interactions_held(holds: list[LegalHold], part: str) -> ColumnElement[bool]:
    """True for interactions whose `part` (a category key such as
    `user.contact_center.call_recording`) any of `holds` covers."""
    parts: list[ColumnElement[bool]] = []
    for hold in holds:
        if hold.category is not None and not (
            part == hold.category or part.startswith(hold.category + ".")
        ):
            continue
        conds: list[ColumnElement[bool]] = []
        if hold.subject_id is not None:
            conds.append(Interaction.subject_id == hold.subject_id)
        if hold.collected_from is not None:
            conds.append(Interaction.started_at >= hold.collected_from)
        if hold.collected_to is not None:
            conds.append(Interaction.started_at <= hold.collected_to)
        parts.append(and_(true(), *conds) if conds else true())
    return or_(*parts) if parts else false()
