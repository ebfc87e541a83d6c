"""Carrying out a verified request, and the staff decisions: extend, hold, deny, appeal.

Every function takes the caller's unit of work; nothing is committed here (the adapters' session
commits), so a failure leaves nothing half-done, except the key store's crypto-shred, which
commits on its own on purpose (see vault/erasure.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.consent import suppression
from honorbound.consent.identity import IdentityRef, identify
from honorbound.db.base import utcnow
from honorbound.notify.models import Channel
from honorbound.policy import store
from honorbound.recordings.callers import caller_indexes
from honorbound.recordings.store import RecordingStore
from honorbound.rights import clock, limits, messages
from honorbound.rights.closing import close, get_request, is_open
from honorbound.rights.context import Services
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import add_months, new_reference, send_verification
from honorbound.rights.models import (
    DenialBasis,
    Manner,
    RequestType,
    Response,
    RightsRequest,
    Status,
    TokenPurpose,
)
from honorbound.rights.outgoing import (
    EXECUTE_JOB,
    contact_email,
    contact_phone,
    defer_job,
    link,
    mail_consumer,
    organization,
    request_key,
    send,
)
from honorbound.rights.protocols import links
from honorbound.rights.queries import live_subject
from honorbound.rights.recipients import RecipientRef, recipients_of_subject
from honorbound.rights.rules import UNEXTENDABLE_CLOCKS, Executes
from honorbound.rights.sealing import open_value, seal_value
from honorbound.rights.timeline import CONSUMER, events, log_event
from honorbound.rights.tokens import check_link, issue
from honorbound.systems import recordings
from honorbound.systems import requests as systems
from honorbound.vault.erasure import erase_subject
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import AccessLogEntry, Record, Subject
from honorbound.vault.sealing import seal_text


# -- execution of verified requests ------------------------------------------------------------
def execute(
    session: Session, svc: Services, organization_id: int, request_id: int, actor: Actor
) -> str:
    """Carry out a verified request. Returns what happened (for the job log). A request an
    agent or a controller sent by protocol has its new status reported to them."""
    request = get_request(session, organization_id, request_id)
    runnable = (Status.IN_PROGRESS.value, Status.PARTLY_DONE.value)
    if request.status not in runnable or request.verified_at is None:
        return "skipped"
    outcome = _carry_out(session, svc, request, actor)
    links.status_changed(session, svc, request)
    return outcome


def _carry_out(session: Session, svc: Services, request: RightsRequest, actor: Actor) -> str:
    """Dispatch on the type's row (`executes`); a type without an executor here is carried
    out elsewhere (an opt-out at intake, a staff answer, an appeal decision): skipped."""
    executor = EXECUTORS.get(svc.rules.type_rule(request.type).executes)
    if executor is None:
        return "skipped"
    org = organization(session, request.organization_id)
    return executor(session, svc, request, org, actor)


def queue_execution(session: Session, svc: Services, request: RightsRequest) -> None:
    if svc.jobs is None:
        execute(session, svc, request.organization_id, request.id, Actor.system())
        return
    defer_job(
        session,
        svc,
        EXECUTE_JOB,
        {"organization_id": request.organization_id, "request_id": request.id},
        request.organization_id,
    )


def _nothing_held(
    session: Session, svc: Services, request: RightsRequest, org_name: str, actor: Actor
) -> str:
    close(session, request, Response.COMPLIED, actor, "no personal information held")
    mail_consumer(
        session,
        svc,
        request,
        "completed",
        messages.nothing_held(org_name, request.reference, request.type, request.language),
    )
    return "nothing_held"


# -- connected systems (honorbound.systems): the request is carried out there too -----------
# Delays before automatic retries of a partly done request; after the last, staff retry it.
RETRY_DELAYS = (
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
    dt.timedelta(days=1),
)


def _in_systems(
    session: Session,
    svc: Services,
    request: RightsRequest,
    subject: Subject | None,
    actor: Actor,
    action: str,
) -> systems.Outcome | None:
    """Carry the request out in every connected system (None when none is connected)."""
    if not systems.has_systems(session, request.organization_id):
        return None
    found = systems.identities_of(session, svc.vault_keys, subject)
    for kind, value in (
        ("email", contact_email(svc, request)),
        ("phone", contact_phone(svc, request)),
    ):
        if value:
            found.setdefault(kind, set()).add(value)
    run = systems.gather if action == systems.ACCESS else systems.erase
    return run(session, svc.systems, svc.keys, request, found, actor)


def _partly_done(
    session: Session, svc: Services, request: RightsRequest, outcome: systems.Outcome, actor: Actor
) -> str:
    """Some systems are not done: the request says so and is retried, never closed."""
    request.status = Status.PARTLY_DONE.value
    retries = sum(1 for e in events(session, request) if e.kind == "partly_done")
    delay = RETRY_DELAYS[retries] if retries < len(RETRY_DELAYS) and outcome.failed else None
    log_event(
        session,
        request,
        "partly_done",
        actor,
        {
            "done": outcome.done,
            "failed": sorted(outcome.failed),
            "waiting": outcome.waiting,
            "retry_in_seconds": int(delay.total_seconds()) if delay else None,
        },
    )
    if delay is not None and svc.jobs is not None:
        svc.jobs.enqueue(
            session,
            EXECUTE_JOB,
            {"organization_id": request.organization_id, "request_id": request.id},
            request.organization_id,
            run_after=utcnow() + delay,
        )
    return "partly_done"


def _send_access(
    session: Session, svc: Services, request: RightsRequest, slug: str, org_name: str, actor: Actor
) -> str:
    subject = live_subject(session, request)
    outcome = _in_systems(session, svc, request, subject, actor, systems.ACCESS)
    if outcome is not None and not outcome.complete:
        return _partly_done(session, svc, request, outcome, actor)
    if subject is None and not (outcome is not None and outcome.found):
        return _nothing_held(session, svc, request, org_name, actor)
    lifetime = dt.timedelta(days=svc.rules.settings.download_link_days)
    issued = issue(
        session, svc.keys, request.organization_id, request.id, TokenPurpose.DOWNLOAD, lifetime
    )
    mail = messages.access_ready(
        org_name,
        request.reference,
        link(svc, slug, "download", issued.secret),
        issued.token.expires_at,
        request.language,
    )
    mail_consumer(session, svc, request, "access_ready", mail)
    log_event(
        session,
        request,
        "package_link_sent",
        actor,
        {"expires_at": issued.token.expires_at.isoformat()},
    )
    close(session, request, Response.COMPLIED, actor)
    if outcome is not None:
        systems.forget(session, request)
    return "link_sent"


def privacy_contact(session: Session, organization_id: int) -> str | None:
    adopted = store.current(session, organization_id)
    return adopted.declaration.contact.email if adopted else None


def notify_recipients(
    session: Session,
    svc: Services,
    request: RightsRequest,
    recipients: list[RecipientRef],
    action: str,
    actor: Actor,
    consumer_email: str | None,
) -> int:
    """Tell every recipient on record (7022). The ledger has no recipient addresses, so the
    notice goes to the privacy contact to forward; the event lists the recipient ids."""
    if not recipients:
        return 0
    contact = privacy_contact(session, request.organization_id)
    lines = [
        f"Privacy request {request.reference}: {action}. Tell these recipients to do the same",
        "for this consumer (11 CCR 7022 / 7023):",
        *[
            f"  - {r.name} ({r.type}; categories: {', '.join(r.categories) or 'all'})"
            for r in recipients
        ],
    ]
    if consumer_email:
        lines += ["", f"Consumer identifier to give them: {consumer_email}"]
    if contact:
        send(
            session,
            svc,
            request.organization_id,
            Channel.EMAIL,
            "rights.recipient_notice",
            contact,
            "\n".join(lines),
            subject=f"[Honorbound] notify {len(recipients)} recipient(s): {request.reference}",
            subject_ref=f"rights_request:{request.id}",
            actor=actor,
            # It names the consumer: sealed like mail to them, so erasure covers it.
            sealed_for=request_key(session, svc, request),
        )
    log_event(
        session,
        request,
        "recipients_notified" if contact else "recipient_notice_pending",
        actor,
        {"recipients": [r.id for r in recipients], "action": action},
    )
    return len(recipients)


def _delete(
    session: Session, svc: Services, request: RightsRequest, org_name: str, actor: Actor
) -> str:
    subject = live_subject(session, request)
    # Systems first: the vault's identities lead to the person there, and the vault erasure
    # destroys them. A retry (partly done) finds the vault already erased.
    outcome = _in_systems(session, svc, request, subject, actor, systems.ERASURE)
    retrying = request.status == Status.PARTLY_DONE.value
    found_elsewhere = outcome is not None and (outcome.found or not outcome.complete)
    if subject is None and not retrying and not found_elsewhere:
        return _nothing_held(session, svc, request, org_name, actor)
    recipients = (
        recipients_of_subject(session, request.organization_id, subject.id) if subject else []
    )
    email = contact_email(svc, request)
    # A hashed suppression entry (blind index only) keeps the person out of marketing after
    # their data is gone; earlier opt-outs in the ledger survive the erasure as they are.
    refs = [identify(svc.keys, request.organization_id, email, IdentityKind.EMAIL)] if email else []
    phone = contact_phone(svc, request)
    if phone:
        refs.append(identify(svc.keys, request.organization_id, phone, IdentityKind.PHONE))
    if subject is not None:
        _erase_vault(session, svc, request, subject, recipients, refs, actor, email)
    elif refs:
        # Nothing in the vault (found only in connected systems, or a retry after the vault
        # part was done): the identities the request named are still suppressed.
        suppression.suppress(
            session, request.organization_id, refs, actor, request_ref=request.reference
        )
    if outcome is not None and not outcome.complete:
        return _partly_done(session, svc, request, outcome, actor)
    kept = [
        f"this request's record (date, type, how it was made, our response) for "
        f"{svc.laws.california.request_records.keep_months} months, as the law requires "
        f"({svc.laws.california.request_records.source}); it holds none of your data",
        "one-way codes of your email addresses, phone numbers and other identifiers we held "
        "(not the addresses themselves) so we keep honoring your opt-outs and do not contact "
        "you for marketing on any of them",
        "our security log entries that say a deletion happened, without any of your data",
    ]
    close(session, request, Response.COMPLIED, actor, "; ".join(kept))
    mail_consumer(
        session,
        svc,
        request,
        "completed",
        messages.deletion_done(
            org_name, request.reference, kept, [r.name for r in recipients], request.language
        ),
    )
    # The answer is queued (sealed in the outbox); the request record keeps no way to reach them.
    request.contact_sealed = None
    request.phone_sealed = None
    if outcome is not None:
        systems.forget(session, request)
    return "erased"


def _erase_vault(
    session: Session,
    svc: Services,
    request: RightsRequest,
    subject: Subject,
    recipients: list[RecipientRef],
    refs: list[IdentityRef],
    actor: Actor,
    email: str | None,
) -> None:
    # Every identity the vault holds for the person (their phone after an email request too)
    # goes into the suppression list before the key that opens them is destroyed.
    suppressed = suppression.suppress_subject(
        session,
        svc.keys,
        svc.vault_keys,
        request.organization_id,
        subject.id,
        actor,
        request_ref=request.reference,
        also=refs,
    )
    # The audio behind the vault's recording pointers goes too (before the key that opens them).
    audio = recordings.delete_for_subject(
        session, svc.systems, svc.vault_keys, request.organization_id, subject.id
    )
    # So do the calls stored in the recording store under their name, or from a number of
    # theirs before they were identified (honorbound.recordings; read before the identities go).
    stored_calls = (
        RecordingStore.for_organization(
            svc.recordings_dir, request.organization_id
        ).delete_for_subject(
            subject.id, caller_indexes(session, request.organization_id, subject.id)
        )
        if svc.recordings_dir is not None
        else 0
    )
    erased = erase_subject(
        session, svc.vault_keys, request.organization_id, subject.id, actor, "rights.deletion"
    )
    notified = notify_recipients(
        session, svc, request, recipients, "personal information deleted", actor, email
    )
    log_event(
        session,
        request,
        "subject_erased",
        actor,
        {
            "records": erased.records,
            "interactions": erased.interactions,
            "identities": erased.identities,
            "keys_destroyed": erased.keys_destroyed,
            "recipients": notified,
            "suppression_entries": len(suppressed),
            "stored_recordings_deleted": stored_calls,
            **audio.as_dict(),
        },
    )


def _correct(
    session: Session, svc: Services, request: RightsRequest, org_name: str, actor: Actor
) -> str:
    subject = live_subject(session, request)
    if subject is None:
        return _nothing_held(session, svc, request, org_name, actor)
    details = (
        open_value(
            svc.keys, request.organization_id, request.reference, "details", request.details_sealed
        )
        if request.details_sealed
        else {}
    )
    dek = svc.vault_keys.data_key(request.organization_id, subject.key_id)
    corrected: list[str] = []
    missing: list[str] = []
    for item in details.get("corrections", []):
        category, value = item["category"], item["value"]
        rows = list(
            session.scalars(
                select(Record).where(Record.subject_id == subject.id, Record.category == category)
            )
        )
        if not rows:
            missing.append(category)
            continue
        for record in rows:
            record.value_sealed = seal_text(
                dek, request.organization_id, subject.key_id, f"record:{category}", value
            )
            append(
                session,
                request.organization_id,
                actor,
                "record.corrected",
                "record",
                record.id,
                {"subject_id": subject.id, "category": category, "request_id": request.id},
            )
        corrected.append(category)
    recipients = [
        r
        for r in recipients_of_subject(session, request.organization_id, subject.id)
        if not r.categories or set(r.categories) & set(corrected)
    ]
    if corrected:
        notify_recipients(
            session,
            svc,
            request,
            recipients,
            f"corrected {', '.join(corrected)}",
            actor,
            contact_email(svc, request),
        )
    log_event(
        session, request, "records_corrected", actor, {"corrected": corrected, "missing": missing}
    )
    close(
        session,
        request,
        Response.COMPLIED_IN_PART if missing and corrected else Response.COMPLIED,
        actor,
    )
    mail_consumer(
        session,
        svc,
        request,
        "completed",
        messages.correction_done(
            org_name,
            request.reference,
            corrected,
            missing,
            [r.name for r in recipients],
            request.language,
        ),
    )
    return "corrected"


# What `executes` runs in the `rights.execute` job (rights/data/requests.yaml). The other values
# are carried out elsewhere: NOT_EXECUTED says where (a test holds the two to `Executes`).
Executor = Callable[[Session, Services, RightsRequest, Organization, Actor], str]
EXECUTORS: dict[Executes, Executor] = {
    "package": lambda s, svc, r, org, a: _send_access(s, svc, r, org.slug, org.name, a),
    "delete": lambda s, svc, r, org, a: _delete(s, svc, r, org.name, a),
    "correct": lambda s, svc, r, org, a: _correct(s, svc, r, org.name, a),
    "shine_the_light": lambda s, svc, r, org, a: _shine_the_light(s, svc, r, org.name, a),
}
NOT_EXECUTED: dict[Executes, str] = {
    "opt_out": "applied at intake (rights.opt_out.apply_opt_out), without verification",
    "staff_answer": "the privacy team's written answer (rights.execution.answer)",
    "appeal": "the privacy team's decision (rights.execution.decide_appeal)",
}


THIRD_PARTY_TYPES = frozenset(
    {"third_party", "advertising_partner", "business_partner", "affiliate"}
)


def _shine_the_light(
    session: Session, svc: Services, request: RightsRequest, org_name: str, actor: Actor
) -> str:
    year = request.received_at.year - 1
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    names: list[str] = []
    if request.subject_id is not None:
        names = [
            f"{r.name} (categories: {', '.join(r.categories) or 'not recorded'})"
            for r in recipients_of_subject(
                session, request.organization_id, request.subject_id, start, end
            )
            if r.type in THIRD_PARTY_TYPES
        ]
    log_event(
        session, request, "disclosures_listed", actor, {"year": year, "recipients": len(names)}
    )
    close(session, request, Response.COMPLIED, actor)
    mail_consumer(
        session,
        svc,
        request,
        "completed",
        messages.shine_the_light(org_name, request.reference, year, names, request.language),
    )
    return "listed"


# -- staff decisions ---------------------------------------------------------------------------
def _require_open(request: RightsRequest) -> None:
    if not is_open(request):
        raise RightsError("request", f"the request is already {request.status}", 409)


def extend(
    session: Session,
    svc: Services,
    organization_id: int,
    request_id: int,
    reason: str,
    actor: Actor,
) -> RightsRequest:
    """The one extension the law allows, with its reason, noticed inside the first period."""
    request = get_request(session, organization_id, request_id)
    _require_open(request)
    if request.extended_at is not None:
        raise RightsError(
            "request", "the request was already extended once; only one extension is allowed", 409
        )
    if svc.rules.type_rule(request.type).clock in UNEXTENDABLE_CLOCKS:
        raise RightsError("request", f"a {request.type} request cannot be extended", 409)
    if utcnow() > request.due_at:
        raise RightsError(
            "request", "the due date has passed; an extension must be noticed before it", 409
        )
    reason = reason.strip()
    if not reason:
        raise RightsError("body.reason", "say why more time is needed (the consumer is told)")
    adopted = store.current(session, organization_id)
    declaration = adopted.declaration if adopted else None
    on = request.received_at.date()
    if svc.rules.type_rule(request.type).executes == "appeal":
        scope = declaration.unknown_state_scope() if declaration is not None else None
        try:
            period = clock.appeal_extension_for(
                svc.laws_of(session, organization_id), request.jurisdiction, on, scope
            )
        except clock.NoAppealExtension as exc:
            raise RightsError("request", f"{exc}; an appeal cannot be extended here", 409) from None
        request.due_at = clock.add(request.due_at, period)
    else:
        request.due_at, period = clock.extended_due(
            svc.laws_of(session, organization_id),
            svc.rules,
            request.type,
            request.jurisdiction,
            request.due_at,
            declaration,
            on,
        )
    request.extended_at = utcnow()
    request.extension_reason = reason
    request.reminder_level = 0
    log_event(
        session,
        request,
        "extended",
        actor,
        {"due_at": request.due_at.isoformat(), "days": str(period)},
    )
    org = organization(session, organization_id)
    mail_consumer(
        session,
        svc,
        request,
        "extension",
        messages.extension(org.name, request.reference, reason, request.due_at, request.language),
    )
    return request


def hold(
    session: Session,
    svc: Services,
    organization_id: int,
    request_id: int,
    reason: str,
    actor: Actor,
) -> RightsRequest:
    """Fraud suspicion: stop the request until staff release or deny it."""
    request = get_request(session, organization_id, request_id)
    _require_open(request)
    if not reason.strip():
        raise RightsError("body.reason", "document why fraud is suspected")
    request.status = Status.HELD.value
    request.hold_reason = reason.strip()
    log_event(session, request, "held", actor, {})
    return request


def release(
    session: Session, svc: Services, organization_id: int, request_id: int, actor: Actor
) -> RightsRequest:
    request = get_request(session, organization_id, request_id)
    if request.status != Status.HELD.value:
        raise RightsError("request", "only a held request can be released", 409)
    request.hold_reason = None
    log_event(session, request, "released", actor, {})
    if request.verified_at is not None:
        request.status = Status.IN_PROGRESS.value
        queue_execution(session, svc, request)
    else:
        request.status = Status.VERIFYING.value
    return request


def deny(
    session: Session,
    svc: Services,
    organization_id: int,
    request_id: int,
    basis: DenialBasis | None,
    explanation: str,
    actor: Actor,
) -> RightsRequest:
    """Deny with a stated reason; where the state gives a right to appeal, say how."""
    request = get_request(session, organization_id, request_id)
    _require_open(request)
    if basis is None:
        raise RightsError(
            "body.basis", "name the basis: " + ", ".join(b.value for b in DenialBasis)
        )
    explanation = explanation.strip()
    if basis in (DenialBasis.OTHER, DenialBasis.EXEMPT, DenialBasis.FRAUD) and not explanation:
        raise RightsError("body.explanation", f"a denial for '{basis.value}' needs an explanation")
    if basis is DenialBasis.EXCESSIVE and limits.excess_of(session, request) is None:
        raise RightsError(
            "body.basis",
            "this request is within the free requests of its state; 'excessive' applies only "
            "to a request flagged excess_request at intake",
        )
    close(session, request, Response.DENIED, actor, explanation, basis)
    links.status_changed(session, svc, request)
    org = organization(session, organization_id)
    appeal_link = appeal_days = None
    scope = store.unknown_state_scope(session, organization_id)
    on = request.received_at.date()
    if svc.rules.type_rule(request.type).executes != "appeal" and clock.appeal_allowed(
        svc.laws_of(session, organization_id), request.jurisdiction, on, scope
    ):
        issued = issue(
            session,
            svc.keys,
            organization_id,
            request.id,
            TokenPurpose.APPEAL,
            dt.timedelta(days=svc.rules.settings.appeal_filing_days),
        )
        appeal_link = link(svc, org.slug, "appeal", issued.secret)
        appeal_days = clock.period_for(
            svc.laws_of(session, organization_id),
            svc.rules,
            "appeal",
            request.jurisdiction,
            utcnow().date(),
            scope,
        )[0].days
    mail_consumer(
        session,
        svc,
        request,
        "denied",
        messages.denial(
            org.name,
            request.reference,
            request.type,
            basis.value,
            explanation,
            appeal_link,
            appeal_days,
            request.language,
        ),
    )
    return request


def answer(
    session: Session,
    svc: Services,
    organization_id: int,
    request_id: int,
    text: str,
    actor: Actor,
) -> RightsRequest:
    """The privacy team's written answer to a verified request Honorbound cannot carry out by
    itself (`executes: staff_answer` in rights/data/requests.yaml: access to ADMT information);
    it is mailed to the consumer and closes the request as complied."""
    request = get_request(session, organization_id, request_id)
    _require_open(request)
    if svc.rules.type_rule(request.type).executes != "staff_answer":
        raise RightsError(
            "request", f"a {request.type} request is carried out by Honorbound, not answered", 409
        )
    if request.verified_at is None:
        raise RightsError("request", "verify the request before answering it", 409)
    text = text.strip()
    if not text or len(text) > 20000:
        raise RightsError("body.text", "write the answer (1-20000 characters)")
    close(session, request, Response.COMPLIED, actor, "answered in writing")
    org = organization(session, organization_id)
    mail_consumer(
        session,
        svc,
        request,
        "completed",
        messages.staff_answer(org.name, request.reference, request.type, text, request.language),
    )
    return request


def file_appeal(
    session: Session,
    svc: Services,
    organization_id: int,
    token: str,
    reason: str,
    client: str = "",
) -> RightsRequest:
    """The consumer appeals a decision with the link from the decision letter."""
    row = check_link(
        session,
        svc.keys,
        organization_id,
        token,
        TokenPurpose.APPEAL,
        svc.rules.settings.max_attempts,
        client=client,
    )
    reason = reason.strip()
    if not reason or len(reason) > 5000:
        raise RightsError("body.reason", "say why you disagree (1-5000 characters)")
    original = get_request(session, organization_id, row.request_id)
    now = utcnow()
    row.used_at = now
    # The law's appeal period (the notice's response_days is not applied to appeals); a state
    # without a law in force gets the organization's default.
    scope = store.unknown_state_scope(session, organization_id)
    laws = svc.laws_of(session, organization_id)
    timing = clock.clock_for(laws, svc.rules, "appeal", original.jurisdiction, now, scope=scope)
    reference = new_reference()
    email = contact_email(svc, original)
    appeal = RightsRequest(
        organization_id=organization_id,
        reference=reference,
        type=RequestType.APPEAL.value,
        status=Status.IN_PROGRESS.value,
        manner=Manner.PORTAL.value,
        jurisdiction=original.jurisdiction,
        subject_id=original.subject_id,
        contact_index=original.contact_index,
        language=original.language,
        contact_sealed=seal_value(svc.keys, organization_id, reference, "contact", email)
        if email
        else None,
        details_sealed=seal_value(
            svc.keys, organization_id, reference, "details", {"reason": reason}
        ),
        received_at=now,
        acknowledge_by=timing.acknowledge_by,
        due_at=timing.due_at,
        verified_at=now,
        appeal_of_id=original.id,
        retain_until=add_months(now, svc.laws.california.request_records.keep_months),
    )
    session.add(appeal)
    session.flush()
    log_event(
        session,
        appeal,
        "received",
        CONSUMER,
        {"appeal_of": original.id, "due_at": appeal.due_at.isoformat()},
    )
    log_event(session, original, "appealed", CONSUMER, {"appeal_id": appeal.id})
    org = organization(session, organization_id)
    if mail_consumer(
        session,
        svc,
        appeal,
        "acknowledgement",
        messages.appeal_received(org.name, reference, appeal.due_at, appeal.language),
    ):
        appeal.acknowledged_at = now
    return appeal


def agent_permission(
    session: Session, svc: Services, organization_id: int, request_id: int, actor: Actor
) -> bytes:
    """The authorized agent's signed permission file, kept sealed with the request; each
    opening is on the request's timeline and in the audit log. `RightsError` when the request
    holds none (made before files were kept, or not by an agent)."""
    request = get_request(session, organization_id, request_id)
    details = (
        open_value(svc.keys, organization_id, request.reference, "details", request.details_sealed)
        if request.details_sealed
        else {}
    )
    encoded = details.get("agent_permission")
    if not encoded:
        raise RightsError("request", "this request holds no signed permission file", 404)
    content = base64.b64decode(encoded)
    if hashlib.sha256(content).hexdigest() != request.agent_permission_sha256:
        raise RightsError("request", "the permission file does not match its recorded hash", 409)
    log_event(session, request, "agent_permission_viewed", actor)
    return content


def deciders_of(session: Session, appeal: RightsRequest) -> set[str]:
    """Who closed the request an appeal is about (the actors of its denials)."""
    if appeal.appeal_of_id is None:
        return set()
    original = session.get(RightsRequest, appeal.appeal_of_id)
    if original is None:
        return set()
    return {e.actor for e in events(session, original) if e.kind == "denied"}


def reveal_appeal_reason(
    session: Session,
    svc: Services,
    organization_id: int,
    appeal_id: int,
    actor: Actor,
    why: str,
) -> str:
    """The consumer's reason for an appeal, in clear, logged like every reveal: a timeline and
    audit entry on the appeal, and (when the person is known) the vault's access log with the
    staff member's reason."""
    appeal = get_request(session, organization_id, appeal_id)
    if appeal.type != RequestType.APPEAL.value or appeal.details_sealed is None:
        raise RightsError("request", "that request is not an appeal", 409)
    why = why.strip()
    if not why:
        raise RightsError("body.reason", "say why you need to read the consumer's reason")
    details = open_value(
        svc.keys, organization_id, appeal.reference, "details", appeal.details_sealed
    )
    log_event(session, appeal, "appeal_reason_viewed", actor)
    if appeal.subject_id is not None:
        session.add(
            AccessLogEntry(
                organization_id=organization_id,
                subject_id=appeal.subject_id,
                object_type="appeal_reason",
                object_id=appeal.id,
                actor=actor.id,
                role=actor.role,
                reason=why[:500],
            )
        )
    return str(details.get("reason", ""))


