"""The suppression list: what keeps an erased person out of marketing once their data is gone.

A deletion destroys the person's key and every identity the vault held. Before it does, each of
those identities (every email, phone, cookie or account id, not only the one the request came
in with) is written to the consent ledger as an opt-out of marketing on every channel, keyed
only by one-way match keys: the ledger's blind index (HMAC-SHA256 with the organization's key)
and the decision engine's 64-bit keyed BLAKE2b. The address itself is never kept, and nobody can
list who was erased; a later list that contains the number or address is matched and blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import IdentityRef, Keys, identify
from honorbound.consent.models import Action, ConsentChannel, Purpose, Source
from honorbound.vault.identities import InvalidIdentity
from honorbound.vault.keystore import KeyDestroyed
from honorbound.vault.models import Identity, Subject
from honorbound.vault.sealing import open_text


def subject_identities(
    session: Session, keys: Keys, vault_keys: Any, organization_id: int, subject_id: int
) -> list[IdentityRef]:
    """Every identity the vault holds for the subject, as the ledger keys it. Must run before
    the subject's key is destroyed; after that there is nothing left to read (empty list)."""
    subject = session.scalar(
        select(Subject).where(Subject.organization_id == organization_id, Subject.id == subject_id)
    )
    if subject is None:
        return []
    try:
        dek = vault_keys.data_key(organization_id, subject.key_id)
    except KeyDestroyed:
        return []
    refs: list[IdentityRef] = []
    for kind, sealed in session.execute(
        select(Identity.kind, Identity.value_sealed)
        .where(Identity.organization_id == organization_id, Identity.subject_id == subject_id)
        .order_by(Identity.id)
    ):
        value = open_text(dek, organization_id, subject.key_id, f"identity:{kind}", sealed)
        try:
            refs.append(identify(keys, organization_id, value, kind))
        except InvalidIdentity:
            continue  # stored under older normalisation rules: its blind index cannot be remade
    return refs


def suppress(
    session: Session,
    organization_id: int,
    refs: Iterable[IdentityRef],
    actor: Actor,
    *,
    request_ref: str,
    subject_id: int | None = None,
) -> list[IdentityRef]:
    """Write each identity (once, however often it is listed) to the suppression list: an
    opt-out of marketing on every channel, source `rights_request`. Idempotent per request and
    identity (a retried request adds nothing). Returns the distinct identities suppressed."""
    return _write(
        session,
        organization_id,
        refs,
        actor,
        Source.RIGHTS_REQUEST,
        f"rights:{request_ref}",
        {"request_ref": request_ref},
        subject_id,
    )


def _write(
    session: Session,
    organization_id: int,
    refs: Iterable[IdentityRef],
    actor: Actor,
    source: Source,
    ref_prefix: str,
    evidence: dict[str, str],
    subject_id: int | None,
) -> list[IdentityRef]:
    distinct: dict[str, IdentityRef] = {}
    for ref in refs:
        distinct.setdefault(ref.index, ref)
    for ref in distinct.values():
        ledger.record(
            session,
            organization_id,
            ref,
            Purpose.MARKETING.value,
            ConsentChannel.ALL.value,
            Action.OPT_OUT.value,
            source.value,
            actor,
            subject_id=subject_id,
            evidence=evidence,
            # Per identity (its blind index, itself one-way): two emails of one person are two
            # entries, and a retry of the same request finds the entries it already wrote.
            external_ref=f"{ref_prefix}:suppress:{ref.index}",
        )
    return list(distinct.values())


def suppress_retention_erasure(
    session: Session,
    keys: Keys,
    vault_keys: Any,
    organization_id: int,
    subject_ids: Iterable[int],
    actor: Actor,
    *,
    run_id: int,
) -> int:
    """Suppress every identity of subjects a "not stored" (zero-day) retention rule is about to
    erase: nobody erased that way gets later mail (an invited friend imported again is
    blocked). Idempotent per sweep run and identity, so a resumed run adds nothing. Must run
    (and commit) before the subjects' keys are destroyed. Returns the identities suppressed."""
    total = 0
    for subject_id in subject_ids:
        refs = subject_identities(session, keys, vault_keys, organization_id, subject_id)
        total += len(
            _write(
                session,
                organization_id,
                refs,
                actor,
                Source.RETENTION,
                f"retention:{run_id}",
                {"request_ref": f"retention-run:{run_id}"},
                subject_id,
            )
        )
    return total


def suppress_subject(
    session: Session,
    keys: Keys,
    vault_keys: Any,
    organization_id: int,
    subject_id: int,
    actor: Actor,
    *,
    request_ref: str,
    also: Sequence[IdentityRef] = (),
) -> list[IdentityRef]:
    """Suppress every identity of a subject about to be erased, plus `also` (the identities the
    request itself named, which the vault may not hold)."""
    refs = [*also, *subject_identities(session, keys, vault_keys, organization_id, subject_id)]
    return suppress(
        session, organization_id, refs, actor, request_ref=request_ref, subject_id=subject_id
    )
