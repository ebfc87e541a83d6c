"""Put messages in the outbox, read them back for staff, and deliver them.

Delivery runs in the worker only (the web process has no transports): a slow or broken mail
server delays mail, never a request."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.crypto.aead import open_sealed, seal
from honorbound.db.base import utcnow
from honorbound.db.engine import is_contention
from honorbound.errors import HonorboundError
from honorbound.i18n import N_
from honorbound.jobs.queue import process_gone, worker_id
from honorbound.notify.models import Channel, OutboxMessage, OutboxStatus

DELIVER_JOB = "outbox.deliver"


class KeyRing(Protocol):
    def outbox_key(self, organization_id: int) -> bytes: ...


class DataKeys(Protocol):
    """The vault's key store, as the outbox uses it (honorbound.vault.keystore.KeyStore)."""

    def data_key(self, organization_id: int, key_id: str) -> bytes: ...
    def create_data_key(self, organization_id: int, key_id: str) -> bytes: ...
    def destroy_data_keys(
        self, organization_id: int, key_ids: list[str], journal: bool = ...
    ) -> int: ...


class MessageErased(HonorboundError, LookupError):
    """The message's key was destroyed with its person: nothing of it can be read."""

    status = 410
    title = "Gone"

    def detail(self) -> str:
        return "The person this message was for has been erased; it cannot be read."


EPHEMERAL_PREFIX = "msg"


@dataclass(frozen=True)
class PersonKey:
    """The key a message about one person is sealed under: the person's own data key, or
    (`ephemeral`) a key made for this message alone and destroyed once it is sent, for the
    last message to someone already erased (the deletion confirmation)."""

    key_id: str
    key: bytes

    @property
    def ephemeral(self) -> bool:
        return self.key_id.startswith(EPHEMERAL_PREFIX)


def person_key(data_keys: DataKeys, organization_id: int, key_id: str | None) -> PersonKey:
    """The subject's key when it still exists, else a new key for one message."""
    if key_id:
        try:
            return PersonKey(key_id, data_keys.data_key(organization_id, key_id))
        except LookupError:
            pass  # erased: the message gets a key of its own
    own = EPHEMERAL_PREFIX + secrets.token_hex(14)
    return PersonKey(own, data_keys.create_data_key(organization_id, own))


def _aad(organization_id: int, key_id: str) -> bytes:
    return (
        f"outbox:{organization_id}:{key_id}".encode()
        if key_id
        else f"outbox:{organization_id}".encode()
    )


class Enqueuer(Protocol):
    def enqueue(
        self,
        session: Session,
        name: str,
        payload: dict[str, Any] | None = ...,
        organization_id: int | None = ...,
    ) -> Any: ...


@dataclass(frozen=True)
class Message:
    """A message as staff and transports see it, after unsealing."""

    id: int
    organization_id: int
    channel: str
    kind: str
    recipient: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    status: str = OutboxStatus.PENDING
    note: str = ""
    message_id: str | None = None  # the Message-ID header, the same on every attempt


def put(
    session: Session,
    keys: KeyRing,
    jobs: Enqueuer | None,
    organization_id: int,
    channel: Channel,
    kind: str,
    recipient: str,
    body: str,
    subject: str = "",
    headers: dict[str, str] | None = None,
    subject_ref: str = "",
    actor: Actor | None = None,
    sealed_for: PersonKey | None = None,
) -> OutboxMessage:
    """Queue one message in the caller's transaction; delivery is a job sent after commit.
    `sealed_for`: seal it under that person's key (see `person_key`), so erasing the person
    erases the message."""
    key_id = sealed_for.key_id if sealed_for is not None else ""
    key = sealed_for.key if sealed_for is not None else keys.outbox_key(organization_id)
    content = json.dumps({"subject": subject, "body": body, "headers": headers or {}}).encode()
    aad = _aad(organization_id, key_id)
    message = OutboxMessage(
        organization_id=organization_id,
        subject_ref=subject_ref,
        key_id=key_id,
        channel=channel.value,
        kind=kind,
        recipient_sealed=seal(key, recipient.encode(), aad),
        content_sealed=seal(key, content, aad),
    )
    session.add(message)
    session.flush()
    append(
        session,
        organization_id,
        actor or Actor.system(),
        "outbox.queued",
        "outbox",
        message.id,
        {"channel": channel.value, "kind": kind},
    )
    if jobs is not None:
        jobs.enqueue(
            session, DELIVER_JOB, {"message_id": message.id}, organization_id=organization_id
        )
    return message


