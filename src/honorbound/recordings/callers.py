"""Callers not yet identified: a recording keeps the blind index of the caller's number (the
vault's keyed HMAC of the normalized phone, `vault.identities.blind_index`, the same value as
that phone's `Identity.blind_index`), never the number. When the person is known later (their
phone is an identity in the vault), deletion and access requests find the call by it.
Light on imports: the rights package reads it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.recordings.errors import RecordingError


def caller_index(vault_keys: Any, organization_id: int, number: str) -> str:
    """The blind index of a caller's number: equal to the vault identity's of that phone."""
    from honorbound.vault.identities import IdentityKind, InvalidIdentity, blind_index, normalize

    try:
        normalized = normalize(IdentityKind.PHONE, number)
    except InvalidIdentity:
        raise RecordingError("`caller` is not a valid phone number") from None
    return blind_index(vault_keys.blind_index_key(organization_id), IdentityKind.PHONE, normalized)


def caller_indexes(session: Session, organization_id: int, subject_id: int) -> list[str]:
    """The blind indexes of a person's phone identities: their calls ingested before they were
    identified carry one of these (`caller_index` in the manifest)."""
    from honorbound.vault.models import Identity

    return list(
        session.scalars(
            select(Identity.blind_index).where(
                Identity.organization_id == organization_id,
                Identity.subject_id == subject_id,
                Identity.kind == "phone",
            )
        )
    )
