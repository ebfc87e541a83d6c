"""Which rights requests came by protocol, and the hook that reports their changes.

The rights package calls `status_changed` after it carries out or denies a request; the
report itself (`report.report_changes`) runs as a job after the change commits, so a slow
agent or controller never holds the unit of work. Requests closed another way (the sweep,
an answer from staff) are reported by the same job run every minute by the worker.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from honorbound.rights.context import Services
from honorbound.rights.models import RightsRequest
from honorbound.rights.outgoing import defer_job
from honorbound.rights.protocols import REPORT_JOB
from honorbound.rights.protocols.models import DrpRequest, OpenDsrRequest, ProcessorForward


def linked(session: Session, rights_request_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(DrpRequest.rights_request_id == rights_request_id),
                    exists().where(OpenDsrRequest.rights_request_id == rights_request_id),
                    exists().where(ProcessorForward.rights_request_id == rights_request_id),
                )
            )
        )
    )


def report_soon(session: Session, svc: Services, request: RightsRequest) -> None:
    """Queue the report of this request when the unit of work commits."""
    if svc.jobs is not None:
        defer_job(
            session,
            svc,
            REPORT_JOB,
            {"organization_id": request.organization_id, "rights_request_id": request.id},
            request.organization_id,
        )


def status_changed(session: Session, svc: Services, request: RightsRequest) -> None:
    if linked(session, request.id):
        report_soon(session, svc, request)