def unseal(keys: KeyRing, row: OutboxMessage, data_keys: DataKeys | None = None) -> Message:
    """The message in clear; `MessageErased` when its person's key is gone."""
    if row.key_id:
        if data_keys is None:
            raise MessageErased("this message is sealed under a person's key: pass the key store")
        try:
            key = data_keys.data_key(row.organization_id, row.key_id)
        except LookupError:
            raise MessageErased("the person this message was for has been erased") from None
    else:
        key = keys.outbox_key(row.organization_id)
    aad = _aad(row.organization_id, row.key_id)
    content = json.loads(open_sealed(key, row.content_sealed, aad))
    return Message(
        id=row.id,
        organization_id=row.organization_id,
        channel=row.channel,
        kind=row.kind,
        recipient=open_sealed(key, row.recipient_sealed, aad).decode(),
        subject=content["subject"],
        body=content["body"],
        headers=content["headers"],
        status=row.status,
        note=row.note,
        message_id=row.message_id,
    )


# Why a staff member reads a sealed message: chosen from this list, so the audit entry says
# why without holding free text (audit details never hold personal data).
REVEAL_REASONS: dict[str, str] = {
    "delivery_problem": N_("Checking a message that was not delivered"),
    "consumer_question": N_("The person asked what we sent them"),
    "no_mail_server": N_("No mail server is configured: passing the message on by hand"),
    "development": N_("Trying a journey on a development or demo installation"),
}


class UnknownMessage(HonorboundError, LookupError):
    status = 404
    title = "Not found"


def reveal(
    session: Session,
    keys: KeyRing,
    data_keys: DataKeys,
    organization_id: int,
    message_id: int,
    actor: Actor,
    reason: str,
) -> Message:
    """One message in clear for a staff member, logged (audit `outbox.revealed` with the
    reason chosen from REVEAL_REASONS). `ValueError` for another reason, `UnknownMessage`,
    `MessageErased`."""
    if reason not in REVEAL_REASONS:
        raise ValueError("choose why you need to read the message")
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.organization_id == organization_id
        )
    )
    if row is None:
        raise UnknownMessage("no such message in this organization")
    message = unseal(keys, row, data_keys)
    append(
        session,
        organization_id,
        actor,
        "outbox.revealed",
        "outbox_message",
        row.id,
        {"kind": row.kind, "reason": reason},
    )
    return message


def list_messages(
    session: Session, organization_id: int, limit: int = 100, offset: int = 0
) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.organization_id == organization_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


class Transport(Protocol):
    channel: Channel

    def send(self, message: Message) -> str | None:
        """Hand the message over; return what the server said when it accepted it. Raise
        `SendError` when the server refused it, anything else when the outcome is unknown."""
        ...


