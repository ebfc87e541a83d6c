"""Put messages in the outbox, read them back for staff, and deliver them."""

from __future__ import annotations

import json
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
) -> OutboxMessage:
    """Queue one message in the caller's transaction; delivery is a job sent after commit."""
    key = keys.outbox_key(organization_id)
    content = json.dumps({"subject": subject, "body": body, "headers": headers or {}}).encode()
    aad = f"outbox:{organization_id}".encode()
    message = OutboxMessage(
        organization_id=organization_id,
        subject_ref=subject_ref,
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


def unseal(keys: KeyRing, row: OutboxMessage) -> Message:
    key = keys.outbox_key(row.organization_id)
    aad = f"outbox:{row.organization_id}".encode()
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
    session: Session, keys: KeyRing, transports: dict[str, Transport], message_id: int
) -> str:
    """Send one message if a transport exists for its channel; returns the new status."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        return "missing"  # erased with its subject before delivery
    if row.status == OutboxStatus.SENT:
        return row.status
    transport = transports.get(row.channel)
    if transport is None:
        row.note = f"held: no {row.channel} transport is configured"
        return row.status
    row.attempts += 1
    transport.send(unseal(keys, row))
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