def decide_appeal(
    session: Session,
    svc: Services,
    organization_id: int,
    appeal_id: int,
    granted: bool | None,
    explanation: str,
    actor: Actor,
) -> RightsRequest:
    appeal = get_request(session, organization_id, appeal_id)
    if appeal.type != RequestType.APPEAL.value:
        raise RightsError("request", "that request is not an appeal", 409)
    _require_open(appeal)
    if actor.id in deciders_of(session, appeal):
        # The portal and the denial letter promise a different person reviews the appeal.
        raise RightsError(
            "request",
            "you decided the request this appeal is about; a colleague must decide the appeal",
            403,
        )
    if granted is None:
        raise RightsError("body.outcome", "the outcome is 'granted' or 'denied'")
    explanation = explanation.strip()
    if not granted and not explanation:
        raise RightsError("body.explanation", "explain why the decision is upheld")
    org = organization(session, organization_id)
    if granted:
        close(session, appeal, Response.COMPLIED, actor, explanation)
        original = get_request(session, organization_id, appeal.appeal_of_id or 0)
        original.closed_at = original.response = original.denial_basis = original.response_note = (
            None
        )
        original.status = (Status.IN_PROGRESS if original.verified_at else Status.VERIFYING).value
        log_event(session, original, "reopened", actor, {"appeal_id": appeal.id})
        if original.verified_at is not None:
            queue_execution(session, svc, original)
        else:
            send_verification(session, svc, original, org.slug, org.name)
    else:
        close(session, appeal, Response.DENIED, actor, explanation, DenialBasis.OTHER)
    mail_consumer(
        session,
        svc,
        appeal,
        "appeal_decision",
        messages.appeal_decision(
            org.name,
            appeal.reference,
            granted,
            explanation,
            svc.rules.attorney_general_for(appeal.jurisdiction),
            appeal.language,
        ),
    )
    return appeal
