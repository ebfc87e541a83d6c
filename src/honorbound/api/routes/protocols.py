"""The request protocols over HTTP (docs/protocols.md). Thin: parse, call one function of
`honorbound.rights.protocols`, render in the protocol's own error format.

- Data Rights Protocol 1.0 at its documented paths (`/v1/agent/{agent-id}`,
  `/v1/data-rights-request`): authenticated by the agent's Ed25519 signature and the pair's
  bearer token, not by an API key. Errors are `{"code", "message", "fatal"}` (DRP s.3.06).
- OpenDSR 2.0 (`/v1/discovery`, `/v1/opengdpr_requests`): a client organization's API key;
  responses signed; errors `{"error": {"code", "message", "errors"}}` (OpenDSR s.7.6).
- Set-up under `/v1/protocols/...`: agents, the service-directory entry, the controller's
  contract, and consumer requests forwarded by the BPO to a client.

Each protocol call runs in its own unit of work, rolled back whole on any error: a refused
request writes nothing (not even the replay record).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.models import Organization
from honorbound.accounts.service import Principal
from honorbound.api.deps import RawBody, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem, ProtocolRoute
from honorbound.errors import HonorboundError
from honorbound.rights.execution import privacy_contact
from honorbound.rights.intake import NewRequest
from honorbound.rights.models import Manner, RequestType
from honorbound.rights.protocols import drp, forwarding, links, opendsr
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.errors import ProtocolError
from honorbound.rights.protocols.jobs import context as protocol_context
from honorbound.rights.protocols.rules import load
from honorbound.runtime import Runtime

router = APIRouter(tags=["request protocols"])
RULES = load()
Admin = Annotated[Principal, Depends(require("org.manage"))]
Controller = Annotated[Principal, Depends(require("rights.intake"))]
AgentId = Annotated[str, Path(min_length=1, max_length=128)]
DrpRequestId = Annotated[str, Path(min_length=1, max_length=64)]
SubjectRequestId = Annotated[str, Path(min_length=1, max_length=64)]


def _ctx(request: Request, runtime: Runtime) -> ProtocolContext:
    ctx: ProtocolContext | None = getattr(request.app.state, "protocols", None)
    if ctx is None:
        ctx = protocol_context(runtime)
        request.app.state.protocols = ctx
    return ctx


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _drp_error(exc: ProtocolError) -> Response:
    if exc.empty:
        return Response(status_code=exc.status)  # s.2.05.1: 403 with no body
    body: dict[str, Any] = {"code": str(exc.status), "message": exc.message}
    if exc.fatal:
        body["fatal"] = True
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _dsr_error(exc: ProtocolError) -> Response:
    detail = {
        "domain": "Validation" if exc.status == 400 else "Request",
        "reason": exc.field,
        "message": exc.message,
    }
    return JSONResponse(
        {"error": {"code": exc.status, "message": exc.message, "errors": [detail]}},
        status_code=exc.status,
        headers={"Cache-Control": "no-store"},
    )


class DrpRoute(ProtocolRoute):
    """DRP's routes: a refusal answers in DRP's error body (s.3.06)."""

    def render_error(self, exc: HonorboundError) -> Response | None:
        return _drp_error(exc) if isinstance(exc, ProtocolError) else None


class OpenDsrRoute(ProtocolRoute):
    """OpenDSR's routes: a refusal answers in OpenDSR's error body (s.7.6)."""

    def render_error(self, exc: HonorboundError) -> Response | None:
        return _dsr_error(exc) if isinstance(exc, ProtocolError) else None


# The protocols' own paths; included into `router` at the end of the module. The set-up
# routes under /v1/protocols answer problem documents, as the rest of the API.
drp_router = APIRouter(route_class=DrpRoute)
opendsr_router = APIRouter(route_class=OpenDsrRoute)


# -- Data Rights Protocol 1.0 ------------------------------------------------------------------
@drp_router.post(
    RULES.drp.paths.agent, responses={403: {"description": "Validation failed; no body."}}
)
def drp_pair(agent_id: AgentId, body: RawBody, request: Request, runtime: RuntimeDep) -> Response:
    """Pair-wise key setup (DRP s.2.05): a signed `{agent-id, business-id, issued-at,
    expires-at, drp.version}` gives `{agent-id, token}`, the pair's bearer token."""
    ctx = _ctx(request, runtime)
    with runtime.db.session() as session:
        answer = drp.pair(session, ctx, agent_id, body, _now())
    return JSONResponse(answer)


