"""Data Rights Protocol 1.0 (Consumer Reports Innovation Lab): Honorbound as the Privacy
Infrastructure Provider of every client organization, each a Covered Business.

- `pair`: `POST /v1/agent/{agent-id}` (s.2.05): a signed message gives the agent a bearer
  token for one agent-business pair.
- `exercise`: `POST /v1/data-rights-request` (s.2.01): a signed request becomes a rights
  request of the business (manner `authorized_agent`), on the business's own clock.
- `status` (s.2.02) and `revoke` (s.2.04), for the agent that sent the request only.
- `directory_entry`: the business's entry for the DRP service directory (s.3.05.2), which
  replaced `/.well-known/data-rights.json` (removed in 0.9; Honorbound does not serve it).

Signed bodies are checked in the order of s.3.07: base64, the signature with the agent's key,
the agent, the business, `issued-at`, `expires-at`. A signature already accepted is refused
(409): "a data rights request represents a single action of one user acting against one
covered business one time" (s.3.07).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.rights.errors import RightsError
from honorbound.rights.intake import NewRequest, take_request
from honorbound.rights.models import Manner, RequestType, Response, RightsRequest, Status
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.errors import ProtocolError
from honorbound.rights.protocols.models import DrpAgent, DrpRequest, DrpToken, SeenMessage
from honorbound.rights.protocols.signing import BadSignature, open_signed, parse_verify_key
from honorbound.rights.protocols.urls import CallbackRefused, check_callback

FINAL = frozenset({"fulfilled", "revoked", "denied", "expired"})  # s.3.02 "Final?"


@dataclass(frozen=True)
class AgentSession:
    """The agent-business pair a bearer token names."""

    agent: DrpAgent
    organization_id: int


def business_id(slug: str) -> str:
    """The business's DRP id, from its slug (s.3.05.2: ids match `[A-Z_]+`)."""
    return slug.upper().replace("-", "_")


# -- agents (the directory's agents.json entries this business accepts) ----------------------
def register_agent(
    session: Session,
    ctx: ProtocolContext,
    organization_id: int,
    agent_id: str,
    name: str,
    verify_key: str,
    actor: Actor,
    web_url: str = "",
    identity_assurance_url: str = "",
) -> DrpAgent:
    limits = ctx.rules.drp.limits
    if (
        not re.fullmatch(ctx.rules.drp.business_id_pattern, agent_id)
        or len(agent_id) > limits.id_chars
    ):
        raise RightsError(
            "agent_id",
            f"the agent id is its service-directory id: upper-case letters, digits and '_', "
            f"at most {limits.id_chars} characters",
        )
    if not name.strip() or len(name) > limits.text_chars:
        raise RightsError("name", f"give the agent's name (at most {limits.text_chars} characters)")
    for field, url in (("web_url", web_url), ("identity_assurance_url", identity_assurance_url)):
        if len(url) > limits.url_chars:
            raise RightsError(field, f"{field} is longer than {limits.url_chars} characters")
    try:
        parse_verify_key(verify_key, ctx.rules.drp.verify_key_bytes)
    except ValueError as exc:
        raise RightsError("verify_key", str(exc)) from None
    taken = session.scalar(
        select(DrpAgent.id).where(
            DrpAgent.organization_id == organization_id, DrpAgent.agent_id == agent_id
        )
    )
    if taken is not None:
        raise RightsError("agent_id", f"agent {agent_id} is already registered here", 409)
    agent = DrpAgent(
        organization_id=organization_id,
        agent_id=agent_id,
        name=name.strip(),
        verify_key=verify_key,
        web_url=web_url,
        identity_assurance_url=identity_assurance_url,
    )
    session.add(agent)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "drp.agent_registered",
        "drp_agent",
        agent.id,
        {"agent_id": agent_id},
    )
    return agent


def agents(session: Session, organization_id: int) -> list[DrpAgent]:
    return list(
        session.scalars(
            select(DrpAgent)
            .where(DrpAgent.organization_id == organization_id)
            .order_by(DrpAgent.id)
        )
    )


