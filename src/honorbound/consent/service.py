"""The consent package's entry points for adapters (API, CLI): the runtime's decision engine,
identity resolution that tolerates an unknown subject, and the receipt for an event."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.consent import ledger, receipts
from honorbound.consent.decisions import DecisionEngine
from honorbound.consent.identity import IdentityRef, identify
from honorbound.consent.models import ConsentEvent
from honorbound.consent.rules import ContactRules
from honorbound.crypto.keyring import KeyRing
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.vault.identities import IdentityKind, InvalidIdentity

# The engine each runtime built, by its key ring: for callers that hold only the key ring
# (tests, the benchmark) to reach the same engine (and its snapshots) the runtime's adapters
# use. Weak: an engine lives as long as its runtime. Adapters use `Runtime.decisions`.
_built: weakref.WeakValueDictionary[int, DecisionEngine] = weakref.WeakValueDictionary()
_fallback: dict[int, DecisionEngine] = {}
_lock = threading.Lock()


def build_engine(
    keys: KeyRing,
    vault_keys: Any = None,
    laws: JurisdictionRules | None = None,
    contact: ContactRules | None = None,
) -> DecisionEngine:
    """The runtime's engine (`build_runtime` calls this once): subjects' ages and states come
    from the vault's key store and the jurisdiction rules; calling hours and caps from
    `contact`, the runtime's contact rules."""
    built = DecisionEngine(keys, contact, vault_keys=vault_keys, laws=laws)
    with _lock:
        _built[id(keys)] = built
        _fallback.pop(id(keys), None)
    return built


def _fits(found: DecisionEngine | None, keys: KeyRing, contact: ContactRules | None) -> bool:
    return found is not None and found.keys is keys and (contact is None or found.rules is contact)


def engine(
    keys: KeyRing,
    vault_keys: Any = None,
    laws: JurisdictionRules | None = None,
    contact: ContactRules | None = None,
) -> DecisionEngine:
    """The engine the runtime built for this key ring; without a runtime (a bare key ring),
    one kept here, built as `build_engine` would. Arguments that differ from the engine's
    update it (its snapshots are then rebuilt); other contact rules mean another engine."""
    with _lock:
        found = _built.get(id(keys))
        if not _fits(found, keys, contact):
            found = _fallback.get(id(keys))
            if found is None or not _fits(found, keys, contact):
                found = _fallback[id(keys)] = DecisionEngine(
                    keys, contact, vault_keys=vault_keys, laws=laws
                )
                return found
        assert found is not None
        if (vault_keys is not None and found.vault_keys is not vault_keys) or (
            laws is not None and found.laws is not laws
        ):
            found.vault_keys = vault_keys if vault_keys is not None else found.vault_keys
            found.laws = laws if laws is not None else found.laws
            found.invalidate_all()
        return found


def resolve(
    keys: KeyRing,
    organization_id: int,
    value: str,
    kind: str | None = None,
) -> IdentityRef:
    """Raises InvalidIdentity (a ValueError) naming the problem, never the value; its
    `field` is "kind" for a kind that is not one of IdentityKind."""
    try:
        known = IdentityKind(kind) if kind else None
    except ValueError as exc:
        raise InvalidIdentity(str(exc), field="kind") from None
    return identify(keys, organization_id, value, known)


def subject_for(
    session: Session, vault_keys: Any, organization_id: int, ref: IdentityRef, value: str
) -> int | None:
    """The vault subject holding this identity, when the vault knows it."""
    try:
        from honorbound.vault.subjects import find_subject_id
    except ImportError:  # pragma: no cover - the vault is optional for consent
        return None
    if vault_keys is None:
        return None
    try:
        return find_subject_id(session, vault_keys, organization_id, ref.kind, value)
    except ValueError:
        return None


def receipt_for(
    session: Session, keys: KeyRing, event: ConsentEvent, base_url: str, contact_email: str
) -> tuple[dict[str, Any], str]:
    org = session.get(Organization, event.organization_id)
    history = ledger.history(session, event.organization_id, event.identity_index)
    current = ledger.effective_action(history, event.purpose, event.channel, event.scope)
    claims = receipts.build(
        event, org.name if org else "", base_url, contact_email, current=current
    )
    return claims, receipts.sign(keys, claims)


def event_by_receipt(session: Session, receipt_id: str) -> ConsentEvent | None:
    return session.scalar(select(ConsentEvent).where(ConsentEvent.receipt_id == receipt_id))


def organization_by_slug(session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == slug))