@drp_router.get(RULES.drp.paths.agent)
def drp_agent_info(agent_id: AgentId, request: Request, runtime: RuntimeDep) -> Response:
    """Agent information (DRP s.2.06): `{}` while the token is good; 403 when the token is
    another agent's."""
    ctx = _ctx(request, runtime)
    with runtime.db.read_session() as session:
        pair_ = drp.authenticate(session, ctx, _bearer(request))
        if pair_.agent.agent_id != agent_id:
            raise ProtocolError(403, "the bearer token belongs to another agent")
    return JSONResponse({})


@drp_router.post(RULES.drp.paths.exercise)
def drp_exercise(body: RawBody, request: Request, runtime: RuntimeDep) -> Response:
    """Data Rights Exercise (DRP s.2.01): the signed request, base64, `text/plain`. Answers
    the Exercise Status object (s.3.03)."""
    ctx = _ctx(request, runtime)
    with runtime.db.session() as session:
        pair_ = drp.authenticate(session, ctx, _bearer(request))
        row, rights = drp.exercise(session, ctx, pair_, body, _now())
        answer = drp.status_of(ctx, row, rights)
        links.report_soon(session, ctx.rights, rights)
    return JSONResponse(answer)


@drp_router.get(RULES.drp.paths.status)
def drp_status(request_id: DrpRequestId, request: Request, runtime: RuntimeDep) -> Response:
    """Data Rights Status (DRP s.2.02); 403 for a request another agent manages."""
    ctx = _ctx(request, runtime)
    with runtime.db.read_session() as session:
        pair_ = drp.authenticate(session, ctx, _bearer(request))
        answer = drp.status(session, ctx, pair_, request_id)
    return JSONResponse(answer)


@drp_router.delete(RULES.drp.paths.revoke)
def drp_revoke(
    request_id: DrpRequestId, body: RawBody, request: Request, runtime: RuntimeDep
) -> Response:
    """Data Rights Revoke (DRP s.2.04): a signed `{reason}`; answers the `revoked` status."""
    ctx = _ctx(request, runtime)
    with runtime.db.session() as session:
        pair_ = drp.authenticate(session, ctx, _bearer(request))
        row, rights = drp.revoke(session, ctx, pair_, request_id, body, _now())
        answer = drp.status_of(ctx, row, rights)
        links.report_soon(session, ctx.rights, rights)
    return JSONResponse(answer)


# -- OpenDSR 2.0 ---------------------------------------------------------------------------------
def _signed(ctx: ProtocolContext, body: dict[str, Any], status: int, field: bool) -> Response:
    raw, headers = opendsr.signed(ctx, body, field)
    return Response(raw, status_code=status, media_type="application/json", headers=headers)


@opendsr_router.get(RULES.opendsr.paths.discovery)
def opendsr_discovery(request: Request, runtime: RuntimeDep) -> Response:
    """What this processor supports (OpenDSR s.6), and where its certificate is."""
    ctx = _ctx(request, runtime)
    return _signed(ctx, opendsr.discovery(ctx), 200, False)


@opendsr_router.get(RULES.opendsr.paths.certificate)
def opendsr_certificate(request: Request, runtime: RuntimeDep) -> Response:
    """The certificate whose key signs responses and callbacks (OpenDSR s.6.3)."""
    ctx = _ctx(request, runtime)
    return Response(ctx.processor_key().certificate_pem, media_type="application/x-pem-file")


