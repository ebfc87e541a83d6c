"""Taking a request in: validate, match the subject, merge duplicates, start the clock,
acknowledge with how verification works and when to expect an answer.

The consumer-facing answer is the same whether or not we know the email or phone given (no
enumeration): the caller shows a fixed sentence; everything else goes by mail to the address
given, which only its owner reads.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from honorbound import i18n
from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.policy import store as policy_store
from honorbound.rights import clock, limits, messages
from honorbound.rights.context import Services
from honorbound.rights.errors import RightsError
from honorbound.rights.models import (
    OPEN_STATUSES,
    Manner,
    RequestType,
    RightsRequest,
    Status,
    TokenPurpose,
)
from honorbound.rights.opt_out import apply_opt_out
from honorbound.rights.outgoing import (
    link,
    mail_consumer,
    organization,
    text_consumer,
)
from honorbound.rights.rules import TypeRule
from honorbound.rights.sealing import seal_value
from honorbound.rights.timeline import log_event
from honorbound.rights.tokens import issue
from honorbound.vault.identities import IdentityKind, InvalidIdentity, blind_index, normalize
from honorbound.vault.subjects import find_subject_id

_TERRITORIES = frozenset({"AS", "GU", "MP", "PR", "UM", "VI"})


@cache
def us_states() -> frozenset[str]:
    """The states (and DC) a request may name, from the `holidays` package's US subdivisions;
    read on first use (the package loads some 400 modules, about 19 MB)."""
    import holidays

    return frozenset(holidays.country_holidays("US").subdivisions) - _TERRITORIES


@cache
def us_state_names() -> dict[str, str]:
    """Code -> the name people choose from on forms (same source as the codes; a code without
    a name keeps its code)."""
    import holidays

    aliases: dict[str, str] = getattr(holidays.country_holidays("US"), "subdivisions_aliases", {})
    states = us_states()
    return {code: code for code in states} | {
        code: name for name, code in aliases.items() if code in states
    }


PERIODS = ("12_months", "all")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


@dataclass(frozen=True)
class Correction:
    category: str
    value: str


@dataclass(frozen=True)
class NewRequest:
    type: RequestType
    jurisdiction: str
    manner: Manner
    email: str | None = None
    phone: str | None = None
    corrections: Sequence[Correction] = field(default_factory=tuple)
    agent_name: str | None = None
    agent_permission: bytes | None = None  # the consumer's signed permission (a file)
    received_at: dt.datetime | None = None  # when staff log a request received earlier
    period: str | None = None  # access requests: "12_months" | "all" (default from the rules)
    language: str = "en"  # the consumer's language (honorbound.i18n.LANGUAGES): their mail's
    # A controller pushing a request to its processor (honorbound.rights.protocols.opendsr):
    # it verified the person and answers them itself, so the request is carried out at once,
    # nothing is mailed to the person, and its clock is the contract's (`due_at`).
    controller_verified: bool = False
    due_at: dt.datetime | None = None
    due_source: str | None = None


@dataclass(frozen=True)
class Intake:
    request: RightsRequest
    merged: bool


def new_reference() -> str:
    return "R-" + "".join(secrets.choice(ALPHABET) for _ in range(12))


def add_months(value: dt.datetime, months: int) -> dt.datetime:
    month = value.month - 1 + months
    year, month = value.year + month // 12, month % 12 + 1
    day = min(value.day, 28)
    return value.replace(year=year, month=month, day=day)


def _validate(new: NewRequest, rule: TypeRule) -> tuple[str | None, str | None]:
    """Check the request against its type's row (rights/data/requests.yaml)."""
    if rule.executes == "appeal":
        raise RightsError("body.type", "an appeal is filed with the link in our decision letter")
    state = new.jurisdiction.upper()
    if state not in us_states():
        raise RightsError("body.jurisdiction", "jurisdiction must be a two-letter US state code")
    if not new.email and not new.phone:
        raise RightsError("body.email", "give an email address or a phone number to answer to")
    email = phone = None
    try:
        if new.email:
            email = normalize(IdentityKind.EMAIL, new.email)
    except InvalidIdentity as exc:
        raise RightsError("body.email", str(exc)) from None
    try:
        if new.phone:
            phone = normalize(IdentityKind.PHONE, new.phone)
    except InvalidIdentity as exc:
        raise RightsError("body.phone", str(exc)) from None
    if new.manner is Manner.PORTAL and email is None:
        raise RightsError("body.email", "requests made online need an email address to answer to")
    if rule.executes == "correct" and not new.corrections:
        raise RightsError("body.corrections", "a correction request lists what to correct")
    if rule.executes != "correct" and new.corrections:
        raise RightsError("body.corrections", "only correction requests list corrections")
    if new.manner is Manner.AUTHORIZED_AGENT:
        if not new.agent_name or not new.agent_permission:
            raise RightsError(
                "body.agent",
                "an authorized agent must give their name and upload the consumer's signed "
                "permission",
            )
        if email is None:
            raise RightsError(
                "body.email", "give the consumer's email so they can confirm the agent directly"
            )
    if new.period is not None:
        if rule.executes != "package":
            raise RightsError("body.period", "only access and portability requests choose a period")
        if new.period not in PERIODS:
            raise RightsError("body.period", "period must be '12_months' or 'all'")
    if new.received_at is not None:
        if new.received_at.tzinfo is None:
            raise RightsError("body.received_at", "received_at needs a time zone (e.g. 'Z')")
        if new.received_at > utcnow() + dt.timedelta(minutes=5):
            raise RightsError("body.received_at", "received_at is in the future")
    return email, phone


