"""OpenDSR 2.0: a client controller's privacy platform pushes requests to the BPO, its
processor (specification.md s.3.2: the controller verifies the person and submits; the
processor fulfills and reports status by callbacks).

- `submit`: `POST /v1/opengdpr_requests` (s.7): checked against the JSON schema written from
  s.7.1.1 (`data/opendsr-request.schema.json`), then taken as a rights request of the client
  organization with manner `controller`, carried out at once (the controller verified the
  person, 11 CCR 7022(c): service providers cooperate on the business's notice), on the
  contract's clock (`ControllerContract.contract_days`), never mailing the person (s.3.2 step 5:
  the controller reports back to them).
- `status` (s.8.1), `cancel` (s.9, while pending), `discovery` (s.6).
- Responses and callbacks are signed (s.7.3, 8.3, 8.6) with our ECDSA P-256 key.

Authentication of the controller is left to the processor (s.4.3): an API key of the client
organization with the `client` role.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.rights.errors import RightsError
from honorbound.rights.execution import queue_execution
from honorbound.rights.intake import NewRequest, take_request
from honorbound.rights.models import Manner, RequestType, RightsRequest, Status
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.errors import ProtocolError
from honorbound.rights.protocols.models import ControllerContract, OpenDsrRequest
from honorbound.rights.protocols.urls import CallbackRefused, check_callback

PENDING_STATUSES = frozenset({Status.RECEIVED.value, Status.VERIFYING.value})
STATE_KEY = "state"  # extensions[<our domain>].state: the US state, for the clock and records


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    text = (
        resources.files("honorbound.rights.protocols") / "data" / "opendsr-request.schema.json"
    ).read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def contract_of(session: Session, organization_id: int) -> ControllerContract:
    contract = session.scalar(
        select(ControllerContract).where(ControllerContract.organization_id == organization_id)
    )
    if contract is None:
        raise ProtocolError(
            403,
            "this organization is not registered as a client controller; an administrator "
            "registers it with PUT /v1/protocols/controller",
        )
    return contract


def _schema_errors(body: Any) -> list[str]:
    found = sorted(validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    out = []
    for error in found[:10]:
        where = ".".join(str(p) for p in error.absolute_path) or "(body)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        # Never echo the value itself back (it may be an identity).
        limit = error.validator_value
        if error.validator == "maxLength":
            message = f"longer than {limit} characters"
        elif error.validator == "pattern":
            message = "not in the required format"
        elif error.validator == "enum":
            message = f"must be one of {', '.join(map(str, limit))}"
        elif error.validator == "maxItems":
            message = f"more than {limit} items"
        out.append(f"{where}: {message}")
    return out


def parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProtocolError(400, "the body is not JSON") from None
    problems = _schema_errors(body)
    if problems:
        raise ProtocolError(
            400,
            "the request does not match the OpenDSR 2.0 schema: " + "; ".join(problems),
            field=problems[0].split(":")[0],
        )
    assert isinstance(body, dict)
    return body


def submit(
    session: Session,
    ctx: ProtocolContext,
    organization_id: int,
    raw: bytes,
    actor: Actor,
    now: dt.datetime,
) -> tuple[OpenDsrRequest, dict[str, Any]]:
    """Take a controller's request; the 201 body (s.7.3) without its signature fields."""
    rules = ctx.rules.opendsr
    body = parse(raw)
    contract = contract_of(session, organization_id)
    kind = body["subject_request_type"]
    if kind not in rules.request_types:
        raise ProtocolError(
            400,
            f"subject_request_type {kind!r} is not supported by this "
            f"processor (see {rules.paths.discovery})",
            field="subject_request_type",
        )
    regulation = body["regulation"]
    if regulation not in rules.regulations:
        raise ProtocolError(
            400,
            f"regulation {regulation!r} is not supported here (supported: "
            f"{', '.join(rules.regulations)})",
            field="regulation",
        )
    state = rules.regulations[regulation]
    ours = (body.get("extensions") or {}).get(ctx.domain) or {}
    if STATE_KEY in ours:
        state = str(ours[STATE_KEY])[:2].upper()
    emails = [
        i["identity_value"]
        for i in body.get("subject_identities", [])
        if (i["identity_type"], i["identity_format"]) == ("email", "raw")
    ]
    if not emails:
        raise ProtocolError(
            400,
            "give the person as an identity of type email, format raw "
            f"(see {rules.paths.discovery})",
            field="subject_identities",
        )
    callbacks = list(body.get("status_callback_urls", []))
    for url in callbacks:
        try:
            check_callback(url, ctx.allow_networks, rules.limits.url_chars)
        except CallbackRefused as exc:
            raise ProtocolError(
                400, f"status_callback_urls: {exc}", field="status_callback_urls"
            ) from None
    subject_request_id = body["subject_request_id"]
    if session.scalar(
        select(OpenDsrRequest.id).where(
            OpenDsrRequest.organization_id == organization_id,
            OpenDsrRequest.subject_request_id == subject_request_id,
        )
    ):
        raise ProtocolError(
            409,
            "a request with this subject_request_id was already received",
            field="subject_request_id",
        )
    submitted = dt.datetime.fromisoformat(body["submitted_time"].replace("Z", "+00:00"))
    due = now + dt.timedelta(days=contract.contract_days)
    new = NewRequest(
        type=RequestType(rules.request_types[kind]),
        jurisdiction=state,
        manner=Manner.CONTROLLER,
        email=emails[0],
        received_at=now,
        controller_verified=True,
        due_at=due,
        due_source=f"contract: {contract.contract_days} days ({contract.contract_source})",
    )
    try:
        with session.begin_nested():
            intake = take_request(session, ctx.rights, organization_id, new, actor)
    except RightsError as exc:
        raise ProtocolError(400, exc.message, field=exc.field) from None
    if not intake.merged and intake.request.status == Status.IN_PROGRESS.value:
        # Verified by the controller: carried out without asking the consumer again.
        queue_execution(session, ctx.rights, intake.request)
    row = OpenDsrRequest(
        organization_id=organization_id,
        subject_request_id=subject_request_id,
        rights_request_id=intake.request.id,
        subject_request_type=kind,
        regulation=regulation,
        submitted_time=submitted,
        received_time=now,
        expected_completion_time=intake.request.due_at if intake.merged else due,
        callback_urls=callbacks,
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "opendsr.request_received",
        "rights_request",
        intake.request.id,
        {"subject_request_id": subject_request_id, "type": kind},
    )
    return row, {
        "controller_id": contract.controller_id,
        "expected_completion_time": rfc3339(row.expected_completion_time),
        "received_time": rfc3339(now),
        "encoded_request": base64.b64encode(raw).decode("ascii"),
        "subject_request_id": subject_request_id,
    }