class SendError(HonorboundError):
    """The server answered and did not take the message. `permanent` (5xx): trying again
    cannot help; otherwise (4xx) it is tried again later."""

    status = 502
    title = "Delivery failed"

    def __init__(self, reply: str, permanent: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


class DeliveryDeferred(HonorboundError):
    """Not delivered yet; the job runs again later (the queue's back-off)."""

    status = 503
    title = "Delivery deferred"


Sessions = Callable[[], AbstractContextManager[Session]]
DEFAULT_LEASE = dt.timedelta(minutes=5)


def _abandoned(row: OutboxMessage, now: dt.datetime) -> bool:
    """An attempt whose worker died or whose lease ran out, or one of this process's that
    ended without its outcome written (the caller holds the in-flight mark, so no thread of
    this process is on it): its outcome is unknown."""
    return (
        row.attempt_by == worker_id()
        or (row.attempt_until is not None and row.attempt_until < now)
        or process_gone(row.attempt_by)
    )


def _redact(reply: str, recipient: str) -> str:
    # Servers quote the address in refusals; the outcome column is not sealed.
    text = reply.replace(recipient, "<recipient>") if recipient else reply
    return text[:500]


def _new_message_id(transport: Transport, row: OutboxMessage) -> str:
    make = getattr(transport, "message_id", None)
    if callable(make):
        return str(make(row.id))
    return f"<{uuid.uuid4().hex}.outbox{row.id}@honorbound.invalid>"


def _claim(
    session: Session,
    keys: KeyRing,
    transports: dict[str, Transport],
    data_keys: DataKeys | None,
    row: OutboxMessage,
    worker: str,
    lease: dt.timedelta,
) -> Message | str:
    """Step 1 of `deliver`: the message, claimed for `worker` with its Message-ID fixed; or
    the status when there is nothing to send (finished, held, erased)."""
    if row.status in (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.ERASED):
        return row.status
    transport = transports.get(row.channel)
    if transport is None:
        row.note = f"held: no {row.channel} transport is configured"
        return row.status
    try:
        unsealed = unseal(keys, row, data_keys)
    except MessageErased:
        row.status = OutboxStatus.ERASED
        row.note = "not sent: the person was erased before delivery"
        return row.status
    now = utcnow()
    if row.status == OutboxStatus.SENDING and not _abandoned(row, now):
        raise DeliveryDeferred("another worker is sending this message")
    header = row.message_id or _new_message_id(transport, row)
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == row.status,
            OutboxMessage.attempt_by == row.attempt_by,
        )
        .values(
            status=OutboxStatus.SENDING,
            attempts=OutboxMessage.attempts + 1,
            attempt_by=worker,
            attempt_until=now + lease,
            message_id=header,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DeliveryDeferred("another worker claimed this message first")
    return replace(unsealed, message_id=header)


def deliver(
    sessions: Sessions,
    keys: KeyRing,
    transports: dict[str, Transport],
    message_id: int,
    lease: dt.timedelta = DEFAULT_LEASE,
    data_keys: DataKeys | None = None,
) -> str:
    """Send one message if a transport exists for its channel; returns its status. A message
    whose person was erased meanwhile is never sent (status `erased`); a message with a key of
    its own has that key destroyed once it is recorded as sent.

    Three steps, none holding a transaction across the network: (1) claim the message for
    this worker (status `sending`, a lease) and fix its Message-ID; (2) talk to the server;
    (3) record what the server answered together with the status it leads to, and the audit
    entry when it was sent. A worker that dies in (2) leaves the message `sending`; the next
    attempt (its process gone, or the lease over) sends it again with the same Message-ID,
    so a copy the server had already taken is recognisable as a duplicate.

    Raises DeliveryDeferred when it should be tried again later (another worker is on it, the
    server said 4xx or did not answer)."""
    worker = worker_id()
    with _local:
        attempt = _unrecorded.pop(message_id, None)
        if attempt is None and message_id in _in_flight:
            raise DeliveryDeferred("this worker is sending this message already")
        _in_flight.add(message_id)
    try:
        if attempt is None:
            # Steps 1 and 2 (an answer this process could not write down skips them).
            with sessions() as session:
                row = session.get(OutboxMessage, message_id)
                if row is None:
                    return "missing"  # erased with its subject before delivery
                claim = _claim(session, keys, transports, data_keys, row, worker, lease)
                organization_id, key_id = row.organization_id, row.key_id
            if not isinstance(claim, Message):
                if claim == OutboxStatus.SENT:
                    # A worker that died between recording the message sent and destroying
                    # its own key left the key behind; the job runs again and finishes that.
                    _destroy_own_key(data_keys, organization_id, key_id)
                return claim
            attempt = _send(transports[claim.channel], claim, key_id)
        try:
            sent = _record(sessions, worker, attempt)
        except Exception:
            # The server's answer is known but could not be written (the database stayed
            # busy): the job's retry in this process writes it instead of sending again.
            with _local:
                _unrecorded[message_id] = attempt
            raise
    finally:
        with _local:
            _in_flight.discard(message_id)
    if sent:
        _destroy_own_key(data_keys, attempt.organization_id, attempt.key_id)
    if attempt.retry:
        raise DeliveryDeferred(f"{attempt.note} ({attempt.outcome})")
    return attempt.status


@dataclass(frozen=True)
class _Attempt:
    """What one attempt came to, to be recorded (step 3 of `deliver`)."""

    message_id: int
    organization_id: int
    channel: str
    kind: str
    key_id: str
    status: str
    outcome: str
    note: str
    retry: bool


# This process's attempts under way, and answers it got but could not record yet (by outbox
# id). An attempt in the database under this process's name that is in neither ended without
# a recorded outcome (see `_abandoned`).
_local = threading.Lock()
_in_flight: set[int] = set()
_unrecorded: dict[int, _Attempt] = {}
RECORD_TRIES = 3


def _send(transport: Transport, message: Message, key_id: str) -> _Attempt:
    """Step 2: talk to the server; what it answered and the status that leads to."""
    status, note, retry = OutboxStatus.SENT, "", False
    try:
        outcome = transport.send(message) or "accepted"
    except SendError as exc:
        outcome = exc.reply
        status = OutboxStatus.FAILED if exc.permanent else OutboxStatus.PENDING
        note = "refused by the server" if exc.permanent else "not sent yet; will be tried again"
        retry = not exc.permanent
    except Exception as exc:
        # No answer (dropped connection, timeout): the server may or may not have taken it.
        # The resend carries the same Message-ID.
        outcome = f"no answer from the server ({type(exc).__name__})"
        status, note, retry = OutboxStatus.PENDING, "outcome unknown; will be sent again", True
    return _Attempt(
        message.id,
        message.organization_id,
        message.channel,
        message.kind,
        key_id,
        status,
        _redact(outcome, message.recipient),
        note,
        retry,
    )


def _record(sessions: Sessions, worker: str, attempt: _Attempt) -> bool:
    """Step 3: the server's answer with the status it leads to (and the audit entry when
    sent), in one transaction; tried again briefly while the database is busy. True when the
    message is now recorded as sent by this attempt."""
    for tries in range(1, RECORD_TRIES + 1):
        try:
            with sessions() as session:
                recorded = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == attempt.message_id,
                        OutboxMessage.attempt_by == worker,
                        OutboxMessage.status == OutboxStatus.SENDING,
                    )
                    .values(
                        status=attempt.status,
                        outcome=attempt.outcome,
                        note=attempt.note,
                        attempt_by="",
                        attempt_until=None,
                        sent_at=utcnow() if attempt.status == OutboxStatus.SENT else None,
                    )
                    .execution_options(synchronize_session=False)
                )
                sent = recorded.rowcount == 1 and attempt.status == OutboxStatus.SENT  # type: ignore[attr-defined]
                if sent:
                    append(
                        session,
                        attempt.organization_id,
                        Actor.system(),
                        "outbox.sent",
                        "outbox",
                        attempt.message_id,
                        {"channel": attempt.channel, "kind": attempt.kind},
                    )
            return sent
        except Exception as exc:
            if tries == RECORD_TRIES or not is_contention(exc):
                raise
            time.sleep(tries)
    raise AssertionError("unreachable")


def _destroy_own_key(data_keys: DataKeys | None, organization_id: int, key_id: str) -> None:
    """A message with a key of its own (`PersonKey.ephemeral`) has it destroyed once it is
    recorded as sent; nothing is done when the key is already gone."""
    if data_keys is None or not key_id.startswith(EPHEMERAL_PREFIX):
        return
    try:
        data_keys.data_key(organization_id, key_id)
    except LookupError:
        return
    data_keys.destroy_data_keys(organization_id, [key_id], journal=False)


def pending_ids(session: Session, limit: int = 500) -> list[int]:
    """Messages waiting, and those whose attempt's lease ran out (a worker died sending)."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                or_(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    (OutboxMessage.status == OutboxStatus.SENDING)
                    & (OutboxMessage.attempt_until < utcnow()),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
