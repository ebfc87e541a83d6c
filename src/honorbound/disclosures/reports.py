"""Reports from the ledger: "who received my data" for one person (also part of access
packages), California's Shine the Light answer, and the legal-process log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.disclosures.models import Basis, Disclosure, DisclosureSubject
from honorbound.i18n import N_
from honorbound.policy.schema import Declaration


@dataclass(frozen=True)
class Received:
    disclosure_id: int
    recipient_id: str
    recipient_name: str
    recipient_type: str
    categories: list[str]
    purpose: str
    basis: str
    disclosed_at: dt.datetime


def who_received(session: Session, organization_id: int, subject_id: int) -> list[Received]:
    """Every disclosure that included this subject, oldest first, with the categories of
    theirs that went (aggregates are not listed: nobody is identifiable in them)."""
    rows = session.execute(
        select(Disclosure, DisclosureSubject.categories)
        .join(DisclosureSubject, DisclosureSubject.disclosure_id == Disclosure.id)
        .where(
            DisclosureSubject.organization_id == organization_id,
            DisclosureSubject.subject_id == subject_id,
            Disclosure.organization_id == organization_id,
        )
        .order_by(Disclosure.disclosed_at, Disclosure.id)
    ).all()
    return [
        Received(
            d.id,
            d.recipient_id,
            d.recipient_name,
            d.recipient_type,
            list(cats),
            d.purpose,
            d.basis,
            d.disclosed_at,
        )
        for d, cats in rows
    ]


def is_direct_marketing(declaration: Declaration, purpose_id: str) -> bool:
    """Shine the Light covers disclosures for the recipients' direct marketing: purposes whose
    declared use is under `marketing` (advertising, communications)."""
    purpose = declaration.purpose(purpose_id)
    return purpose is not None and (
        purpose.use == "marketing" or purpose.use.startswith("marketing.")
    )


@dataclass
class ShineTheLightRecipient:
    name: str
    address: str | None
    categories: list[str] = field(default_factory=list)


@dataclass
class ShineTheLight:
    year: int
    recipients: list[ShineTheLightRecipient]
    categories: list[str]
    note: str


def shine_the_light(
    session: Session,
    organization_id: int,
    subject_id: int,
    declaration: Declaration,
    year: int | None = None,
    addresses: dict[str, str] | None = None,
) -> ShineTheLight:
    """Cal. Civ. Code 1798.83: for the preceding calendar year (or `year`), the categories of
    this person's information disclosed to third parties for their direct marketing, and the
    names and addresses of those recipients. The declaration names recipients but has no
    address field; pass `addresses` (recipient id -> postal address) to fill them in."""
    year = year or dt.date.today().year - 1
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    by_recipient: dict[str, ShineTheLightRecipient] = {}
    for entry in who_received(session, organization_id, subject_id):
        if not (start <= entry.disclosed_at < end) or not is_direct_marketing(
            declaration, entry.purpose
        ):
            continue
        item = by_recipient.setdefault(
            entry.recipient_id,
            ShineTheLightRecipient(entry.recipient_name, (addresses or {}).get(entry.recipient_id)),
        )
        item.categories = sorted(set(item.categories) | set(entry.categories))
    recipients = sorted(by_recipient.values(), key=lambda r: r.name)
    categories = sorted({c for r in recipients for c in r.categories})
    # Marked for the catalogs: reads as English (the API, the letter), translated where shown.
    note = (
        N_(
            "Disclosures of your personal information to third parties for their direct "
            "marketing purposes in calendar year {year}.",
            year=year,
        )
        if recipients
        else N_(
            "We did not disclose your personal information to third parties for their direct "
            "marketing purposes in calendar year {year}.",
            year=year,
        )
    )
    return ShineTheLight(year, recipients, categories, note)


def legal_process_log(
    session: Session,
    organization_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Disclosure]:
    """Disclosures made under legal process (subpoenas, orders, warrants), oldest first."""
    query = select(Disclosure).where(
        Disclosure.organization_id == organization_id, Disclosure.basis == Basis.LEGAL_PROCESS.value
    )
    if since is not None:
        query = query.where(Disclosure.disclosed_at >= since)
    if until is not None:
        query = query.where(Disclosure.disclosed_at < until)
    return list(session.scalars(query.order_by(Disclosure.disclosed_at, Disclosure.id)))
