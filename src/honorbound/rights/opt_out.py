"""Applying an opt-out request (do not sell or share, limit the use of sensitive information).

An opt-out needs no verification (11 CCR 7026, 7027): intake applies it at once, writing the
choice into the consent ledger for every identity the request gave, then closes the request.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.db.base import utcnow
from honorbound.rights import messages
from honorbound.rights.closing import close
from honorbound.rights.context import Services
from honorbound.rights.models import Response, RightsRequest
from honorbound.rights.outgoing import contact_email, contact_phone, mail_consumer
from honorbound.rights.timeline import log_event
from honorbound.vault.identities import IdentityKind


def apply_opt_out(
    session: Session, svc: Services, request: RightsRequest, org_name: str, actor: Actor
) -> None:
    """Write the choice into the consent ledger for every identity the request gave."""
    purpose = svc.rules.consent_purposes[request.type]
    refs = []
    email, phone = contact_email(svc, request), contact_phone(svc, request)
    if email:
        refs.append(identify(svc.keys, request.organization_id, email, IdentityKind.EMAIL))
    if phone:
        refs.append(identify(svc.keys, request.organization_id, phone, IdentityKind.PHONE))
    for ref in refs:
        ledger.record(
            session,
            request.organization_id,
            ref,
            purpose,
            "all",
            "opt_out",
            "rights_request",
            actor,
            subject_id=request.subject_id,
            evidence={"request_ref": request.reference, "jurisdiction": request.jurisdiction},
            external_ref=f"rights:{request.reference}:{ref.kind.value}",
        )
    log_event(
        session, request, "consent_recorded", actor, {"purpose": purpose, "identities": len(refs)}
    )
    close(session, request, Response.COMPLIED, actor)
    mail = messages.opt_out_done(org_name, request.reference, request.type, request.language)
    if mail_consumer(session, svc, request, "completed", mail):
        request.acknowledged_at = request.acknowledged_at or utcnow()
