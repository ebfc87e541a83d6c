"""Inbound SMS: carrier keywords and free-text revocations become ledger events, with one reply.

A gateway posts `From`, `To`, `Body` and a message id. The number is opted out of that sender
(`STOP` and kin) or of every sender (`STOPALL`), re-subscribed (`START`, `UNSTOP`, `YES`), or
sent the help text (`HELP`, `INFO`). Each answer is one message through the outbox, with no
marketing in it. The same message id seen twice changes nothing and sends nothing.

The signature check is pluggable (`SignatureCheck`); `HmacUrlParams` is the common gateway
scheme: base64(HMAC-SHA1(secret, URL + each sorted parameter name and value)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.audit.chain import lock_chain
from honorbound.consent import ledger
from honorbound.consent.identity import Keys, identify
from honorbound.consent.keywords import Keyword, classify
from honorbound.consent.keywords import language as keyword_language
from honorbound.consent.models import Action, ConsentChannel, Purpose, SmsInbound, Source
from honorbound.consent.rules import ContactRules
from honorbound.crypto.keyring import KeyRing
from honorbound.errors import FieldError
from honorbound.notify import outbox
from honorbound.notify.models import Channel
from honorbound.vault.identities import IdentityKind, normalize_phone

CONSUMER = Actor("consumer", "consumer")
MESSAGE_ID_FIELDS = ("MessageSid", "SmsMessageSid", "MessageId", "message_id", "id")

# Free text that means "stop" (e.g. "please don't text me anymore"): the detection engine's
# OPT_OUT_REQUEST, passed in by the caller. Returns True when the text is a revocation.
RevocationDetector = Callable[[str], bool]


def detect_revocation(text: str) -> bool:
    """The detection engine's OPT_OUT_REQUEST intent ("please don't text me again")."""
    from honorbound.detect import scan

    return any(f.type == "OPT_OUT_REQUEST" for f in scan(text, entities=["OPT_OUT_REQUEST"]))


class SignatureCheck(Protocol):
    def valid(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]) -> bool: ...


