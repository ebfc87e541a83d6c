"""Request events: each state change gets a timeline entry and an audit entry (no values)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.rights.models import RequestEvent, RightsRequest

CONSUMER = Actor("consumer", "consumer")


def log_event(
    session: Session,
    request: RightsRequest,
    kind: str,
    actor: Actor,
    details: dict[str, Any] | None = None,
) -> RequestEvent:
    details = dict(details or {})
    event = RequestEvent(
        organization_id=request.organization_id,
        request_id=request.id,
        at=utcnow(),
        kind=kind,
        actor=actor.id,
        details=details,
    )
    session.add(event)
    append(
        session,
        request.organization_id,
        actor,
        f"rights.{kind}",
        "rights_request",
        request.id,
        {"type": request.type, **details},
    )
    return event


def events(session: Session, request: RightsRequest) -> list[RequestEvent]:
    return list(
        session.scalars(
            select(RequestEvent)
            .where(RequestEvent.request_id == request.id)
            .order_by(RequestEvent.id)
        )
    )