@opendsr_router.post(RULES.opendsr.paths.requests, status_code=201)
def opendsr_submit(
    body: RawBody, principal: Controller, request: Request, runtime: RuntimeDep
) -> Response:
    """A controller's request (OpenDSR s.7), checked against the 2.0 schema: 201 with the
    signed receipt (s.7.3)."""
    ctx = _ctx(request, runtime)
    with runtime.db.session() as session:
        _row, answer = opendsr.submit(
            session, ctx, principal.organization_id, body, principal.actor, _now()
        )
    return _signed(ctx, answer, 201, True)


@opendsr_router.get(RULES.opendsr.paths.request)
def opendsr_status(
    subject_request_id: SubjectRequestId,
    principal: Controller,
    request: Request,
    runtime: RuntimeDep,
) -> Response:
    """The request's status (OpenDSR s.8), signed."""
    ctx = _ctx(request, runtime)
    with runtime.db.read_session() as session:
        row = opendsr.find(session, principal.organization_id, subject_request_id)
        answer = opendsr.status_body(session, ctx, row)
    return _signed(ctx, answer, 200, False)


@opendsr_router.delete(RULES.opendsr.paths.request, status_code=202)
def opendsr_cancel(
    subject_request_id: SubjectRequestId,
    principal: Controller,
    request: Request,
    runtime: RuntimeDep,
) -> Response:
    """Cancel while pending (OpenDSR s.9): 202 with the signed receipt; 409 once it is not."""
    ctx = _ctx(request, runtime)
    with runtime.db.session() as session:
        answer = opendsr.cancel(
            session,
            ctx,
            principal.organization_id,
            subject_request_id,
            principal.actor,
            _now(),
        )
    return _signed(ctx, answer, 202, True)


# -- set-up ---------------------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentIn(_In):
    agent_id: str = Field(min_length=1, max_length=128, description="Its directory id.")
    name: str = Field(min_length=1, max_length=500)
    verify_key: str = Field(min_length=1, max_length=64, description="Base64 Ed25519 key.")
    web_url: str = Field(default="", max_length=2048)
    identity_assurance_url: str = Field(default="", max_length=2048)


class AgentOut(BaseModel):
    id: int
    agent_id: str
    name: str
    verify_key: str
    web_url: str
    identity_assurance_url: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None


class ContractIn(_In):
    controller_id: str | None = Field(default=None, min_length=1, max_length=128)
    contract_days: int | None = Field(default=None, ge=1, le=366)
    notice_email: str | None = Field(default=None, max_length=320)
    contract_source: str | None = Field(default=None, max_length=500)


class ContractOut(BaseModel):
    controller_id: str
    contract_days: int
    contract_source: str
    notice_email: str


class ForwardIn(_In):
    client: str = Field(min_length=1, max_length=64, description="The client's slug.")
    type: RequestType
    jurisdiction: str = Field(min_length=2, max_length=2)
    manner: Literal["phone", "email", "mail", "in_person", "chat"] = "phone"
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class ForwardOut(BaseModel):
    forward_id: int
    client: str
    request_reference: str
    due_at: dt.datetime
    controller_notified: bool
    consumer_told: bool
    merged: bool


def _agent_out(agent: Any) -> AgentOut:
    return AgentOut(
        id=agent.id,
        agent_id=agent.agent_id,
        name=agent.name,
        verify_key=agent.verify_key,
        web_url=agent.web_url,
        identity_assurance_url=agent.identity_assurance_url,
        created_at=agent.created_at,
        disabled_at=agent.disabled_at,
    )


@router.get("/v1/protocols/drp/agents", response_model=list[AgentOut])
def list_agents(principal: Admin, session: SessionDep) -> list[AgentOut]:
    """The authorized agents this organization accepts DRP requests from."""
    return [_agent_out(a) for a in drp.agents(session, principal.organization_id)]


