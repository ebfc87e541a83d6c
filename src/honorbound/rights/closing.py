"""Finding a request and closing it: the one place a request gets its final status and response."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.rights.errors import RequestNotFound
from honorbound.rights.models import OPEN_STATUSES, DenialBasis, Response, RightsRequest, Status
from honorbound.rights.timeline import log_event


def get_request(session: Session, organization_id: int, request_id: int) -> RightsRequest:
    request = session.scalar(
        select(RightsRequest).where(
            RightsRequest.id == request_id, RightsRequest.organization_id == organization_id
        )
    )
    if request is None:
        raise RequestNotFound("no rights request with that id in this organization")
    return request


def is_open(request: RightsRequest) -> bool:
    return request.status in {s.value for s in OPEN_STATUSES}


def close(
    session: Session,
    request: RightsRequest,
    response: Response,
    actor: Actor,
    note: str = "",
    basis: DenialBasis | None = None,
) -> None:
    request.status = (Status.DENIED if response is Response.DENIED else Status.COMPLETED).value
    request.response = response.value
    request.denial_basis = basis.value if basis else None
    request.response_note = note or None
    request.closed_at = utcnow()
    log_event(
        session,
        request,
        "denied" if response is Response.DENIED else "completed",
        actor,
        {"response": response.value, "basis": basis.value if basis else None},
    )
