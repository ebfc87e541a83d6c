"""Shared SMS numbers: one sending number (long code or short code) used for several clients.

A BPO registers the number with the clients that send from it and a routing:

- `last_sender`: a STOP (or a free-text revocation) goes to the client whose message was last
  sent to that person from that number (what the person is answering). When no send to that
  person from that number is on record, or two clients' last sends are equally recent, it is
  ambiguous and goes to every client on the number: a STOP is never lost or given to nobody.
- `all`: every STOP goes to every client on the number.

STOPALL always goes to every client on the number. START goes to the last sender only and,
when ambiguous, to nobody (an opt-in is never given to a client the person did not choose);
the answer says so. HELP is answered once. Each client's ledger gets the event through the
consent package's own SMS handling (`consent.sms.handle`, scoped to the number), so the
client's decisions read it as they read their own numbers' STOPs; the person gets one reply.

Who sent what is recorded by the clients' dialers (`record_sent`): one row per (number,
person, client) with the last send time. The person is named by the BPO's blind index of the
number, never the number itself, and no client ever reads another client's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.audit.chain import lock_chain
from honorbound.bpo.clients import client_of
from honorbound.consent import sms
from honorbound.consent.identity import identify
from honorbound.consent.keywords import Keyword, classify
from honorbound.consent.models import SmsInbound
from honorbound.consent.rules import ContactRules
from honorbound.crypto.keyring import KeyRing
from honorbound.db.base import Base, utcnow
from honorbound.errors import FieldError
from honorbound.notify import outbox
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize_phone

MAX_CLIENTS_PER_NUMBER = 200


class Routing(StrEnum):
    LAST_SENDER = "last_sender"
    ALL = "all"


class SharedNumber(Base):
    __tablename__ = "bpo_shared_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    bpo_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # E.164 (+12125550100) or a short code's digits; one BPO owns a number.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    routing: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SharedNumberClient(Base):
    __tablename__ = "bpo_shared_number_clients"
    __table_args__ = (
        UniqueConstraint("shared_number_id", "organization_id", name="uq_bpo_shared_number_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_number_id: Mapped[int] = mapped_column(
        ForeignKey("bpo_shared_numbers.id", ondelete="CASCADE")
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)


class SharedSend(Base):
    """The last time a client sent to a person from a shared number."""

    __tablename__ = "bpo_shared_sends"
    __table_args__ = (
        UniqueConstraint(
            "shared_number_id", "person_index", "organization_id", name="uq_bpo_shared_send"
        ),
        Index("ix_bpo_shared_sends_person", "shared_number_id", "person_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_number_id: Mapped[int] = mapped_column(
        ForeignKey("bpo_shared_numbers.id", ondelete="CASCADE")
    )
    person_index: Mapped[str] = mapped_column(String(64))  # the BPO's blind index of the number
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    sent_at: Mapped[dt.datetime] = mapped_column()


class SharedNumberError(FieldError, ValueError):
    """A shared number's configuration that cannot be used; `field` names the input."""

    title = "Invalid shared number"


def normalize_number(value: str) -> str:
    """A short code's digits, or the E.164 form of a phone number. Raises SharedNumberError."""
    code = sms.short_code(value)
    if code is not None:
        return code
    try:
        return normalize_phone(value.strip())
    except (InvalidIdentity, ValueError):
        raise SharedNumberError(
            "number", "number must be a phone number (+12125550100) or a 5-6 digit short code"
        ) from None


@dataclass(frozen=True)
class NumberView:
    number: str
    routing: str
    clients: list[str]  # slugs