@router.post("/v1/protocols/drp/agents", response_model=AgentOut, status_code=201)
def add_agent(
    body: AgentIn, principal: Admin, session: SessionDep, request: Request, runtime: RuntimeDep
) -> AgentOut:
    """Register an agent from its service-directory entry (DRP s.3.05.1)."""
    agent = drp.register_agent(
        session,
        _ctx(request, runtime),
        principal.organization_id,
        body.agent_id,
        body.name,
        body.verify_key,
        principal.actor,
        body.web_url,
        body.identity_assurance_url,
    )
    return _agent_out(agent)


@router.delete("/v1/protocols/drp/agents/{agent_row_id}", response_model=AgentOut)
def remove_agent(
    agent_row_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    principal: Admin,
    session: SessionDep,
) -> AgentOut:
    """Disable an agent: its tokens stop working at once; its requests stay on record."""
    agent = drp.disable_agent(session, principal.organization_id, agent_row_id, principal.actor)
    return _agent_out(agent)


@router.get("/v1/protocols/drp/directory-entry")
def directory_entry(
    principal: Admin, session: SessionDep, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    """This business's entry for the DRP service directory's `businesses.json` (s.3.05.2), to
    send to the directory operators. It replaces `/.well-known/data-rights.json`."""
    org = session.get(Organization, principal.organization_id)
    assert org is not None
    contact = forwarding.controller_address(session, org.id) or privacy_contact(session, org.id)
    return drp.directory_entry(_ctx(request, runtime), org, contact)


def _contract_out(row: Any) -> ContractOut:
    return ContractOut(
        controller_id=row.controller_id,
        contract_days=row.contract_days,
        contract_source=row.contract_source,
        notice_email=row.notice_email,
    )


@router.get("/v1/protocols/controller", response_model=ContractOut)
def get_contract(principal: Admin, session: SessionDep) -> ContractOut:
    """This organization's terms as a client controller (404 until registered)."""
    row = forwarding.contract(session, principal.organization_id)
    if row is None:
        raise Problem(404, "Not found", "This organization is not registered as a controller.")
    return _contract_out(row)


@router.put("/v1/protocols/controller", response_model=ContractOut)
def put_contract(
    body: ContractIn, principal: Admin, session: SessionDep, request: Request, runtime: RuntimeDep
) -> ContractOut:
    """Register this organization as a client controller, or change its terms: the deadline
    of requests it pushes (default 30 days, Liveops 2018) and where its notices go."""
    row = forwarding.set_contract(
        session,
        _ctx(request, runtime),
        principal.organization_id,
        principal.actor,
        body.controller_id,
        body.contract_days,
        body.notice_email,
        body.contract_source,
    )
    return _contract_out(row)


@router.post("/v1/protocols/forwarded-requests", response_model=ForwardOut, status_code=201)
def forward_request(
    body: ForwardIn,
    principal: Annotated[Principal, Depends(require("rights.intake"))],
    session: SessionDep,
    request: Request,
    runtime: RuntimeDep,
) -> ForwardOut:
    """A consumer asked the BPO about a client: route the request to that client (the
    controller), record the forwarding, tell the controller and tell the consumer the BPO is
    a service provider for the named business."""
    new = NewRequest(
        type=body.type,
        jurisdiction=body.jurisdiction,
        manner=Manner(body.manner),
        email=body.email,
        phone=body.phone,
    )
    done = forwarding.forward(
        session,
        _ctx(request, runtime),
        principal.organization_id,
        body.client,
        new,
        principal.actor,
    )
    return ForwardOut(
        forward_id=done.forward.id,
        client=body.client,
        request_reference=done.request.reference,
        due_at=done.request.due_at,
        controller_notified=done.forward.controller_notified,
        consumer_told=done.forward.consumer_told,
        merged=done.merged,
    )


router.include_router(drp_router)
router.include_router(opendsr_router)
