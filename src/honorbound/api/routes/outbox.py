from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from honorbound.accounts.service import Principal
from honorbound.api.deps import Offset, ReadSessionDep, RowId, RuntimeDep, require
from honorbound.api.problems import Problem
from honorbound.notify.models import OutboxMessage
from honorbound.notify.outbox import list_messages, unseal

router = APIRouter(prefix="/v1/outbox", tags=["outbox"])
Reader = Annotated[Principal, Depends(require("outbox.read"))]


class MessageSummary(BaseModel):
    id: int
    channel: str
    kind: str
    status: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    note: str
    attempts: int = 0
    # The Message-ID header, the same on every attempt: a copy resent after a crash is
    # recognisable by it.
    message_id: str | None = None
    # The mail server's answer to the last attempt (the address replaced by <recipient>).
    outcome: str = ""


class MessageDetail(MessageSummary):
    recipient: str
    subject: str
    body: str
    headers: dict[str, str]


def _summary(row: OutboxMessage) -> MessageSummary:
    return MessageSummary(
        id=row.id,
        channel=row.channel,
        kind=row.kind,
        status=row.status,
        created_at=row.created_at,
        sent_at=row.sent_at,
        note=row.note,
        attempts=row.attempts,
        message_id=row.message_id,
        outcome=row.outcome,
    )


@router.get("", response_model=list[MessageSummary])
def list_outbox(
    principal: Reader,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[MessageSummary]:
    return [_summary(r) for r in list_messages(session, principal.organization_id, limit, offset)]


@router.get("/{message_id}", response_model=MessageDetail)
def get_message(
    message_id: RowId, principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> MessageDetail:
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.id == message_id,
            OutboxMessage.organization_id == principal.organization_id,
        )
    )
    if row is None:
        raise Problem(404, "Not found", "No outbox message with that id in your organization.")
    message = unseal(runtime.keys, row, runtime.vault_keys)
    return MessageDetail(
        **_summary(row).model_dump(),
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        headers=message.headers,
    )
