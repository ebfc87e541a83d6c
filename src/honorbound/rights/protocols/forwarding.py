"""The BPO as a service provider: consumer requests about a client, routed to that client.

A person calls the contact center (the BPO), not the brand, and asks to delete or see their
data. The BPO is the client's service provider (processor); the client is the business
(controller) that must answer. `forward`:

1. records the request in the client's organization, where the client's own clock starts
   and the client-branded acknowledgement goes out (the rights intake, unchanged);
2. records the forwarding (`ProcessorForward`): who received it, when, for which client;
3. tells the controller (its notice address) a request was forwarded, with its reference
   and due date;
4. tells the consumer the BPO is a service provider and names the business that will answer
   (former 11 CCR 999.314(e), carried into the current regulations: `protocols.yaml`
   `processor.forwarding_source`).

When the client's request closes, `report.report_changes` mails the controller a completion
notice and stamps the forwarding record.

`set_contract` keeps the controller's terms: its id on the wire, the contractual deadline for
requests it sends (Liveops 2018: 30 days, the default in `protocols.yaml`), its notice address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.notify.models import Channel
from honorbound.rights.errors import RightsError
from honorbound.rights.execution import privacy_contact
from honorbound.rights.intake import NewRequest, take_request
from honorbound.rights.models import RightsRequest
from honorbound.rights.outgoing import contact_email, contact_phone, request_key, send
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.models import ControllerContract, ProcessorForward
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize

NOTICE_EMAIL_CHARS = 320


@dataclass(frozen=True)
class Forwarded:
    forward: ProcessorForward
    request: RightsRequest
    merged: bool


def set_contract(
    session: Session,
    ctx: ProtocolContext,
    organization_id: int,
    actor: Actor,
    controller_id: str | None = None,
    contract_days: int | None = None,
    notice_email: str | None = None,
    contract_source: str | None = None,
) -> ControllerContract:
    """Create or change the controller's terms (unset values keep theirs, or the defaults)."""
    processor = ctx.rules.processor
    if contract_days is not None and not 1 <= contract_days <= 366:
        raise RightsError("contract_days", "contract_days must be 1-366 days")
    if controller_id is not None and not 1 <= len(controller_id.strip()) <= 128:
        raise RightsError("controller_id", "controller_id must be 1-128 characters")
    if notice_email:
        try:
            notice_email = normalize(IdentityKind.EMAIL, notice_email[: NOTICE_EMAIL_CHARS + 1])
        except InvalidIdentity as exc:
            raise RightsError("notice_email", str(exc)) from None
    if contract_source is not None and len(contract_source) > 500:
        raise RightsError("contract_source", "contract_source must be at most 500 characters")
    org = session.get(Organization, organization_id)
    assert org is not None
    row = session.scalar(
        select(ControllerContract).where(ControllerContract.organization_id == organization_id)
    )
    if row is None:
        row = ControllerContract(
            organization_id=organization_id,
            controller_id=org.slug,
            contract_days=processor.default_contract_days,
            contract_source=processor.contract_source,
            notice_email="",
        )
        session.add(row)
    if controller_id is not None:
        row.controller_id = controller_id.strip()
    if contract_days is not None:
        row.contract_days = contract_days
    if notice_email is not None:
        row.notice_email = notice_email
    if contract_source is not None:
        row.contract_source = contract_source
    row.updated_at = utcnow()
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "processor.contract_set",
        "protocol_controller",
        row.id,
        {"contract_days": row.contract_days, "controller_id": row.controller_id},
    )
    return row


def contract(session: Session, organization_id: int) -> ControllerContract | None:
    return session.scalar(
        select(ControllerContract).where(ControllerContract.organization_id == organization_id)
    )


def controller_address(session: Session, organization_id: int) -> str | None:
    """Where the controller's notices go: its contract's address, else its notice's contact."""
    terms = contract(session, organization_id)
    if terms is not None and terms.notice_email:
        return terms.notice_email
    return privacy_contact(session, organization_id)


def client_of(session: Session, bpo_organization_id: int, client_slug: str) -> Organization:
    """A client the BPO operates; any other organization is not found (no hint it exists)."""
    org = session.scalar(select(Organization).where(Organization.slug == client_slug[:64]))
    if org is None or org.operated_by_id != bpo_organization_id:
        raise RightsError(
            "client", "no client with that slug is operated by this organization", 404
        )
    return org


def consumer_notice(bpo: str, business: str, reference: str, contact: str | None) -> str:
    reach = f" You can also contact {business} directly at {contact}." if contact else ""
    return (
        f"You asked {bpo} about your personal information. {bpo} is a service provider for "
        f"{business}: {business} decides how your information is used and answers your "
        f"request, not {bpo}. We have sent your request to {business} (reference {reference}); "
        f"they will reply to you.{reach}"
    )


def forward(
    session: Session,
    ctx: ProtocolContext,
    bpo_organization_id: int,
    client_slug: str,
    new: NewRequest,
    actor: Actor,
) -> Forwarded:
    client = client_of(session, bpo_organization_id, client_slug)
    bpo = session.get(Organization, bpo_organization_id)
    assert bpo is not None
    intake = take_request(session, ctx.rights, client.id, new, actor)
    request = intake.request
    address = controller_address(session, client.id)
    row = ProcessorForward(
        organization_id=client.id,
        bpo_organization_id=bpo.id,
        rights_request_id=request.id,
        received_by=actor.id[:200],
    )
    session.add(row)
    session.flush()
    if address:
        send(
            session,
            ctx.rights,
            client.id,
            Channel.EMAIL,
            "processor.forwarded",
            address,
            f"{bpo.name}, your service provider, received a consumer request for {client.name} "
            f"and forwarded it to you (11 CCR 7022(c); {ctx.rules.processor.forwarding_source}).\n"
            f"Reference: {request.reference}\nType: {request.type}\nManner: {request.manner}\n"
            f"Due: {request.due_at:%Y-%m-%d}\nThe request is in Honorbound under this reference.",
            subject=f"[Honorbound] request {request.reference} forwarded by {bpo.name}",
            subject_ref=f"rights_request:{request.id}",
            actor=actor,
        )
        row.controller_notified = True
    text = consumer_notice(bpo.name, client.name, request.reference, address)
    email, phone = contact_email(ctx.rights, request), contact_phone(ctx.rights, request)
    sealed = request_key(session, ctx.rights, request)
    if email:
        send(
            session,
            ctx.rights,
            client.id,
            Channel.EMAIL,
            "processor.consumer_notice",
            email,
            text,
            subject=f"Your request about {client.name}",
            subject_ref=f"rights_request:{request.id}",
            actor=actor,
            sealed_for=sealed,
        )
        row.consumer_told = True
    elif phone:
        send(
            session,
            ctx.rights,
            client.id,
            Channel.SMS,
            "processor.consumer_notice",
            phone,
            text,
            subject_ref=f"rights_request:{request.id}",
            actor=actor,
            sealed_for=sealed,
        )
        row.consumer_told = True
    append(
        session,
        client.id,
        actor,
        "processor.request_forwarded",
        "rights_request",
        request.id,
        {
            "bpo": bpo.id,
            "controller_notified": row.controller_notified,
            "consumer_told": row.consumer_told,
        },
    )
    return Forwarded(row, request, intake.merged)