@dataclass(frozen=True)
class HmacUrlParams:
    """base64(HMAC-SHA1(secret, url + name1 + value1 + ...)) with names sorted, in `header`."""

    secret: bytes
    header: str = "x-twilio-signature"

    def expected(self, url: str, params: Mapping[str, str]) -> str:
        data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
        digest = hmac.new(self.secret, data.encode("utf-8"), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    def valid(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        given = headers.get(self.header, "")
        return bool(given) and hmac.compare_digest(given, self.expected(url, params))


def webhook_secret(keys: Keys, organization_id: int) -> bytes:
    """The secret the organization configures at its SMS gateway (shown by the CLI)."""
    return keys.derived(f"org:{organization_id}:sms-webhook").hex().encode("ascii")


def short_code(value: str) -> str | None:
    """A short code's 5-6 digits (a sending number that is not a phone number), else None."""
    text = value.strip()
    return text if text.isdigit() and len(text) in (5, 6) else None


class SmsError(FieldError, ValueError):
    """An inbound message that cannot be read; `field` names the form field at fault."""

    title = "Invalid message"


@dataclass(frozen=True)
class Inbound:
    sender: str  # the person's number (From)
    recipient: str  # our number (To)
    body: str
    message_id: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Inbound:
        message_id = next((form[f] for f in MESSAGE_ID_FIELDS if form.get(f)), "")
        for name, value in (("From", form.get("From")), ("To", form.get("To"))):
            if not value:
                raise SmsError(name, f"{name} is missing")
        if not message_id:
            raise SmsError("MessageSid", "the message id (MessageSid or MessageId) is missing")
        if len(message_id) > 120:
            raise SmsError("MessageSid", "the message id is longer than 120 characters")
        return cls(form["From"], form["To"], form.get("Body", ""), message_id)


@dataclass(frozen=True)
class Program:
    """What the HELP answer says about the messaging program."""

    name: str
    contact: str
    frequency: str


@dataclass(frozen=True)
class Outcome:
    kind: str  # stop | stop_all | start | help | revocation | other
    duplicate: bool
    event_id: int | None
    reply_id: int | None


def handle(
    session: Session,
    keys: KeyRing,
    jobs: outbox.Enqueuer | None,
    organization_id: int,
    message: Inbound,
    rules: ContactRules,
    program: Program,
    detector: RevocationDetector | None = None,
    subject_id: int | None = None,
    reply: bool = True,
) -> Outcome:
    """Apply one inbound message. Raises SmsError for a number that is not a number.
    `reply=False`: record it but send nothing (a shared number applying one STOP to several
    clients sends the one confirmation CTIA allows, not one per client)."""
    # Serialize with the organization's other consent writes before looking for the message
    # id: a gateway's retry arriving at the same moment then finds the first copy.
    lock_chain(session, organization_id)
    seen = session.scalar(
        select(SmsInbound).where(
            SmsInbound.organization_id == organization_id,
            SmsInbound.message_id == message.message_id,
        )
    )
    if seen is not None:
        return Outcome(seen.kind, True, None, None)
    try:
        person = identify(keys, organization_id, message.sender, IdentityKind.PHONE)
        our_number = short_code(message.recipient) or normalize_phone(message.recipient)
    except ValueError:
        raise SmsError("From/To", "From and To must be phone numbers") from None

    keyword = classify(message.body, rules.sms)
    kind = keyword.value if keyword is not Keyword.NONE else "other"
    if keyword is Keyword.NONE and detector is not None and detector(message.body):
        kind = "revocation"
    session.add(
        SmsInbound(organization_id=organization_id, message_id=message.message_id, kind=kind)
    )

    event_id: int | None = None
    text: str | None = None
    replies = rules.sms.replies(keyword_language(message.body, rules.sms))
    frequency = (
        replies.default_frequency
        if program.frequency == rules.sms.default_frequency
        else program.frequency
    )
    facts = {"program": program.name, "contact": program.contact, "frequency": frequency}
    if kind in (Keyword.STOP.value, Keyword.STOP_ALL.value, "revocation", Keyword.START.value):
        action = Action.OPT_IN if kind == Keyword.START.value else Action.OPT_OUT
        scope = "" if kind == Keyword.STOP_ALL.value else our_number
        # CTIA allows one confirmation of an opt-out and nothing after it: a number already
        # opted out of this sender by text (and so confirmed) that texts STOP again gets no
        # second reply; the event is still recorded. The same for START when already
        # subscribed by text. An opt-out recorded another way (a call, a letter) was never
        # confirmed by text: the first STOP is.
        before = ledger.effective_action(
            ledger.history(session, organization_id, person.index),
            Purpose.ALL.value,
            ConsentChannel.SMS.value,
            scope,
        )
        already = (
            before is not None
            and before.action == action.value
            and before.source == Source.SMS_KEYWORD.value
        )
        event, _ = ledger.record(
            session,
            organization_id,
            person,
            Purpose.ALL.value,
            ConsentChannel.SMS.value,
            action.value,
            Source.SMS_KEYWORD.value,
            CONSUMER,
            scope=scope,
            subject_id=subject_id,
            evidence={"keyword": kind},
            external_ref=f"sms:{message.message_id}",
        )
        event_id = event.id
        template = (
            replies.start_confirmation if action is Action.OPT_IN else replies.stop_confirmation
        )
        text = None if already else template.format(**facts)
    elif kind == Keyword.HELP.value:
        text = replies.help_text.format(**facts)

    reply_id: int | None = None
    if text is not None and reply:
        sent = outbox.put(
            session,
            keys,
            jobs,
            organization_id,
            Channel.SMS,
            f"consent.sms.{kind}",
            message.sender,
            text,
            headers={"From": our_number},
            actor=CONSUMER,
        )
        reply_id = sent.id
    session.flush()
    return Outcome(kind, False, event_id, reply_id)