def find(session: Session, organization_id: int, subject_request_id: str) -> OpenDsrRequest:
    row = session.scalar(
        select(OpenDsrRequest).where(
            OpenDsrRequest.organization_id == organization_id,
            OpenDsrRequest.subject_request_id == subject_request_id[:36],
        )
    )
    if row is None:
        raise ProtocolError(404, "no OpenDSR request with that subject_request_id here")
    return row


def request_status(row: OpenDsrRequest, rights: RightsRequest, ctx: ProtocolContext) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    return ctx.rules.opendsr.status_of[rights.status]


def status_body(
    session: Session, ctx: ProtocolContext, row: OpenDsrRequest, callback_url: str | None = None
) -> dict[str, Any]:
    """The status object (s.8.3), or a callback body when `callback_url` is given (s.8.6)."""
    rights = session.get(RightsRequest, row.rights_request_id)
    assert rights is not None
    contract = contract_of(session, row.organization_id)
    body: dict[str, Any] = {
        "controller_id": contract.controller_id,
        "expected_completion_time": rfc3339(row.expected_completion_time),
        "subject_request_id": row.subject_request_id,
        "request_status": request_status(row, rights, ctx),
        "api_version": ctx.rules.opendsr.api_version,
    }
    if callback_url is not None:
        body["status_callback_url"] = callback_url
    return body


def cancel(
    session: Session,
    ctx: ProtocolContext,
    organization_id: int,
    subject_request_id: str,
    actor: Actor,
    now: dt.datetime,
) -> dict[str, Any]:
    """s.9: a request may be cancelled while pending; the 202 body without its signature."""
    row = find(session, organization_id, subject_request_id)
    rights = session.get(RightsRequest, row.rights_request_id)
    assert rights is not None
    if row.cancelled_at is not None or rights.status not in PENDING_STATUSES:
        raise ProtocolError(409, "the request is no longer pending; it cannot be cancelled (s.9)")
    from honorbound.rights.closing import close
    from honorbound.rights.models import Response

    row.cancelled_at = now
    close(session, rights, Response.DENIED, actor, "cancelled by the controller (OpenDSR)")
    return {
        "controller_id": contract_of(session, organization_id).controller_id,
        "subject_request_id": row.subject_request_id,
        "received_time": rfc3339(now),
        "api_version": ctx.rules.opendsr.api_version,
    }


def discovery(ctx: ProtocolContext) -> dict[str, Any]:
    rules = ctx.rules.opendsr
    return {
        "api_version": rules.api_version,
        "supported_identities": [dict(i) for i in rules.supported_identities],
        "supported_subject_request_types": list(rules.supported_subject_request_types),
        "processor_certificate": f"{ctx.rights.base_url}{rules.paths.certificate}",
    }


def signed(
    ctx: ProtocolContext, body: dict[str, Any], with_field: bool
) -> tuple[bytes, dict[str, str]]:
    """The bytes to send and the signature headers (s.7.4, 8.3, 8.6; s.10.1: both names).
    `with_field` adds `processor_signature` (s.7.3, 9.2): the signature of the body without
    that field, serialized as sent; the header signs the final bytes."""
    key = ctx.processor_key()
    if with_field:
        inner = json.dumps(body, separators=(",", ":")).encode()
        body = {**body, "processor_signature": key.sign(inner)}
    raw = json.dumps(body, separators=(",", ":")).encode()
    signature = key.sign(raw)
    headers = {name: ctx.domain for name in ctx.rules.opendsr.headers.domain}
    headers |= {name: signature for name in ctx.rules.opendsr.headers.signature}
    return raw, headers