def disable_agent(session: Session, organization_id: int, agent_row: int, actor: Actor) -> DrpAgent:
    """The agent's tokens stop working; its requests stay (they are the business's records)."""
    agent = session.scalar(
        select(DrpAgent).where(
            DrpAgent.id == agent_row, DrpAgent.organization_id == organization_id
        )
    )
    if agent is None:
        raise RightsError("agent", "no such agent in this organization", 404)
    now = utcnow()
    agent.disabled_at = agent.disabled_at or now
    for token in session.scalars(
        select(DrpToken).where(DrpToken.agent_row_id == agent.id, DrpToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
    append(
        session,
        organization_id,
        actor,
        "drp.agent_disabled",
        "drp_agent",
        agent.id,
        {"agent_id": agent.agent_id},
    )
    return agent


def directory_entry(ctx: ProtocolContext, org: Organization, contact: str | None) -> dict[str, Any]:
    """The business's entry for `businesses.json` in the DRP service directory (s.3.05.2),
    to send to the directory's operators: it replaces the `.well-known` file (s.3.05)."""
    base = ctx.rights.base_url
    return {
        "id": business_id(org.slug),
        "name": org.name,
        "logo": None,
        "api_base": base,
        "supported_actions": sorted(ctx.rules.drp.exercises),
        "supported_verifications": list(ctx.rules.drp.supported_verifications),
        "privacy_policy_url": f"{base}/v1/public/orgs/{org.slug}/notice",
        "web_url": base,
        "technical_contact": contact or "",
        "business_contact": contact or "",
    }


# -- signed messages -----------------------------------------------------------------------------
def _key_of(agent: DrpAgent, ctx: ProtocolContext) -> Any:
    return parse_verify_key(agent.verify_key, ctx.rules.drp.verify_key_bytes)


def _claims(message: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(message)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProtocolError(400, "the signed message is not JSON", fatal=True) from None
    if not isinstance(claims, dict):
        raise ProtocolError(400, "the signed message must be a JSON object", fatal=True)
    return claims


def _text(claims: dict[str, Any], name: str, limit: int, required: bool = True) -> str | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise ProtocolError(400, f"the claim '{name}' is missing", field=name, fatal=True)
        return None
    if not isinstance(value, str):
        raise ProtocolError(400, f"the claim '{name}' must be a string", field=name, fatal=True)
    if len(value) > limit:
        raise ProtocolError(
            400, f"the claim '{name}' is longer than {limit} characters", field=name, fatal=True
        )
    return value


def _when(claims: dict[str, Any], name: str) -> dt.datetime:
    text = _text(claims, name, 64) or ""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError(
            400, f"the claim '{name}' must be an ISO 8601 timestamp", field=name, fatal=True
        ) from None
    if value.tzinfo is None:
        raise ProtocolError(400, f"the claim '{name}' needs a time zone", field=name, fatal=True)
    return value


def _check_envelope(
    ctx: ProtocolContext, claims: dict[str, Any], agent: DrpAgent, org_slug: str, now: dt.datetime
) -> dt.datetime:
    """s.3.07 checks 3-6 (agent, business, issued-at, expires-at); returns expires-at."""
    drp = ctx.rules.drp
    if _text(claims, "agent-id", drp.limits.id_chars) != agent.agent_id:
        raise ProtocolError(403, "the agent-id claim is not the agent this token or path names")
    if _text(claims, "business-id", drp.limits.id_chars) != business_id(org_slug):
        raise ProtocolError(403, "the business-id claim names another business")
    issued, expires = _when(claims, "issued-at"), _when(claims, "expires-at")
    if issued > now + dt.timedelta(seconds=drp.clock_skew_seconds):
        raise ProtocolError(400, "issued-at is in the future (check the agent's clock)", fatal=True)
    if expires <= now:
        raise ProtocolError(400, "the request has expired (expires-at is past)", fatal=True)
    if expires - issued > dt.timedelta(minutes=drp.max_window_minutes):
        raise ProtocolError(
            400,
            f"expires-at is more than {drp.max_window_minutes} minutes after issued-at "
            "(s.2.01 recommends a window of at most 10 minutes)",
            fatal=True,
        )
    if _text(claims, "drp.version", 16) != drp.version:
        raise ProtocolError(400, f"drp.version must be {drp.version!r}", fatal=True)
    return expires


def _seen(session: Session, signature_digest: str, expires: dt.datetime) -> None:
    """Remember a signed message; the same one again is a replay (409)."""
    if session.scalar(select(SeenMessage.id).where(SeenMessage.digest == signature_digest)):
        raise ProtocolError(409, "this signed message was already received (replay refused)")
    try:
        with session.begin_nested():
            session.add(SeenMessage(digest=signature_digest, expires_at=expires))
    except IntegrityError:
        raise ProtocolError(
            409, "this signed message was already received (replay refused)"
        ) from None


def _digest(body: bytes) -> str:
    return hashlib.sha256(body.strip()).hexdigest()


def _token_hash(ctx: ProtocolContext, token: str) -> str:
    key = ctx.rights.keys.derived("drp:bearer-tokens")
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


# -- s.2.05 pair-wise key setup -------------------------------------------------------------------
def pair(
    session: Session, ctx: ProtocolContext, agent_id: str, body: bytes, now: dt.datetime
) -> dict[str, str]:
    """Verify the signed setup message and issue the pair's token (earlier ones revoked).
    Every failure is a 403 without a body (s.2.05.1)."""
    candidates = list(
        session.scalars(
            select(DrpAgent).where(DrpAgent.agent_id == agent_id, DrpAgent.disabled_at.is_(None))
        )
    )
    signer = message = None
    for candidate in candidates:
        try:
            message = open_signed(body, _key_of(candidate, ctx), ctx.rules.drp.signature_bytes)
        except BadSignature:
            continue
        signer = candidate
        break
    if signer is None or message is None:
        raise ProtocolError(403, "unknown agent or bad signature", empty=True)
    try:
        claims = _claims(message)
        wanted = _text(claims, "business-id", ctx.rules.drp.limits.id_chars)
        match = [
            (agent, org)
            for agent in candidates
            if agent.verify_key == signer.verify_key
            and (org := session.get(Organization, agent.organization_id)) is not None
            and business_id(org.slug) == wanted
        ]
        if not match:
            raise ProtocolError(403, "this business does not accept this agent")
        agent, org = match[0]
        expires = _check_envelope(ctx, claims, agent, org.slug, now)
    except ProtocolError as exc:
        raise ProtocolError(403, exc.message, empty=True) from None
    _seen(session, _digest(body), expires)
    for old in session.scalars(
        select(DrpToken).where(DrpToken.agent_row_id == agent.id, DrpToken.revoked_at.is_(None))
    ):
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        DrpToken(organization_id=org.id, agent_row_id=agent.id, token_hash=_token_hash(ctx, token))
    )
    append(
        session,
        org.id,
        Actor(f"drp:{agent.agent_id}", "agent"),
        "drp.token_issued",
        "drp_agent",
        agent.id,
        {"agent_id": agent.agent_id},
    )
    return {"agent-id": agent.agent_id, "token": token}


def authenticate(session: Session, ctx: ProtocolContext, token: str | None) -> AgentSession:
    """The pair a bearer token names (s.3.07: the token leads to the agent's key); 401 when
    there is none or it is unknown, revoked or its agent disabled."""
    if not token or len(token) > 200:
        raise ProtocolError(
            401, "send the pair's token as 'Authorization: Bearer <token>' (s.2.05)"
        )
    row = session.scalar(
        select(DrpToken).where(
            DrpToken.token_hash == _token_hash(ctx, token), DrpToken.revoked_at.is_(None)
        )
    )
    agent = session.get(DrpAgent, row.agent_row_id) if row is not None else None
    if row is None or agent is None or agent.disabled_at is not None:
        raise ProtocolError(
            401, "the bearer token is unknown or revoked; set up a new one (s.2.05)"
        )
    return AgentSession(agent, row.organization_id)


# -- s.2.01 exercise ---------------------------------------------------------------------------
def _identity(claims: dict[str, Any], limit: int) -> tuple[str, str | None]:
    email = _text(claims, "email", limit, required=False)
    phone = _text(claims, "phone_number", limit, required=False)
    if not email:
        # s.3.04: a business listing supported_verifications gets those claims; ours is email.
        raise ProtocolError(
            400,
            "the email claim is needed (supported_verifications: email)",
            field="email",
            fatal=True,
        )
    return email, phone


def exercise(
    session: Session, ctx: ProtocolContext, pair_: AgentSession, body: bytes, now: dt.datetime
) -> tuple[DrpRequest, RightsRequest]:
    drp = ctx.rules.drp
    if len(body) > drp.limits.body_bytes:
        raise ProtocolError(413, f"the body is larger than {drp.limits.body_bytes} bytes")
    try:
        message = open_signed(body, _key_of(pair_.agent, ctx), drp.signature_bytes)
    except BadSignature as exc:
        raise ProtocolError(403, str(exc)) from None
    claims = _claims(message)
    org = session.get(Organization, pair_.organization_id)
    assert org is not None
    expires = _check_envelope(ctx, claims, pair_.agent, org.slug, now)
    action = _text(claims, "exercise", 40) or ""
    if action not in drp.exercises:
        known = ", ".join(sorted(drp.exercises))
        why = (
            "is not supported here" if action in drp.unsupported_exercises else "is not a DRP right"
        )
        raise ProtocolError(
            400, f"exercise {action!r} {why} (supported: {known})", field="exercise", fatal=True
        )
    regime = _text(claims, "regime", 20, required=False)
    if regime not in drp.regimes:
        raise ProtocolError(
            400,
            "regime must be 'ccpa', the regime this business answers under",
            field="regime",
            fatal=True,
        )
    agent_request_id = _text(claims, "agent-request-id", drp.limits.id_chars, required=False)
    relationships = claims.get("relationships", [])
    if (
        not isinstance(relationships, list)
        or len(relationships) > drp.limits.relationships
        or any(not isinstance(r, str) or len(r) > drp.limits.text_chars for r in relationships)
    ):
        raise ProtocolError(
            400,
            f"relationships must be a list of at most {drp.limits.relationships} short strings",
            fatal=True,
        )
    callback = _text(claims, "status_callback", drp.limits.url_chars, required=False)
    if callback:
        try:
            check_callback(callback, ctx.allow_networks, drp.limits.url_chars)
        except CallbackRefused as exc:
            raise ProtocolError(
                400, f"status_callback: {exc}", field="status_callback", fatal=True
            ) from None
    email, phone = _identity(claims, drp.limits.text_chars)
    _text(claims, "name", drp.limits.text_chars, required=False)
    _seen(session, _digest(body), expires)
    new = NewRequest(
        type=RequestType(drp.exercises[action]),
        jurisdiction=drp.regimes[regime],
        manner=Manner.AUTHORIZED_AGENT,
        email=email,
        phone=phone,
        agent_name=f"{pair_.agent.name} (DRP agent {pair_.agent.agent_id})",
        # The signed request is the agent's evidence of the consumer's authorization: kept
        # sealed with the request, its SHA-256 on the record.
        agent_permission=body.strip(),
    )
    actor = Actor(f"drp:{pair_.agent.agent_id}", "agent")
    try:
        with session.begin_nested():
            intake = take_request(session, ctx.rights, pair_.organization_id, new, actor)
    except RightsError as exc:
        raise ProtocolError(
            exc.status if exc.status != 422 else 400, exc.message, field=exc.field, fatal=True
        ) from None
    row = DrpRequest(
        organization_id=pair_.organization_id,
        agent_row_id=pair_.agent.id,
        request_id=str(uuid.uuid4()),
        agent_request_id=agent_request_id,
        rights_request_id=intake.request.id,
        exercise=action,
        regime=regime,
        status_callback=callback,
        received_at=now,
    )
    session.add(row)
    session.flush()
    append(
        session,
        pair_.organization_id,
        actor,
        "drp.request_received",
        "rights_request",
        intake.request.id,
        {"drp_request": row.request_id, "exercise": action},
    )
    return row, intake.request


# -- s.2.02 status and s.2.04 revoke -------------------------------------------------------------
def _owned(
    session: Session, pair_: AgentSession, request_id: str
) -> tuple[DrpRequest, RightsRequest]:
    row = session.scalar(select(DrpRequest).where(DrpRequest.request_id == request_id[:36]))
    if row is None:
        raise ProtocolError(404, "no data rights request with that id")
    if row.agent_row_id != pair_.agent.id or row.organization_id != pair_.organization_id:
        # s.2.02.1: respond affirmatively only to the agent managing the request.
        raise ProtocolError(403, "this request is managed by another agent or business")
    rights = session.get(RightsRequest, row.rights_request_id)
    assert rights is not None
    return row, rights


def status_of(ctx: ProtocolContext, row: DrpRequest, rights: RightsRequest) -> dict[str, Any]:
    """The Exercise Status object (s.3.03)."""
    drp = ctx.rules.drp
    body: dict[str, Any] = {"request_id": row.request_id, "received_at": _iso(row.received_at)}
    if row.agent_request_id:
        body["agent_request_id"] = row.agent_request_id
    if row.revoked_at is not None:
        body["status"] = "revoked"
        return body
    status = drp.status_of[rights.status]
    body["status"] = status
    if status == "in_progress":
        body["expected_by"] = _iso(rights.due_at)  # s.3.03: MUST once in progress
        if rights.status == Status.VERIFYING.value:
            body["processing_details"] = (
                "the business emailed the consumer to confirm the request before acting on it"
            )
        if rights.extended_at is not None:
            body["processing_details"] = (
                "the business extended the time to answer, as the law allows"
            )
    elif status == "denied":
        body["reason"] = drp.reason_of.get(rights.denial_basis or "other", "other")
        if rights.response_note:
            body["processing_details"] = rights.response_note[: drp.limits.reason_chars]
    elif status == "open":
        body["expected_by"] = _iso(rights.due_at)
    return body


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def status(
    session: Session, ctx: ProtocolContext, pair_: AgentSession, request_id: str
) -> dict[str, Any]:
    row, rights = _owned(session, pair_, request_id)
    return status_of(ctx, row, rights)


def revoke(
    session: Session,
    ctx: ProtocolContext,
    pair_: AgentSession,
    request_id: str,
    body: bytes,
    now: dt.datetime,
) -> tuple[DrpRequest, RightsRequest]:
    """The consumer withdrew the request through their agent (s.2.04). The rights request is
    closed (response `denied`, basis `other`, note saying it was withdrawn): nothing more is
    carried out. The reason the consumer gave is not kept (it may hold personal data)."""
    drp = ctx.rules.drp
    if len(body) > drp.limits.body_bytes:
        raise ProtocolError(413, f"the body is larger than {drp.limits.body_bytes} bytes")
    row, rights = _owned(session, pair_, request_id)
    try:
        message = open_signed(body, _key_of(pair_.agent, ctx), drp.signature_bytes)
    except BadSignature as exc:
        raise ProtocolError(403, str(exc)) from None
    claims = _claims(message)
    _text(claims, "reason", drp.limits.reason_chars, required=False)
    if status_of(ctx, row, rights)["status"] in FINAL:
        raise ProtocolError(409, "the request is already in a final state; it cannot be revoked")
    _seen(session, _digest(body), now + dt.timedelta(days=1))
    from honorbound.rights.closing import close

    row.revoked_at = now
    close(
        session,
        rights,
        Response.DENIED,
        Actor(f"drp:{pair_.agent.agent_id}", "agent"),
        "withdrawn by the consumer through their authorized agent (DRP revoke)",
        None,
    )
    return row, rights
