"""Who received a subject's data, from the disclosure records (issue 8's `disclosures` tables).

Adapter: the disclosures package records recipients by the declaration's recipient id and name
but not how to reach them, so deletion and correction notices go to the organization's privacy
contact (the declaration's `contact.email`) to forward, listing each recipient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RecipientRef:
    id: str
    name: str
    type: str
    categories: tuple[str, ...]


def recipients_of_subject(
    session: Session,
    organization_id: int,
    subject_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[RecipientRef]:
    """Distinct recipients of disclosures that covered this subject (optionally in a window)."""
    try:
        from honorbound.disclosures.models import Disclosure, DisclosureSubject
    except ImportError:  # the disclosure ledger is not installed: nobody is on record
        return []
    query = (
        select(
            Disclosure.recipient_id,
            Disclosure.recipient_name,
            Disclosure.recipient_type,
            DisclosureSubject.categories,
        )
        .join(DisclosureSubject, DisclosureSubject.disclosure_id == Disclosure.id)
        .where(
            DisclosureSubject.organization_id == organization_id,
            DisclosureSubject.subject_id == subject_id,
        )
    )
    if since is not None:
        query = query.where(Disclosure.disclosed_at >= since)
    if until is not None:
        query = query.where(Disclosure.disclosed_at < until)
    found: dict[str, tuple[str, str, set[str]]] = {}
    for rid, name, rtype, categories in session.execute(query):
        entry = found.setdefault(rid, (name, rtype, set()))
        entry[2].update(categories or [])
    return [
        RecipientRef(rid, name, rtype, tuple(sorted(cats)))
        for rid, (name, rtype, cats) in sorted(found.items())
    ]
