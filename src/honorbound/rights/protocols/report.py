"""Telling agents and controllers what became of their requests.

- DRP: a `status_callback` gets the Exercise Status object whenever the status the agent
  would see changes (s.2.03); the PIP tries to get a 200 for the latest update.
- OpenDSR: every `status_callback_urls` entry gets the signed callback (s.8.5, 8.6) when the
  request's status changes: at least once, retried by the next run when one failed.
- Forwarded consumer requests: the controller is mailed a completion notice when the
  request closes.

Each run reads what changed in one unit of work, calls out with no transaction open, and
records the outcome in another. Intermediate states between two runs are not replayed:
the callback carries the status at the time of the call.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.notify.models import Channel
from honorbound.rights.models import OPEN_STATUSES, RightsRequest
from honorbound.rights.outgoing import send
from honorbound.rights.protocols import drp, opendsr
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.forwarding import controller_address
from honorbound.rights.protocols.models import DrpRequest, OpenDsrRequest, ProcessorForward
from honorbound.rights.protocols.urls import CallbackRefused, check_callback

log = logging.getLogger(__name__)
MAX_FAILURES = 48  # with the every-minute run, callbacks are retried for about 48 minutes
OPEN = {s.value for s in OPEN_STATUSES}


@dataclass
class Call:
    kind: str  # "drp" | "opendsr"
    row_id: int
    status: str
    # (url, body bytes, headers) for each address to call
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)


@dataclass
class Reported:
    callbacks_sent: int = 0
    callbacks_failed: int = 0
    completion_notices: int = 0


def _pending(session: Session, ctx: ProtocolContext, rights_request_id: int | None) -> list[Call]:
    calls: list[Call] = []
    drp_rows = select(DrpRequest).where(
        DrpRequest.status_callback.is_not(None), DrpRequest.callback_failures < MAX_FAILURES
    )
    dsr_rows = select(OpenDsrRequest).where(OpenDsrRequest.callback_failures < MAX_FAILURES)
    if rights_request_id is not None:
        drp_rows = drp_rows.where(DrpRequest.rights_request_id == rights_request_id)
        dsr_rows = dsr_rows.where(OpenDsrRequest.rights_request_id == rights_request_id)
    for row in session.scalars(drp_rows):
        rights = session.get(RightsRequest, row.rights_request_id)
        assert rights is not None and row.status_callback is not None
        body = drp.status_of(ctx, row, rights)
        if body["status"] == row.reported_status:
            continue
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        calls.append(Call("drp", row.id, body["status"], [(row.status_callback, raw, headers)]))
    for dsr in session.scalars(dsr_rows):
        rights = session.get(RightsRequest, dsr.rights_request_id)
        assert rights is not None
        status = opendsr.request_status(dsr, rights, ctx)
        if status == dsr.reported_status or not dsr.callback_urls:
            continue
        call = Call("opendsr", dsr.id, status)
        for url in dsr.callback_urls:
            raw, headers = opendsr.signed(ctx, opendsr.status_body(session, ctx, dsr, url), False)
            call.posts.append((url, raw, headers | {"Content-Type": "application/json"}))
        calls.append(call)
    return calls


def _post(ctx: ProtocolContext, url: str, raw: bytes, headers: dict[str, str]) -> bool:
    try:
        check_callback(url, ctx.allow_networks)  # again: the name may resolve elsewhere now
        response = httpx.post(
            url, content=raw, headers=headers, timeout=ctx.callback_timeout, follow_redirects=False
        )
    except (CallbackRefused, httpx.HTTPError) as exc:
        log.warning("protocol callback failed", extra={"error": type(exc).__name__})
        return False
    return 200 <= response.status_code < 300


def _completion_notices(
    session: Session, ctx: ProtocolContext, rights_request_id: int | None
) -> int:
    query = select(ProcessorForward).where(ProcessorForward.completion_sent_at.is_(None))
    if rights_request_id is not None:
        query = query.where(ProcessorForward.rights_request_id == rights_request_id)
    sent = 0
    for row in session.scalars(query):
        rights = session.get(RightsRequest, row.rights_request_id)
        if rights is None or rights.status in OPEN:
            continue
        address = controller_address(session, row.organization_id)
        if address:
            send(
                session,
                ctx.rights,
                row.organization_id,
                Channel.EMAIL,
                "processor.completed",
                address,
                f"Request {rights.reference}, forwarded by your service provider on "
                f"{row.forwarded_at:%Y-%m-%d}, is closed: {rights.status} "
                f"({rights.response or 'no response recorded'}) on "
                f"{(rights.closed_at or utcnow()):%Y-%m-%d}.",
                subject=f"[Honorbound] request {rights.reference} {rights.status}",
                subject_ref=f"rights_request:{rights.id}",
                actor=Actor.system(),
            )
        row.completion_sent_at = utcnow()
        sent += 1
    return sent


def report_changes(
    sessions: Any, ctx: ProtocolContext, rights_request_id: int | None = None
) -> Reported:
    """`sessions` makes a unit of work (`Database.session`)."""
    result = Reported()
    with sessions() as session:
        calls = _pending(session, ctx, rights_request_id)
        result.completion_notices = _completion_notices(session, ctx, rights_request_id)
    outcomes: list[tuple[Call, bool]] = []
    for call in calls:
        ok = all([_post(ctx, url, raw, headers) for url, raw, headers in call.posts])
        outcomes.append((call, ok))
        result.callbacks_sent += ok
        result.callbacks_failed += not ok
    if outcomes:
        with sessions() as session:
            for call, ok in outcomes:
                model = DrpRequest if call.kind == "drp" else OpenDsrRequest
                row = session.get(model, call.row_id)
                if row is None:
                    continue
                if ok:
                    row.reported_status, row.callback_failures = call.status, 0
                else:
                    row.callback_failures += 1
    return result
