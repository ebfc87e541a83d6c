"""The outbox: every email and SMS the platform sent or will send. The list shows what kind of
message went out, when, and whether it was delivered; recipients and bodies stay sealed. Staff
with `outbox.reveal` read one message in clear, with a reason, logged (`outbox.revealed`): with
no mail server configured (development, the demo) that is how a newcomer follows an emailed
link, which the page makes clickable when it points at this installation."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from honorbound.i18n import N_
from honorbound.notify.models import OutboxMessage
from honorbound.notify.outbox import (
    REVEAL_REASONS,
    Message,
    MessageErased,
    UnknownMessage,
    list_messages,
    reveal,
)
from honorbound.web.forms import ANY, shown_again
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
PAGE = 50
MAX_ID = 2_147_483_647
URL = re.compile(r"https?://[^\s<>\"']+")


def body_parts(body: str, base_url: str) -> list[tuple[str, bool]]:
    """The body as (text, is_link) pieces: only links to this installation become links."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in URL.finditer(body):
        url = match.group(0).rstrip(".,;)")
        if not url.startswith(base_url.rstrip("/") + "/"):
            continue
        parts.append((body[last : match.start()], False))
        parts.append((url, True))
        last = match.start() + len(url)
    parts.append((body[last:], False))
    return [p for p in parts if p[0]]


@router.get("/console/outbox", response_class=HTMLResponse)
def outbox(
    request: Request,
    staff: Annotated[Staff, Depends(staff_with("outbox.read"))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    runtime = request.app.state.runtime
    with runtime.db.read_session() as session:
        messages = list_messages(session, staff.organization_id, PAGE, (page - 1) * PAGE)
    return render(
        request,
        "console/outbox.html",
        staff=staff,
        section="outbox",
        messages=messages,
        page=page,
        more=len(messages) == PAGE,
        no_mail_server=not runtime.settings.smtp_url,
        can_reveal=staff.may("outbox.reveal"),
    )


def _message_page(
    request: Request,
    staff: Staff,
    message_id: int,
    *,
    opened: Message | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    row = None
    if 1 <= message_id <= MAX_ID:
        with runtime.db.read_session() as session:
            row = session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.organization_id == staff.organization_id,
                )
            )
    if row is None:
        return render(request, "console/not_found.html", status=404, staff=staff, what="message")
    return render(
        request,
        "console/outbox_message.html",
        status=status,
        staff=staff,
        section="outbox",
        row=row,
        opened=opened,
        parts=body_parts(opened.body, runtime.settings.base_url) if opened else [],
        reasons=REVEAL_REASONS,
        can_reveal=staff.may("outbox.reveal"),
        error=error,
    )


@router.get("/console/outbox/{message_id}", response_class=HTMLResponse)
def message(
    request: Request, staff: Annotated[Staff, Depends(staff_with("outbox.read"))], message_id: int
) -> Response:
    return _message_page(request, staff, message_id)


ERASED = N_("The person this message was for has been erased; it cannot be read.")


@router.post("/console/outbox/{message_id}/read", response_class=HTMLResponse)
def read_message(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("outbox.reveal"))],
    message_id: int,
    reason: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if not 1 <= message_id <= MAX_ID:
        return render(request, "console/not_found.html", status=404, staff=staff, what="message")
    runtime = request.app.state.runtime
    shown_again(
        request,
        lambda status, error: (
            render(request, "console/not_found.html", status=404, staff=staff, what="message")
            if status == 404
            else _message_page(request, staff, message_id, status=status, error=error)
        ),
        kinds=(UnknownMessage, MessageErased),
        words={(ANY, 410): ERASED},
    )
    try:
        with runtime.db.session() as session:
            opened = reveal(
                session,
                runtime.keys,
                runtime.vault_keys,
                staff.organization_id,
                message_id,
                staff.actor,
                reason,
            )
    except ValueError:
        return _message_page(
            request,
            staff,
            message_id,
            status=422,
            error=N_(
                "Choose why you need to read this message: the reason is kept in the audit log."
            ),
        )
    return _message_page(request, staff, message_id, opened=opened)
