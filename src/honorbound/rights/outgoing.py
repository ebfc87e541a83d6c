"""Sending the consumer's mail through the outbox, and the links it carries.

Jobs (message delivery, request execution) are queued just before the unit of work commits,
after its last audit entry: the audit log writes each entry in a SAVEPOINT, and SQLAlchemy
fires `after_commit` for SAVEPOINTs too, so a job queued earlier in the transaction would be
sent to the queue before the transaction commits (the job queue listens to `after_commit`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.notify.models import Channel
from honorbound.notify.outbox import DELIVER_JOB, PersonKey, person_key, put
from honorbound.rights.context import Services
from honorbound.rights.messages import Mail
from honorbound.rights.models import RightsRequest
from honorbound.rights.sealing import open_value
from honorbound.vault.models import Subject, SubjectStatus

_DEFERRED = "rights.deferred_jobs"
EXECUTE_JOB = "rights.execute"


def _enqueue_deferred(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for jobs, name, payload, organization_id in session.info.pop(_DEFERRED, []):
        jobs.enqueue(session, name, payload, organization_id=organization_id)


def defer_job(
    session: Session, svc: Services, name: str, payload: dict[str, Any], organization_id: int
) -> None:
    """Queue a job when this unit of work commits (see the module docstring)."""
    if _DEFERRED not in session.info:
        session.info[_DEFERRED] = []
        if not event.contains(session, "before_commit", _enqueue_deferred):
            event.listen(session, "before_commit", _enqueue_deferred)
    session.info[_DEFERRED].append((svc.jobs, name, payload, organization_id))


def send(
    session: Session,
    svc: Services,
    organization_id: int,
    channel: Channel,
    kind: str,
    recipient: str,
    text: str,
    subject: str = "",
    subject_ref: str = "",
    actor: Actor | None = None,
    sealed_for: PersonKey | None = None,
) -> None:
    """Put a message in the outbox; its delivery is queued at commit."""
    message = put(
        session,
        svc.keys,
        None,
        organization_id,
        channel,
        kind,
        recipient,
        text,
        subject=subject,
        subject_ref=subject_ref,
        actor=actor or Actor.system(),
        sealed_for=sealed_for,
    )
    if svc.jobs is not None:
        defer_job(session, svc, DELIVER_JOB, {"message_id": message.id}, organization_id)


def organization(session: Session, organization_id: int) -> Organization:
    org = session.get(Organization, organization_id)
    if org is None:
        raise LookupError("organization not found")
    return org


def link(svc: Services, slug: str, action: str, token: str) -> str:
    """The portal page a person opens from the mail (verify, download, appeal); the JSON API
    under /v1/public takes the same token."""
    return f"{svc.base_url}/p/{slug}/requests/{action}?token={token}"


def contact_email(svc: Services, request: RightsRequest) -> str | None:
    if request.contact_sealed is None:
        return None
    value = open_value(
        svc.keys, request.organization_id, request.reference, "contact", request.contact_sealed
    )
    return str(value) if value else None


def contact_phone(svc: Services, request: RightsRequest) -> str | None:
    if request.phone_sealed is None:
        return None
    value = open_value(
        svc.keys, request.organization_id, request.reference, "phone", request.phone_sealed
    )
    return str(value) if value else None


def request_key(session: Session, svc: Services, request: RightsRequest) -> PersonKey | None:
    """The key mail about this request is sealed under: the matched person's own (erasing
    them erases the mail), or, once they are erased, a key for that one message destroyed when
    it is sent (the deletion confirmation). None for a request that matched nobody."""
    if request.subject_id is None:
        return None
    key_id = session.scalar(
        select(Subject.key_id).where(
            Subject.id == request.subject_id,
            Subject.organization_id == request.organization_id,
            Subject.status != SubjectStatus.ERASED.value,
        )
    )
    return person_key(svc.vault_keys, request.organization_id, key_id)


def mail_consumer(
    session: Session, svc: Services, request: RightsRequest, kind: str, mail: Mail
) -> bool:
    """Queue an email to the request's contact. A request made with a phone number only gets
    the same text by SMS. False when there is no way to reach the person."""
    address = contact_email(svc, request)
    if address is None:
        return text_consumer(session, svc, request, kind, f"{mail.subject}\n\n{mail.body}")
    send(
        session,
        svc,
        request.organization_id,
        Channel.EMAIL,
        f"rights.{kind}",
        address,
        mail.body,
        subject=mail.subject,
        subject_ref=f"rights_request:{request.id}",
        sealed_for=request_key(session, svc, request),
    )
    return True


def text_consumer(
    session: Session, svc: Services, request: RightsRequest, kind: str, body: str
) -> bool:
    phone = contact_phone(svc, request)
    if phone is None:
        return False
    send(
        session,
        svc,
        request.organization_id,
        Channel.SMS,
        f"rights.{kind}",
        phone,
        body,
        subject_ref=f"rights_request:{request.id}",
        sealed_for=request_key(session, svc, request),
    )
    return True
