"""Put messages in the outbox, read them back for staff, and deliver them."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.crypto.aead import open_sealed, seal
from honorbound.db.base import utcnow
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


class MessageErased(LookupError):
    """The message's key was destroyed with its person: nothing of it can be read."""


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
    )


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

    def send(self, message: Message) -> None: ...


def deliver(
    session: Session,
    keys: KeyRing,
    transports: dict[str, Transport],
    message_id: int,
    data_keys: DataKeys | None = None,
) -> str:
    """Send one message if a transport exists for its channel; returns the new status. A
    message whose person was erased meanwhile is never sent (status `erased`); a message with
    a key of its own has that key destroyed once sent."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        return "missing"  # erased with its subject before delivery
    if row.status == OutboxStatus.SENT:
        return row.status
    transport = transports.get(row.channel)
    if transport is None:
        row.note = f"held: no {row.channel} transport is configured"
        return row.status
    try:
        message = unseal(keys, row, data_keys)
    except MessageErased:
        row.status = OutboxStatus.ERASED
        row.note = "not sent: the person was erased before delivery"
        return row.status
    row.attempts += 1
    transport.send(message)
    if row.key_id.startswith(EPHEMERAL_PREFIX) and data_keys is not None:
        data_keys.destroy_data_keys(row.organization_id, [row.key_id], journal=False)
    row.status = OutboxStatus.SENT
    row.sent_at = utcnow()
    row.note = ""
    append(
        session,
        row.organization_id,
        Actor.system(),
        "outbox.sent",
        "outbox",
        row.id,
        {"channel": row.channel, "kind": row.kind},
    )
    return row.status


def pending_ids(session: Session, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
