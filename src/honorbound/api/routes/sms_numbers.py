"""Shared SMS numbers of a BPO (bpo.sms_numbers): configure them (BPO admin), report sends
(a client's dialer), and the one inbound webhook per number (signed with the BPO's secret).
Thin: parse, call one domain function, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.service import Principal
from honorbound.api.deps import FormFields, ReadSessionDep, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.api.routes.consent_public import signature_check
from honorbound.bpo import clients, sms_numbers
from honorbound.consent import sms

router = APIRouter(tags=["sms numbers"])
BpoAdmin = Annotated[Principal, Depends(require("clients.manage"))]
Writer = Annotated[Principal, Depends(require("consent.write"))]


class NumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=32)
    clients: list[str] = Field(min_length=1, max_length=sms_numbers.MAX_CLIENTS_PER_NUMBER)
    routing: str = Field(default="last_sender", max_length=16)


class SentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_number: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    sent_at: dt.datetime | None = None


@router.post("/v1/sms-numbers", status_code=201)
def configure_number(body: NumberIn, principal: BpoAdmin, session: SessionDep) -> dict[str, Any]:
    """Register or re-configure a shared number: the clients (slugs) that send from it and
    the routing of STOPs (`last_sender` or `all`)."""
    ids = []
    for slug in body.clients:
        try:
            ids.append(clients.client_by_slug(session, principal.organization_id, slug).id)
        except LookupError as exc:
            raise Problem(
                422,
                "Invalid shared number",
                str(exc),
                errors=[{"field": "clients", "message": str(exc)}],
            ) from None
    view = sms_numbers.configure(
        session, principal.organization_id, body.number, ids, body.routing, principal.actor
    )
    return {"number": view.number, "routing": view.routing, "clients": view.clients}


@router.get("/v1/sms-numbers")
def list_numbers(principal: BpoAdmin, session: ReadSessionDep) -> dict[str, Any]:
    views = sms_numbers.numbers_of(session, principal.organization_id)
    return {
        "items": [{"number": v.number, "routing": v.routing, "clients": v.clients} for v in views]
    }


@router.post("/v1/sms-numbers/sent", status_code=204)
def report_sent(body: SentIn, principal: Writer, session: SessionDep, runtime: RuntimeDep) -> None:
    """A client's dialer: a message was sent to `to` from the shared number `from` (what a
    STOP on that number is attributed by)."""
    sms_numbers.record_sent(
        session,
        runtime.keys,
        principal.organization_id,
        body.from_number,
        body.to,
        body.sent_at,
    )


@router.post("/v1/public/sms/numbers/{number}")
def shared_number_webhook(
    number: Annotated[str, Path(max_length=32)],
    request: Request,
    params: FormFields,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Inbound SMS on a shared number (form-encoded `From`, `To`, `Body`, `MessageSid`),
    signed with the BPO's SMS webhook secret. Answers the kind, the clients (slugs) it was
    applied to, and whether the sender was ambiguous."""
    shared = sms_numbers.shared_number(session, number)
    if shared is None:
        raise Problem(404, "Not found", "No shared number with that value.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not signature_check(runtime, shared.bpo_id).valid(str(request.url), params, headers):
        raise Problem(403, "Bad signature", "The request signature does not match.")
    message = sms.Inbound.from_form(params)
    by_id = {
        o.id: o
        for o in session.scalars(
            select(Organization).where(Organization.operated_by_id == shared.bpo_id)
        )
    }
    bpo = session.get(Organization, shared.bpo_id)
    assert bpo is not None
    frequency = runtime.contact_rules.sms.default_frequency

    def program(org: Organization) -> sms.Program:
        return sms.Program(org.name, runtime.settings.mail_from, frequency)

    routed = sms_numbers.route_inbound(
        session,
        runtime.keys,
        runtime.jobs,
        shared,
        message,
        runtime.contact_rules,
        {i: program(o) for i, o in by_id.items()},
        program(bpo),
        detector=sms.detect_revocation,
    )
    return {
        "kind": routed.kind,
        "duplicate": routed.duplicate,
        "clients": sorted(by_id[c].slug for c in routed.clients),
        "ambiguous": routed.ambiguous,
    }