def configure(
    session: Session,
    bpo_id: int,
    number: str,
    client_ids: Sequence[int],
    routing: str,
    actor: Actor,
) -> NumberView:
    """Register (or re-configure) a shared number of this BPO. Every client must be one of the
    BPO's; a number registered by another BPO is refused (it is that BPO's)."""
    normalized = normalize_number(number)
    try:
        chosen = Routing(routing)
    except ValueError:
        raise SharedNumberError("routing", "routing must be last_sender or all") from None
    if not client_ids:
        raise SharedNumberError("clients", "name at least one client that sends from it")
    if len(client_ids) > MAX_CLIENTS_PER_NUMBER:
        raise SharedNumberError("clients", f"at most {MAX_CLIENTS_PER_NUMBER} clients a number")
    clients = []
    for client_id in dict.fromkeys(client_ids):
        try:
            clients.append(client_of(session, bpo_id, client_id))
        except LookupError:
            raise SharedNumberError(
                "clients", f"no client with id {client_id} at your BPO"
            ) from None
    row = session.scalar(select(SharedNumber).where(SharedNumber.number == normalized))
    if row is not None and row.bpo_id != bpo_id:
        raise SharedNumberError("number", "that number is registered by another organization")
    if row is None:
        row = SharedNumber(bpo_id=bpo_id, number=normalized, routing=chosen.value)
        session.add(row)
        session.flush()
    row.routing = chosen.value
    session.execute(delete(SharedNumberClient).where(SharedNumberClient.shared_number_id == row.id))
    for client in clients:
        session.add(SharedNumberClient(shared_number_id=row.id, organization_id=client.id))
    session.flush()
    append(
        session,
        bpo_id,
        actor,
        "sms.shared_number_configured",
        "shared_number",
        row.id,
        {"number": normalized, "routing": chosen.value, "clients": [c.id for c in clients]},
    )
    return NumberView(normalized, chosen.value, [c.slug for c in clients])


def numbers_of(session: Session, bpo_id: int) -> list[NumberView]:
    found = []
    for row in session.scalars(
        select(SharedNumber).where(SharedNumber.bpo_id == bpo_id).order_by(SharedNumber.number)
    ):
        slugs = session.scalars(
            select(Organization.slug)
            .join(SharedNumberClient, SharedNumberClient.organization_id == Organization.id)
            .where(SharedNumberClient.shared_number_id == row.id)
            .order_by(Organization.slug)
        ).all()
        found.append(NumberView(row.number, row.routing, list(slugs)))
    return found


def _number_for_client(session: Session, organization_id: int, number: str) -> SharedNumber:
    row = session.scalar(
        select(SharedNumber)
        .join(SharedNumberClient, SharedNumberClient.shared_number_id == SharedNumber.id)
        .where(
            SharedNumber.number == normalize_number(number),
            SharedNumberClient.organization_id == organization_id,
        )
    )
    if row is None:
        raise SharedNumberError(
            "from", "that number is not a shared number this organization sends from"
        )
    return row


def record_sent(
    session: Session,
    keys: KeyRing,
    organization_id: int,
    from_number: str,
    to: str,
    sent_at: dt.datetime | None = None,
) -> None:
    """A client's dialer reports a message sent to `to` from the shared `from_number`."""
    when = sent_at or utcnow()
    if when.tzinfo is None:
        raise SharedNumberError("sent_at", "sent_at needs a time zone")
    if when > utcnow() + dt.timedelta(minutes=5):
        raise SharedNumberError("sent_at", "sent_at is in the future")
    shared = _number_for_client(session, organization_id, from_number)
    try:
        person = identify(keys, shared.bpo_id, to, IdentityKind.PHONE).index
    except (InvalidIdentity, ValueError):
        raise SharedNumberError("to", "to must be a phone number") from None
    row = session.scalar(
        select(SharedSend).where(
            SharedSend.shared_number_id == shared.id,
            SharedSend.person_index == person,
            SharedSend.organization_id == organization_id,
        )
    )
    if row is None:
        session.add(
            SharedSend(
                shared_number_id=shared.id,
                person_index=person,
                organization_id=organization_id,
                sent_at=when,
            )
        )
    elif when > row.sent_at:
        row.sent_at = when
    session.flush()


