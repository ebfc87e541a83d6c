"""The notices: to each affected person (email through the outbox, or a printable letter when
the vault holds no email), and prepared documents for regulators and client controllers.

A person's notice is built from the template fragments (`templates/notice.<lang>.yaml`) and
what the rules data requires in their state (the CA title and headings, the months of
identity protection when a government id was exposed). Only the email address of each person
notified is decrypted, to address the message; it is sealed again under the person's own key
in the outbox. Every notice is a row here; an email's delivery status is its outbox row's.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach import contacts
from honorbound.breach.confirmation import public_contact
from honorbound.breach.deadlines import Plan, RulesSource, covers, incident_plan
from honorbound.breach.errors import BreachInputError
from honorbound.breach.incidents import OBJECT, get_incident
from honorbound.breach.models import Audience, Incident, IncidentStatus, Notice
from honorbound.breach.selection import affected_ids, categories_of, counts_by_state
from honorbound.breach.wording import SECTIONS, Wording
from honorbound.db.base import utcnow
from honorbound.notify import outbox
from honorbound.notify.models import Channel, OutboxMessage
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import Identity, Subject
from honorbound.vault.sealing import open_text

KIND = "breach.notice"
_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def category_words(categories: set[str]) -> str:
    words = sorted({c.split(".")[-1].replace("_", " ") for c in categories})
    return ", ".join(words) if words else "the information named above"


@dataclass(frozen=True)
class Letter:
    """One notice as text: a subject line, the title and the sections in the state's order."""

    subject: str
    title: str
    sections: list[tuple[str, str]]
    elements: tuple[str, ...] = ()  # the fragments it carries, for the record

    def text(self) -> str:
        parts = [self.title, ""]
        for heading, body in self.sections:
            parts += [heading, body, ""]
        return "\n".join(parts).rstrip() + "\n"


def _day(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).date().isoformat()


def render(
    rules: JurisdictionRules,
    wording: Wording,
    incident: Incident,
    organization: str,
    state: str,
    categories: set[str],
    protection_months: int | None,
    language: str = "en",
    today: dt.date | None = None,
) -> Letter:
    """The notice for a resident of `state` whose `categories` were involved: the parts every
    notice carries plus the state's own, less what it forbids (`rules.notice_elements`), in
    the words of `language`, under the state's title and headings where its law gives them."""
    f = wording.language(language)
    own = (f.get("states") or {}).get(state, {})
    occurred = ""
    if incident.occurred_from and incident.occurred_to:
        occurred = f"{_day(incident.occurred_from)} – {_day(incident.occurred_to)}"
    content = rules.breach_notice_content.get(state)
    values: dict[str, Any] = {
        "organization": organization,
        "discovered": _day(incident.discovered_at),
        "notice_date": (today or utcnow().date()).isoformat(),
        "description": incident.description,
        "occurred": occurred,
        "categories": category_words(categories),
        "protection_months": protection_months,
        "contact": incident.contact or organization,
        "state_name": wording.state_names.get(state, ""),
        # Contacts as a person may see them: an unverified one by name only (confirmation.py).
        "agencies": [public_contact(c) for c in rules.notice_contacts(state, "agency")],
        "ftc": [public_contact(c) for c in rules.notice_contacts(state, "ftc")],
        "credit_report": [public_contact(c) for c in rules.notice_contacts(state, "credit_report")],
        "state_contacts": [public_contact(c) for c in content.of_role("state")] if content else [],
    }
    title = own.get("title", f["title"])
    headings = dict(f["headings"])
    fmt = rules.breach_notice_format.get(state)
    if fmt is not None and language == "en":
        # The state's own headings, in its order (CA 1798.82(d)).
        title = fmt.title
        headings.update(zip(SECTIONS, fmt.headings, strict=False))
    values["title"] = title
    wanted: set[str] = set(rules.notice_elements(state))
    if protection_months:
        wanted.add("identity_protection")
    carried: list[str] = []
    sections = []
    for name in SECTIONS:
        parts = []
        for element in f["sections"][name]:
            if element not in wanted:
                continue
            text = _ENV.from_string(own.get(element, f["fragments"][element])).render(values)
            parts.append(" ".join(text.split()))
            carried.append(element)
        if parts:
            sections.append((headings[name], " ".join(parts)))
    return Letter(_ENV.from_string(f["subject"]).render(values), title, sections, tuple(carried))


