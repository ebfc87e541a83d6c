"""The disclosure ledger: every disclosure of personal data outside the organization, with
recipient, categories, purpose, basis, subjects (or a count for aggregates), time, initiator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.disclosures.models import Basis, Disclosure, DisclosureSubject
from honorbound.errors import FieldError
from honorbound.policy.schema import Recipient


class DisclosureInputError(FieldError, ValueError):
    """Bad input for a disclosure; `field` names it. Nothing was written."""

    titles = {}  # "Invalid request" whatever the status, as the API has always answered

    def errors(self) -> list[dict[str, str]]:
        return [{"field": f"body.{self.field}", "message": self.message}]


def parse_basis(value: str, field: str = "basis") -> Basis:
    try:
        return Basis(value)
    except ValueError:
        allowed = ", ".join(b.value for b in Basis)
        raise DisclosureInputError(field, f"{field} must be one of: {allowed}") from None


def record_disclosure(
    session: Session,
    organization_id: int,
    actor: Actor,
    *,
    recipient: Recipient,
    categories: Sequence[str],
    purpose: str,
    basis: Basis,
    subjects: Mapping[int, Sequence[str]] | None = None,
    aggregate_count: int | None = None,
    legal_reference: str | None = None,
    channel: str = "api",
    policy_version_id: int | None = None,
    file_sha256: str | None = None,
    disclosed_at: dt.datetime | None = None,
) -> Disclosure:
    """Write one ledger entry. `subjects` maps each subject to the categories they had in it;
    aggregates (no one identifiable) give `aggregate_count` instead."""
    if basis == Basis.LEGAL_PROCESS and not (legal_reference or "").strip():
        raise DisclosureInputError(
            "legal_reference",
            "a legal-process disclosure needs its reference (e.g. the subpoena or case number)",
        )
    if legal_reference is not None and len(legal_reference) > 200:
        raise DisclosureInputError(
            "legal_reference", "legal_reference must be at most 200 characters"
        )
    if (subjects is None) == (aggregate_count is None):
        raise DisclosureInputError("subjects", "give either the subjects or an aggregate count")
    if aggregate_count is not None and aggregate_count < 0:
        raise DisclosureInputError("aggregate_count", "aggregate_count cannot be negative")
    if not categories:
        raise DisclosureInputError("categories", "name at least one category")
    when = disclosed_at or utcnow()
    if when.tzinfo is None:
        raise DisclosureInputError("disclosed_at", "disclosed_at needs a time zone (e.g. 'Z')")
    row = Disclosure(
        organization_id=organization_id,
        recipient_id=recipient.id,
        recipient_name=recipient.name,
        recipient_type=recipient.type.value,
        categories=list(categories),
        purpose=purpose,
        basis=basis.value,
        legal_reference=(legal_reference or "").strip() or None,
        subject_count=len(subjects) if subjects is not None else int(aggregate_count or 0),
        aggregate=subjects is None,
        policy_version_id=policy_version_id,
        initiator=actor.id,
        channel=channel,
        file_sha256=file_sha256,
        disclosed_at=when,
    )
    session.add(row)
    session.flush()
    if subjects:
        session.add_all(
            DisclosureSubject(
                organization_id=organization_id,
                disclosure_id=row.id,
                subject_id=subject_id,
                categories=list(cats),
            )
            for subject_id, cats in subjects.items()
        )
        session.flush()
    append(
        session,
        organization_id,
        actor,
        "disclosure.recorded",
        "disclosure",
        row.id,
        {
            "recipient": recipient.id,
            "basis": basis.value,
            "purpose": purpose,
            "categories": list(categories),
            "subjects": row.subject_count,
            "aggregate": row.aggregate,
        },
    )
    return row


def list_disclosures(
    session: Session,
    organization_id: int,
    *,
    basis: Basis | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Disclosure]:
    query = select(Disclosure).where(Disclosure.organization_id == organization_id)
    if basis is not None:
        query = query.where(Disclosure.basis == basis.value)
    if since is not None:
        query = query.where(Disclosure.disclosed_at >= since)
    if until is not None:
        query = query.where(Disclosure.disclosed_at < until)
    return list(
        session.scalars(
            query.order_by(Disclosure.disclosed_at, Disclosure.id).limit(limit).offset(offset)
        )
    )
