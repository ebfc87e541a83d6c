"""One-time codes a person asks for on the portal, by a request's reference: a new code to
confirm the request (instead of the emailed link), or a code to open the request's status page
("my requests"). The code goes to the email address the request was made with, never to the
page: knowing a reference is not enough to see anything.

The answer is the same whether or not the reference exists, so references cannot be probed.
Codes are 6 digits, stored as a keyed HMAC (honorbound.rights.tokens), single use, expiring
(`email_code_minutes`), locked after `max_attempts` wrong tries, compared in constant time;
only the newest code of a request counts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.i18n import N_
from honorbound.rights import messages
from honorbound.rights.context import Services
from honorbound.rights.models import RightsRequest, Status, TokenPurpose
from honorbound.rights.outgoing import mail_consumer, organization
from honorbound.rights.timeline import events, log_event
from honorbound.rights.tokens import TokenRejected, check_code, issue

CONSUMER = Actor("consumer", "consumer")
MAX_REFERENCE = 24


def find(session: Session, organization_id: int, reference: str) -> RightsRequest | None:
    wanted = reference.strip().upper()
    if not wanted or len(wanted) > MAX_REFERENCE:
        return None
    return session.scalar(
        select(RightsRequest).where(
            RightsRequest.organization_id == organization_id,
            RightsRequest.reference == wanted,
        )
    )


def send_code(
    session: Session,
    svc: Services,
    organization_id: int,
    reference: str,
    purpose: TokenPurpose,
    lang: str | None = None,
) -> None:
    """Email a new code for the request `reference`, when it exists, has an email address and
    (for VERIFY) still waits for verification. Nothing tells the caller which happened."""
    request = find(session, organization_id, reference)
    if request is None or request.contact_sealed is None:
        return
    if purpose is TokenPurpose.VERIFY and (
        request.status != Status.VERIFYING.value or request.verified_at is not None
    ):
        return
    minutes = svc.rules.settings.email_code_minutes
    issued = issue(
        session,
        svc.keys,
        organization_id,
        request.id,
        purpose,
        dt.timedelta(minutes=minutes),
        channel="email_code",
    )
    org = organization(session, organization_id)
    page = "code" if purpose is TokenPurpose.VERIFY else "status"
    mail = messages.code_mail(
        org.name,
        request.reference,
        issued.secret,
        minutes,
        f"{svc.base_url}/p/{org.slug}/requests/{page}?reference={request.reference}",
        lang or request.language,
    )
    mail_consumer(session, svc, request, f"{purpose.value}_code", mail)
    log_event(session, request, "code_sent", CONSUMER, {"purpose": purpose.value})


def open_status(
    session: Session, svc: Services, organization_id: int, reference: str, code: str
) -> RightsRequest:
    """The request whose status code this is (the code is spent). `TokenRejected` otherwise,
    the same for an unknown reference as for a wrong code."""
    request = find(session, organization_id, reference)
    if request is None:
        raise TokenRejected("invalid")
    row = check_code(
        session,
        svc.keys,
        organization_id,
        request.id,
        code,
        svc.rules.settings.max_attempts,
        channels=("email_code",),
        purpose=TokenPurpose.STATUS,
    )
    row.used_at = utcnow()
    log_event(session, request, "status_viewed", CONSUMER, {"channel": "email_code"})
    return request


MAX_LISTED = 20


def same_person(session: Session, request: RightsRequest) -> list[RightsRequest]:
    """The requests made with the same email or phone (blind index) in this organization,
    newest first: what "my requests" lists once one of them is opened with a code."""
    return list(
        session.scalars(
            select(RightsRequest)
            .where(
                RightsRequest.organization_id == request.organization_id,
                RightsRequest.contact_index == request.contact_index,
            )
            .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
            .limit(MAX_LISTED)
        )
    )


# The timeline a person sees: events told in their words. Staff-only events (holds, reveals,
# reminders, notes) are left out; a held request reads as "in progress".
CONSUMER_EVENTS: dict[str, str] = {
    "received": N_("We received your request."),
    "duplicate_merged": N_("You sent the same request again; we kept it as one request."),
    "code_sent": N_("We emailed you a one-time code."),
    "verification_incomplete": N_("A confirmation attempt did not match enough details."),
    "verified": N_("You confirmed your request."),
    "verified_manually": N_("We confirmed your identity with you directly."),
    "agent_confirmed": N_("You confirmed that your authorized agent acts for you."),
    "extended": N_("We told you we need more time, and why."),
    "package_link_sent": N_("Your copy is ready: we emailed you a download link."),
    "package_downloaded": N_("Your copy was downloaded."),
    "partly_done": N_("Part of your request is done; we are finishing the rest."),
    "subject_erased": N_("We deleted your personal information."),
    "records_corrected": N_("We corrected your information."),
    "corrected": N_("We corrected your information."),
    "completed": N_("Your request is complete."),
    "denied": N_("We decided on your request and emailed you our reasons."),
    "appealed": N_("You appealed our decision."),
    "reopened": N_("We reopened your request."),
    "status_viewed": N_("You opened this status page with a code."),
}

# What a person reads for each status (held for review reads as in progress).
CONSUMER_STATUS: dict[str, str] = {
    Status.RECEIVED.value: N_("Received"),
    Status.VERIFYING.value: N_("Waiting for you to confirm it"),
    Status.HELD.value: N_("In progress"),
    Status.IN_PROGRESS.value: N_("In progress"),
    Status.PARTLY_DONE.value: N_("In progress"),
    Status.COMPLETED.value: N_("Complete"),
    Status.DENIED.value: N_("Decided: not carried out"),
}


def consumer_timeline(session: Session, request: RightsRequest) -> list[tuple[dt.datetime, str]]:
    """(when, what) for each event a person may see, oldest first (English source strings)."""
    return [
        (event.at, CONSUMER_EVENTS[event.kind])
        for event in events(session, request)
        if event.kind in CONSUMER_EVENTS
    ]