@dataclass(frozen=True)
class SendResult:
    emails: int
    letters: int
    already: int
    not_required: int
    by_state: dict[str, int]
    unreachable: int = 0  # people found only in a connected system, with a phone and no email


def protection_for(
    rules: JurisdictionRules, p: Plan, state: str, categories: set[str]
) -> int | None:
    """Months of identity protection to offer this person: only when their own exposed data
    includes what the state ties the offer to (a government id)."""
    if not covers(categories, rules.breach_response.identity_protection_categories):
        return None
    return p.identity_protection_months.get(state)


def _required_states(p: Plan) -> set[str]:
    return {o.state for o in p.obligations if o.audience == "individuals" and o.required}


def send_individual_notices(
    session: Session,
    keys: outbox.KeyRing,
    vault_keys: KeyStore,
    jobs: outbox.Enqueuer | None,
    rules: RulesSource,
    wording: Wording,
    organization_id: int,
    organization_name: str,
    incident_id: int,
    actor: Actor,
    language: str = "en",
) -> SendResult:
    """Queue the notice to every affected person not yet told, in the states where one is
    required. Safe to run again: people already noticed are skipped."""
    wording.language(language)  # an unknown language is bad input before anything is written
    incident = get_incident(session, organization_id, incident_id)
    by_state = counts_by_state(session, incident.id)
    if not by_state:
        raise BreachInputError(
            "selection", "has not been run: select the affected people before sending notices"
        )
    rules, p = incident_plan(session, rules, incident, by_state)
    required = _required_states(p)
    hipaa_all = "US" in required
    prefixes = sorted(set(incident.categories) | set(incident.selection.get("categories") or []))
    already = set(
        session.scalars(
            select(Notice.subject_id).where(
                Notice.incident_id == incident.id, Notice.audience == Audience.INDIVIDUAL.value
            )
        )
    )
    emails = letters = skipped = not_required = 0
    sent_states: Counter[str] = Counter()
    queued: list[int] = []
    after = 0
    while True:
        page = affected_ids(session, incident.id, after)
        if not page:
            break
        after = page[-1][0]
        ids = [s for s, _ in page]
        cats = categories_of(session, organization_id, ids, prefixes)
        subjects = {s.id: s for s in session.scalars(select(Subject).where(Subject.id.in_(ids)))}
        first_email: dict[int, Identity] = {}
        for identity in session.scalars(
            select(Identity)
            .where(Identity.subject_id.in_(ids), Identity.kind == IdentityKind.EMAIL.value)
            .order_by(Identity.id)
        ):
            first_email.setdefault(identity.subject_id, identity)
        for subject_id, state in page:
            if subject_id in already:
                skipped += 1
                continue
            if state not in required and not hipaa_all:
                not_required += 1
                continue
            subject = subjects.get(subject_id)
            if subject is None:
                continue
            letter = render(
                rules, wording, incident, organization_name, state, cats.get(subject_id, set()),
                protection_for(rules, p, state, cats.get(subject_id, set())), language,
            )  # fmt: skip
            email = first_email.get(subject_id)
            notice = Notice(
                organization_id=organization_id,
                incident_id=incident.id,
                audience=Audience.INDIVIDUAL.value,
                subject_id=subject_id,
                state=state,
                language=language,
                channel="letter",
                status="prepared",
            )
            if email is not None:
                try:
                    dek = vault_keys.data_key(organization_id, subject.key_id)
                except KeyDestroyed:
                    continue  # erased since the selection: nobody left to tell
                address = open_text(
                    dek, organization_id, subject.key_id, f"identity:{email.kind}",
                    email.value_sealed,
                )  # fmt: skip
                message = outbox.put(
                    session, keys, None, organization_id, Channel.EMAIL, KIND, address,
                    letter.text(), subject=letter.subject,
                    subject_ref=f"breach:{incident.id}:subject:{subject_id}", actor=actor,
                    sealed_for=outbox.PersonKey(subject.key_id, dek),
                )  # fmt: skip
                notice.channel, notice.outbox_message_id = "email", message.id
                queued.append(message.id)
                emails += 1
            else:
                letters += 1
            session.add(notice)
            sent_states[state] += 1
    # People found only in a connected system (kept, sealed, for this incident): an email is
    # sent like a vault person's, sealed under the contact's own key; a phone alone gives no
    # address to write to (recorded as `unreachable`, channel `phone`).
    unreachable = 0
    for contact in contacts.pending(session, incident.id):
        if contact.state not in required and not hipaa_all:
            not_required += 1
            continue
        held = set(contact.categories)
        letter = render(
            rules, wording, incident, organization_name, contact.state, held,
            protection_for(rules, p, contact.state, held), language,
        )  # fmt: skip
        notice = Notice(
            organization_id=organization_id, incident_id=incident.id,
            audience=Audience.INDIVIDUAL.value, contact_id=contact.id, state=contact.state,
            language=language, channel="phone", status="unreachable",
        )  # fmt: skip
        if contact.kind == IdentityKind.EMAIL.value:
            try:
                address = contacts.contact_value(vault_keys, contact)
                dek = vault_keys.data_key(organization_id, contact.key_id)
            except KeyDestroyed:
                continue
            message = outbox.put(
                session, keys, None, organization_id, Channel.EMAIL, KIND, address,
                letter.text(), subject=letter.subject,
                subject_ref=f"breach:{incident.id}:contact:{contact.id}", actor=actor,
                sealed_for=outbox.PersonKey(contact.key_id, dek),
            )  # fmt: skip
            notice.channel, notice.status = "email", "prepared"
            notice.outbox_message_id = message.id
            queued.append(message.id)
            emails += 1
        else:
            unreachable += 1
        session.add(notice)
        sent_states[contact.state] += 1
    if incident.status == IncidentStatus.OPEN.value or incident.status == "contained":
        incident.status = IncidentStatus.NOTIFYING.value
    incident.updated_at = utcnow()
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "breach.individual_notices_queued",
        OBJECT,
        incident.id,
        {
            "emails": emails,
            "letters": letters,
            "already_noticed": skipped,
            "not_required": not_required,
            "unreachable": unreachable,
            "by_state": dict(sorted(sent_states.items())),
            "language": language,
        },
    )
    # Delivery jobs last: the queue sends pending jobs when a savepoint is released (every
    # audit append uses one), so a job queued earlier could start before this commits.
    if jobs is not None:
        for message_id in queued:
            jobs.enqueue(
                session, outbox.DELIVER_JOB, {"message_id": message_id},
                organization_id=organization_id,
            )  # fmt: skip
    return SendResult(
        emails, letters, skipped, not_required, dict(sorted(sent_states.items())), unreachable
    )