def _open_duplicate(
    session: Session, organization_id: int, request_type: str, index: str, subject_id: int | None
) -> RightsRequest | None:
    """An open request of the same type from the same contact, or about the same subject."""
    same = RightsRequest.contact_index == index
    if subject_id is not None:
        same = or_(same, RightsRequest.subject_id == subject_id)
    return session.scalar(
        select(RightsRequest)
        .where(
            RightsRequest.organization_id == organization_id,
            same,
            RightsRequest.type == request_type,
            RightsRequest.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(RightsRequest.id)
        .limit(1)
    )


def _match_subject(
    session: Session, svc: Services, organization_id: int, email: str | None, phone: str | None
) -> int | None:
    for kind, value in ((IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone)):
        if value is not None:
            found = find_subject_id(session, svc.vault_keys, organization_id, kind, value)
            if found is not None:
                return found
    return None


def send_verification(
    session: Session, svc: Services, request: RightsRequest, slug: str, org_name: str
) -> None:
    """Acknowledge, with a fresh single-use link (and an SMS code when a phone was given)."""
    settings = svc.rules.settings
    rule = svc.rules.type_rule(request.type)
    verify_link = None
    email_code = None
    if request.contact_sealed is not None:
        issued = issue(
            session,
            svc.keys,
            request.organization_id,
            request.id,
            TokenPurpose.VERIFY,
            dt.timedelta(hours=settings.verify_link_hours),
        )
        verify_link = link(svc, slug, "verify", issued.secret)
        # The alternative to the link: a one-time code typed with the reference on the portal.
        email_code = issue(
            session,
            svc.keys,
            request.organization_id,
            request.id,
            TokenPurpose.VERIFY,
            dt.timedelta(minutes=settings.email_code_minutes),
            channel="email_code",
        ).secret
    mail = messages.acknowledgement(
        org_name,
        request.reference,
        request.type,
        request.due_at,
        verify_link,
        utcnow(),
        rule.data_points,
        rule.signed_declaration,
        request.manner == Manner.AUTHORIZED_AGENT.value,
        code=email_code,
        code_link=f"{svc.base_url}/p/{slug}/requests/code?reference={request.reference}"
        if email_code
        else None,
        code_minutes=settings.email_code_minutes,
        lang=request.language,
    )
    sent = request.contact_sealed is not None and mail_consumer(
        session, svc, request, "acknowledgement", mail
    )
    if request.phone_sealed is not None:
        code = issue(
            session,
            svc.keys,
            request.organization_id,
            request.id,
            TokenPurpose.VERIFY,
            dt.timedelta(minutes=settings.sms_code_minutes),
            channel="sms",
        )
        sent = (
            text_consumer(
                session,
                svc,
                request,
                "code",
                messages.sms_code(org_name, request.reference, code.secret, request.language),
            )
            or sent
        )
    if sent and request.acknowledged_at is None:
        request.acknowledged_at = utcnow()


def take_request(
    session: Session, svc: Services, organization_id: int, new: NewRequest, actor: Actor
) -> Intake:
    """Record a request (or merge it into the open one of the same type and person)."""
    rule = svc.rules.type_rule(new.type.value)
    email, phone = _validate(new, rule)
    org = organization(session, organization_id)
    index_key = svc.keys.blind_index_key(organization_id)
    index = (
        blind_index(index_key, IdentityKind.EMAIL, email)
        if email
        else blind_index(index_key, IdentityKind.PHONE, phone or "")
    )
    subject_id = _match_subject(session, svc, organization_id, email, phone)
    duplicate = _open_duplicate(session, organization_id, new.type.value, index, subject_id)
    if duplicate is not None:
        duplicate.merged_count += 1
        duplicate.language = i18n.supported(new.language) or duplicate.language
        log_event(session, duplicate, "duplicate_merged", actor, {"manner": new.manner.value})
        if duplicate.status == Status.VERIFYING.value:
            send_verification(session, svc, duplicate, org.slug, org.name)
        return Intake(duplicate, True)

    received = new.received_at or utcnow()
    state = new.jurisdiction.upper()
    adopted = policy_store.current(session, organization_id)
    timing = clock.clock_for(
        svc.laws_of(session, organization_id),
        svc.rules,
        new.type.value,
        state,
        received,
        adopted.declaration if adopted else None,
    )
    due_at, clock_note = timing.due_at, f"{timing.period} ({timing.source})"
    if new.due_at is not None:
        due_at, clock_note = new.due_at, new.due_source or "contract"
    keep_contact = not new.controller_verified
    reference = new_reference()
    request = RightsRequest(
        organization_id=organization_id,
        reference=reference,
        type=new.type.value,
        status=Status.RECEIVED.value,
        manner=new.manner.value,
        jurisdiction=state,
        subject_id=subject_id,
        contact_index=index,
        language=i18n.supported(new.language) or i18n.DEFAULT,
        contact_sealed=seal_value(svc.keys, organization_id, reference, "contact", email)
        if email and keep_contact
        else None,
        phone_sealed=seal_value(svc.keys, organization_id, reference, "phone", phone)
        if phone and keep_contact
        else None,
        details_sealed=seal_value(
            svc.keys,
            organization_id,
            reference,
            "details",
            {
                "corrections": [
                    {"category": c.category, "value": c.value} for c in new.corrections
                ],
                "agent_name": new.agent_name,
                # The signed permission itself, kept sealed with the request for staff to
                # check (the hash below tells them it is the file received).
                "agent_permission": base64.b64encode(new.agent_permission).decode()
                if new.agent_permission
                else None,
            },
        )
        if new.corrections or new.agent_name
        else None,
        received_at=received,
        acknowledge_by=timing.acknowledge_by,
        due_at=due_at,
        agent_permission_sha256=hashlib.sha256(new.agent_permission).hexdigest()
        if new.agent_permission
        else None,
        retain_until=add_months(received, svc.laws.california.request_records.keep_months),
    )
    session.add(request)
    session.flush()
    received_details: dict[str, object] = {
        "manner": new.manner.value,
        "jurisdiction": state,
        "due_at": request.due_at.isoformat(),
        "clock": clock_note,
        "agent": new.manner is Manner.AUTHORIZED_AGENT,
    }
    if rule.executes == "package":
        received_details["period"] = new.period or svc.rules.access_period.default_for(state)
    log_event(session, request, "received", actor, received_details)
    excess = limits.check_excess(session, svc.rules, svc.laws, request)
    if excess is not None:
        # May be denied or charged (never dropped): staff decide, with the basis `excessive`.
        log_event(
            session,
            request,
            limits.EXCESS_EVENT,
            actor,
            {
                "count": excess.count,
                "free": excess.free,
                "window_months": excess.window_months,
                "window": excess.window,
                "source": excess.source,
            },
        )
    if new.controller_verified and rule.executes != "opt_out":
        request.verified_at = request.acknowledged_at = utcnow()
        request.verification_points = rule.data_points
        request.status = Status.IN_PROGRESS.value
        log_event(session, request, "verified_by_controller", actor, {"manner": new.manner.value})
        # The caller queues its execution (rights.execution.queue_execution): execution
        # imports intake, so intake does not import execution.
    elif rule.executes == "opt_out":
        # No verification may be required (11 CCR 7026, 7027): apply it now.
        apply_opt_out(session, svc, request, org.name, actor)
    else:
        request.status = Status.VERIFYING.value
        send_verification(session, svc, request, org.slug, org.name)
        if new.manner is Manner.PHONE and request.acknowledged_at is None:
            request.acknowledged_at = utcnow()  # acknowledged orally by the agent (7021(a))
    return Intake(request, False)
