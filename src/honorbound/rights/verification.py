"""Verifying the consumer: control of the email (link) or phone (code) we answer to, plus data
points matched against what the vault already holds, plus a signed declaration where the rule
asks for one (11 CCR 7060-7062). Strength per request type is data (`data/requests.yaml`).

The link is single-use: it is spent when the request becomes verified. A submission that does
not match enough data points counts as an attempt on the link; after `max_attempts` it locks.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.policy import store
from honorbound.rights.context import Services
from honorbound.rights.errors import RequestNotFound, RightsError
from honorbound.rights.execution import queue_execution
from honorbound.rights.models import RequestToken, RightsRequest, Status, TokenPurpose
from honorbound.rights.outgoing import contact_email, contact_phone
from honorbound.rights.package import never_disclose, withheld_label
from honorbound.rights.queries import live_subject
from honorbound.rights.sealing import open_value, seal_value
from honorbound.rights.timeline import CONSUMER, log_event
from honorbound.rights.tokens import TokenRejected, check_code, check_link
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize
from honorbound.vault.models import Record, Subject
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import find_subject_id


@dataclass(frozen=True)
class DataPoints:
    phone: str | None = None
    account_id: str | None = None
    external_id: str | None = None
    birth_date: dt.date | None = None


@dataclass(frozen=True)
class SignedDeclaration:
    typed_name: str
    agreed: bool


@dataclass(frozen=True)
class Requirement:
    data_points: int
    declaration: bool


@dataclass(frozen=True)
class Outcome:
    request: RightsRequest
    verified: bool
    matched: int
    requirement: Requirement


def holds_sensitive(session: Session, svc: Services, subject: Subject) -> bool:
    categories = session.scalars(
        select(Record.category).where(Record.subject_id == subject.id).distinct()
    ).all()
    adopted = store.current(session, subject.organization_id)
    forbidden = never_disclose(svc.laws)
    return any(
        withheld_label(forbidden, c) is not None
        or (adopted is not None and adopted.declaration.is_sensitive(c))
        for c in categories
    )


def requirement(session: Session, svc: Services, request: RightsRequest) -> Requirement:
    rule = svc.rules.type_rule(request.type)
    subject = live_subject(session, request)
    if (
        rule.sensitive_data_points is not None
        and subject is not None
        and holds_sensitive(session, svc, subject)
    ):
        return Requirement(rule.sensitive_data_points, bool(rule.sensitive_signed_declaration))
    return Requirement(rule.data_points, rule.signed_declaration)


def _owns(
    session: Session, svc: Services, request: RightsRequest, kind: IdentityKind, value: str
) -> bool:
    try:
        found = find_subject_id(session, svc.vault_keys, request.organization_id, kind, value)
    except InvalidIdentity:
        return False
    return found is not None and found == request.subject_id


def _birth_date_matches(svc: Services, subject: Subject, given: dt.date) -> bool:
    if subject.birth_date_sealed is None:
        return False
    dek = svc.vault_keys.data_key(subject.organization_id, subject.key_id)
    held = open_text(
        dek, subject.organization_id, subject.key_id, "birth_date", subject.birth_date_sealed
    )
    return held == given.isoformat()


def count_matches(
    session: Session,
    svc: Services,
    request: RightsRequest,
    channel: str,
    points: DataPoints,
) -> int:
    """Matching data points: the channel proven (if it is on file), then each point given."""
    subject = live_subject(session, request)
    if subject is None:
        return 0
    matched = 0
    email = contact_email(svc, request)
    phone = contact_phone(svc, request)
    # A code sent by email proves the address as the link does.
    if (
        channel in ("email", "email_code")
        and email
        and _owns(session, svc, request, IdentityKind.EMAIL, email)
    ):
        matched += 1
    phone_counted = False
    if channel == "sms" and phone and _owns(session, svc, request, IdentityKind.PHONE, phone):
        matched += 1
        phone_counted = True
    checks: list[tuple[IdentityKind, str | None]] = [
        (IdentityKind.PHONE, None if phone_counted else points.phone),
        (IdentityKind.ACCOUNT_ID, points.account_id),
        (IdentityKind.EXTERNAL_ID, points.external_id),
    ]
    for kind, value in checks:
        if value and _owns(session, svc, request, kind, value):
            matched += 1
    if points.birth_date is not None and _birth_date_matches(svc, subject, points.birth_date):
        matched += 1
    return matched


def _request_for(session: Session, token: RequestToken) -> RightsRequest:
    request = session.get(RightsRequest, token.request_id)
    assert request is not None  # tokens are deleted with their request (cascade)
    return request


def preview(
    session: Session, svc: Services, organization_id: int, token: str, client: str = ""
) -> Outcome:
    """What the link's page needs to show (checks the link without spending it). `client`
    names who asks (see tokens.check_link: wrong links lock per client)."""
    row = check_link(
        session,
        svc.keys,
        organization_id,
        token,
        TokenPurpose.VERIFY,
        svc.rules.settings.max_attempts,
        client=client,
    )
    request = _request_for(session, row)
    return Outcome(request, request.verified_at is not None, 0, requirement(session, svc, request))


CODE_CHANNELS = ("sms", "email_code")


def preview_code(
    session: Session, svc: Services, organization_id: int, reference: str, code: str
) -> Outcome:
    """As `preview`, for a reference and the newest code sent for it (SMS or email): checks
    the code without spending it (a wrong one counts an attempt on the code)."""
    found = session.scalar(
        select(RightsRequest).where(
            RightsRequest.organization_id == organization_id,
            RightsRequest.reference == reference.strip().upper()[:24],
        )
    )
    if found is None:
        raise TokenRejected("invalid")
    check_code(
        session,
        svc.keys,
        organization_id,
        found.id,
        code,
        svc.rules.settings.max_attempts,
        channels=CODE_CHANNELS,
    )
    return Outcome(found, found.verified_at is not None, 0, requirement(session, svc, found))


def _validate_points(points: DataPoints) -> None:

    for name, kind, value in (
        ("phone", IdentityKind.PHONE, points.phone),
        ("account_id", IdentityKind.ACCOUNT_ID, points.account_id),
        ("external_id", IdentityKind.EXTERNAL_ID, points.external_id),
    ):
        if value is None:
            continue
        try:
            normalize(kind, value)
        except InvalidIdentity as exc:
            raise RightsError(f"body.data_points.{name}", str(exc)) from None


def verify(
    session: Session,
    svc: Services,
    organization_id: int,
    points: DataPoints,
    declaration: SignedDeclaration | None,
    token: str | None = None,
    reference: str | None = None,
    code: str | None = None,
    client: str = "",
) -> Outcome:
    """Check the link (or the reference + a code sent by SMS or email), count data points,
    and when they suffice mark the request verified and queue its execution."""
    _validate_points(points)
    if declaration is not None:
        if not declaration.typed_name.strip() or len(declaration.typed_name) > 200:
            raise RightsError(
                "body.declaration.typed_name", "type your full name (1-200 characters)"
            )
        if not declaration.agreed:
            raise RightsError(
                "body.declaration.agreed", "tick the box to sign the declaration, or leave it out"
            )
    max_attempts = svc.rules.settings.max_attempts
    if token is not None:
        row = check_link(
            session,
            svc.keys,
            organization_id,
            token,
            TokenPurpose.VERIFY,
            max_attempts,
            client=client,
        )
        request = _request_for(session, row)
    elif reference is not None and code is not None:
        found = session.scalar(
            select(RightsRequest).where(
                RightsRequest.organization_id == organization_id,
                RightsRequest.reference == reference.strip().upper()[:24],
            )
        )
        if found is None:
            raise TokenRejected("invalid")
        row = check_code(
            session,
            svc.keys,
            organization_id,
            found.id,
            code,
            max_attempts,
            channels=CODE_CHANNELS,
        )
        request = found
    else:
        raise RightsError(
            "body.token", "send the token from the email link, or the reference and SMS code"
        )
    if request.status not in (Status.VERIFYING.value, Status.HELD.value) or (
        request.verified_at is not None
    ):
        raise TokenRejected("used")
    needed = requirement(session, svc, request)
    matched = count_matches(session, svc, request, row.channel, points)
    signed = declaration is not None and declaration.agreed
    if matched < needed.data_points or (needed.declaration and not signed):
        row.attempts += 1
        log_event(
            session,
            request,
            "verification_incomplete",
            CONSUMER,
            {"matched": matched, "needed": needed.data_points, "declaration": signed},
        )
        return Outcome(request, False, matched, needed)
    now = utcnow()
    row.used_at = now
    request.verified_at = now
    request.verification_points = matched
    if declaration is not None and signed:
        request.declaration_sealed = seal_value(
            svc.keys,
            organization_id,
            request.reference,
            "declaration",
            {"typed_name": declaration.typed_name.strip(), "agreed": True, "at": now.isoformat()},
        )
        request.declaration_at = now
    log_event(
        session,
        request,
        "verified",
        CONSUMER,
        {"matched": matched, "channel": row.channel, "declaration": signed},
    )
    if request.agent_permission_sha256 is not None:
        log_event(session, request, "agent_confirmed", CONSUMER, {"channel": row.channel})
    if request.status == Status.HELD.value:
        return Outcome(request, True, matched, needed)
    request.status = Status.IN_PROGRESS.value
    queue_execution(session, svc, request)
    return Outcome(request, True, matched, needed)


MANUAL_NOTE_MAX = 2000
MANUAL_LEVEL_MAX = 10
NOTE_FIELD = "manual_verification_note"


def verify_manually(
    session: Session,
    svc: Services,
    organization_id: int,
    request_id: int,
    actor: Actor,
    level: int | None,
    note: str,
    declaration: bool = False,
) -> RightsRequest:
    """Staff verified the consumer another way (a call back to the number on file, an in-person
    visit, a signed form by post). `level` is how many data points they matched; it must reach
    what the request type needs (requests.yaml), and a signed declaration must have been
    received where the rule asks for one. The note (how it was done) is kept sealed; the
    timeline records the method, the staff member and the level. Unused verification links
    stop working, and the request is carried out as if the consumer had verified."""
    request = session.scalar(
        select(RightsRequest).where(
            RightsRequest.id == request_id, RightsRequest.organization_id == organization_id
        )
    )
    if request is None:
        raise RequestNotFound("no rights request with that id in this organization")
    if request.closed_at is not None or request.status in (
        Status.COMPLETED.value,
        Status.DENIED.value,
    ):
        raise RightsError("request", "the request is closed; a closed request is not verified", 409)
    if request.verified_at is not None:
        raise RightsError("request", "the request is already verified", 409)
    if request.status not in (Status.RECEIVED.value, Status.VERIFYING.value, Status.HELD.value):
        raise RightsError("request", "only a request waiting for verification can be verified", 409)
    text = (note or "").strip()
    if not text:
        raise RightsError(
            "body.note", "describe how you verified the person (method and what you checked)"
        )
    if len(text) > MANUAL_NOTE_MAX:
        raise RightsError("body.note", f"the note must be at most {MANUAL_NOTE_MAX} characters")
    if level is None or not 0 <= level <= MANUAL_LEVEL_MAX:
        raise RightsError(
            "body.level", f"give the number of data points you matched (0-{MANUAL_LEVEL_MAX})"
        )
    needed = requirement(session, svc, request)
    if level < needed.data_points:
        raise RightsError(
            "body.level",
            f"this request needs at least {needed.data_points} matched data points",
        )
    if needed.declaration and not declaration:
        raise RightsError(
            "body.declaration",
            "this request needs the consumer's signed declaration: confirm you received it",
        )
    now = utcnow()
    for token in session.scalars(
        select(RequestToken).where(
            RequestToken.request_id == request.id,
            RequestToken.purpose == TokenPurpose.VERIFY.value,
            RequestToken.used_at.is_(None),
        )
    ):
        token.used_at = now
    request.verified_at = now
    request.verification_points = level
    if declaration:
        request.declaration_at = now
    sealed_note = seal_value(svc.keys, organization_id, request.reference, NOTE_FIELD, text)
    log_event(
        session,
        request,
        "verified_manually",
        actor,
        {
            "method": "manual",
            "staff": actor.id,
            "level": level,
            "declaration": declaration,
            "note_sealed": base64.b64encode(sealed_note).decode("ascii"),
        },
    )
    if request.status == Status.HELD.value:
        return request
    request.status = Status.IN_PROGRESS.value
    queue_execution(session, svc, request)
    return request


def manual_note(svc: Services, request: RightsRequest, details: dict[str, object]) -> str | None:
    """The note of a `verified_manually` timeline event, opened (None if it has none)."""
    sealed = details.get("note_sealed")
    if not isinstance(sealed, str):
        return None
    value = open_value(
        svc.keys, request.organization_id, request.reference, NOTE_FIELD, base64.b64decode(sealed)
    )
    return str(value)