@dataclass(frozen=True)
class Routed:
    kind: str
    duplicate: bool
    clients: list[int]  # the clients the message was applied to
    ambiguous: bool  # no single last sender: applied to all (STOP) or to none (START)


def shared_number(session: Session, number: str) -> SharedNumber | None:
    try:
        normalized = normalize_number(number)
    except SharedNumberError:
        return None
    return session.scalar(select(SharedNumber).where(SharedNumber.number == normalized))


def route_inbound(
    session: Session,
    keys: KeyRing,
    jobs: outbox.Enqueuer | None,
    shared: SharedNumber,
    message: sms.Inbound,
    rules: ContactRules,
    program_of: dict[int, sms.Program],
    bpo_program: sms.Program,
    detector: sms.RevocationDetector | None = None,
) -> Routed:
    """Apply one inbound message on a shared number to the right clients (module docstring).
    All in the caller's transaction: the BPO-level dedupe row and every client's event are
    written together or not at all (the gateway retries a failed delivery)."""
    if normalize_number(message.recipient) != shared.number:
        raise sms.SmsError("To", "To is not the number this webhook is for")
    lock_chain(session, shared.bpo_id)
    seen = session.scalar(
        select(SmsInbound).where(
            SmsInbound.organization_id == shared.bpo_id,
            SmsInbound.message_id == message.message_id,
        )
    )
    if seen is not None:
        return Routed(seen.kind, True, [], False)
    try:
        person = identify(keys, shared.bpo_id, message.sender, IdentityKind.PHONE).index
    except (InvalidIdentity, ValueError):
        raise sms.SmsError("From", "From must be a phone number") from None
    keyword = classify(message.body, rules.sms)
    kind = keyword.value if keyword is not Keyword.NONE else "other"
    if keyword is Keyword.NONE and detector is not None and detector(message.body):
        kind = "revocation"
    members = list(
        session.scalars(
            select(SharedNumberClient.organization_id)
            .where(SharedNumberClient.shared_number_id == shared.id)
            .order_by(SharedNumberClient.organization_id)
        )
    )
    sends = session.execute(
        select(SharedSend.organization_id, SharedSend.sent_at).where(
            SharedSend.shared_number_id == shared.id,
            SharedSend.person_index == person,
            SharedSend.organization_id.in_(members),
        )
    ).all()
    last: int | None = None
    if sends:
        newest = max(s[1] for s in sends)
        at_newest = [s[0] for s in sends if s[1] == newest]
        last = at_newest[0] if len(at_newest) == 1 else None
    ambiguous = last is None
    if kind == Keyword.STOP_ALL.value or shared.routing == Routing.ALL.value:
        targets = members
    elif kind in (Keyword.STOP.value, "revocation"):
        targets = members if last is None else [last]
    elif kind in (Keyword.START.value, Keyword.HELP.value):
        targets = [] if last is None else [last]
    else:
        targets = []
    if kind == Keyword.START.value and shared.routing == Routing.ALL.value:
        targets = [] if last is None else [last]  # never opt anyone in to every client
    if kind == Keyword.HELP.value and not targets:
        # Answered once in the BPO's name (this also records the BPO's dedupe row).
        sms.handle(session, keys, jobs, shared.bpo_id, message, rules, bpo_program)
    else:
        session.add(
            SmsInbound(organization_id=shared.bpo_id, message_id=message.message_id, kind=kind)
        )
    for n, organization_id in enumerate(targets):
        program = program_of[organization_id] if len(targets) == 1 else bpo_program
        sms.handle(
            session,
            keys,
            jobs,
            organization_id,
            message,
            rules,
            program,
            detector=detector,
            reply=n == 0,
        )
    append(
        session,
        shared.bpo_id,
        sms.CONSUMER,
        "sms.shared_number_routed",
        "shared_number",
        shared.id,
        {"kind": kind, "clients": targets, "ambiguous": ambiguous},
    )
    session.flush()
    return Routed(kind, False, targets, ambiguous)