def prepare_documents(
    session: Session,
    rules: RulesSource,
    organization_id: int,
    incident_id: int,
    actor: Actor,
) -> int:
    """One prepared document per required regulator, agency, HHS, media and client notice
    not prepared yet; returns how many were added."""
    incident = get_incident(session, organization_id, incident_id)
    rules, p = incident_plan(session, rules, incident, counts_by_state(session, incident.id))
    have = {
        (n.audience, n.state, n.recipient)
        for n in session.scalars(
            select(Notice).where(
                Notice.incident_id == incident.id, Notice.audience != Audience.INDIVIDUAL.value
            )
        )
    }
    added = 0
    for o in p.required():
        if o.audience == "individuals":
            continue
        audience = Audience.OWNER.value if o.audience == "owner" else Audience.REGULATOR.value
        if (audience, o.state, o.who) in have:
            continue
        session.add(
            Notice(
                organization_id=organization_id,
                incident_id=incident.id,
                audience=audience,
                state=o.state,
                recipient=o.who,
                channel="document",
                status="prepared",
            )
        )
        have.add((audience, o.state, o.who))
        added += 1
    session.flush()
    append(
        session, organization_id, actor, "breach.documents_prepared", OBJECT, incident.id,
        {"added": added},
    )  # fmt: skip
    return added


