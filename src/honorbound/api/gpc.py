"""A dependency that honors `Sec-GPC: 1` on public endpoints (portal, collection, pages).

Add `GpcDep` to a route and call `honor(...)` once the person (or cookie id) is known; the
domain rule (which states require it, what the notice promises) lives in `consent.gpc`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from honorbound.consent import gpc
from honorbound.consent.identity import IdentityRef, Keys
from honorbound.consent.rules import ContactRules
from honorbound.policy.jurisdictions import JurisdictionRules


class GpcSignal:
    def __init__(self, present: bool, laws: JurisdictionRules, contact: ContactRules) -> None:
        self.present = present
        self.laws = laws
        self.contact = contact

    def honor(
        self,
        session: Session,
        organization_id: int,
        identity: IdentityRef,
        state: str | None = None,
        subject_id: int | None = None,
    ) -> gpc.Honored:
        """Apply the signal for this browser (cookie id) or person; `display` of the answer
        is what the page must show (e.g. "Opt-out request honored")."""
        if not self.present:
            return gpc.Honored(False)
        return gpc.honor_signal(
            session,
            organization_id,
            identity,
            state=state,
            declaration_promises=gpc.declaration_promises(session, organization_id),
            laws=self.laws,
            contact=self.contact,
            subject_id=subject_id,
            evidence={"text_shown": "Sec-GPC: 1"},
        )

    def honor_subject(
        self,
        session: Session,
        keys: Keys,
        vault_keys: Any,
        organization_id: int,
        subject_id: int,
        state: str | None,
    ) -> gpc.Honored:
        """Apply the signal that came with a collection call to every identity of the subject."""
        if not self.present:
            return gpc.Honored(False)
        return gpc.honor_for_subject(
            session,
            keys,
            vault_keys,
            organization_id,
            subject_id,
            state=state,
            declaration_promises=gpc.declaration_promises(session, organization_id),
            laws=self.laws,
            contact=self.contact,
            evidence={"text_shown": "Sec-GPC: 1"},
        )


def gpc_signal(request: Request) -> GpcSignal:
    runtime = request.app.state.runtime
    return GpcSignal(gpc.signal_present(request.headers), runtime.rules, runtime.contact_rules)


GpcDep = Annotated[GpcSignal, Depends(gpc_signal)]