def document_text(
    rules: JurisdictionRules, incident: Incident, organization: str, notice: Notice, residents: int
) -> str:
    """A regulator's or client's notice, ready to submit (names no person)."""
    occurred = (
        f"{_day(incident.occurred_from)} to {_day(incident.occurred_to)}"
        if incident.occurred_from and incident.occurred_to
        else "under investigation"
    )
    lines = [
        f"To: {notice.recipient}" + (f" ({notice.state})" if notice.state else ""),
        f"From: {organization}" + (f", contact {incident.contact}" if incident.contact else ""),
        f"Re: data security incident {incident.id}: {incident.title}",
        "",
        f"Discovered: {_day(incident.discovered_at)}",
        f"Took place: {occurred}",
        f"Residents affected{f' of {notice.state}' if notice.state not in ('', 'US') else ''}: "
        f"{residents:,}",
        f"Information involved: {category_words(set(incident.categories))}",
        f"Data encrypted: {'yes' if incident.encrypted else 'no'}"
        + (" (key compromised)" if incident.key_compromised else ""),
        "",
        "What happened:",
        incident.description,
    ]
    if notice.audience == Audience.OWNER.value:
        lines += [
            "",
            "We maintain this data on your behalf. This notice is our duty as your processor; "
            "the attached counts per state are yours to notify under your own obligations.",
        ]
    return "\n".join(lines) + "\n"


def mark_submitted(
    session: Session, organization_id: int, incident_id: int, notice_id: int, actor: Actor
) -> Notice:
    """A prepared letter or document was mailed or submitted."""
    get_incident(session, organization_id, incident_id)
    notice = session.get(Notice, notice_id)
    if notice is None or notice.incident_id != incident_id:
        raise BreachInputError("notice", f"{notice_id} is not a notice of this incident")
    if notice.channel == "email":
        raise BreachInputError("notice", "is an email: its status comes from the outbox")
    notice.status = "submitted"
    session.flush()
    append(
        session, organization_id, actor, "breach.notice_submitted", OBJECT, incident_id,
        {"notice_id": notice.id, "audience": notice.audience, "state": notice.state},
    )  # fmt: skip
    return notice


@dataclass(frozen=True)
class NoticeView:
    id: int
    audience: str
    subject_id: int | None
    state: str
    recipient: str
    channel: str
    language: str
    status: str  # an email's: its outbox status (pending, sending, sent, failed, erased)
    created_at: dt.datetime
    sent_at: dt.datetime | None
    contact_id: int | None = None  # a person found only in a connected system


def list_notices(
    session: Session, incident_id: int, limit: int = 1000, offset: int = 0
) -> list[NoticeView]:
    rows = session.execute(
        select(Notice, OutboxMessage.status, OutboxMessage.sent_at)
        .outerjoin(OutboxMessage, OutboxMessage.id == Notice.outbox_message_id)
        .where(Notice.incident_id == incident_id)
        .order_by(Notice.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        NoticeView(
            n.id,
            n.audience,
            n.subject_id,
            n.state,
            n.recipient,
            n.channel,
            n.language,
            status if n.outbox_message_id is not None and status else n.status,
            n.created_at,
            sent_at,
            n.contact_id,
        )  # fmt: skip
        for n, status, sent_at in rows
    ]


def delivery_counts(session: Session, incident_id: int) -> dict[str, dict[str, int]]:
    """Per state, how many notices to people are in each delivery status."""
    out: dict[str, Counter[str]] = {}
    after = 0
    while True:
        page = list_notices(session, incident_id, limit=5000, offset=after)
        if not page:
            break
        after += len(page)
        for n in page:
            if n.audience == Audience.INDIVIDUAL.value:
                out.setdefault(n.state, Counter())[f"{n.channel}:{n.status}"] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(out.items())}
