"""Printable notice letters (PDF, ReportLab) for people the vault holds no email for.

ReportLab is an optional dependency (`pip install honorbound[breach]`); without it a letter
is refused with a sentence saying so. The postal address is the one value decrypted, to print
it; the PDF is returned to the caller and not stored.
"""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach.deadlines import RulesSource, incident_plan
from honorbound.breach.errors import BreachError, BreachInputError
from honorbound.breach.incidents import OBJECT, get_incident
from honorbound.breach.models import Audience, Notice
from honorbound.breach.notices import protection_for, render
from honorbound.breach.selection import categories_of, counts_by_state
from honorbound.breach.wording import Wording
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import Record, Subject
from honorbound.vault.sealing import open_text

ADDRESS_CATEGORY = "user.contact.address"


class LettersUnavailable(BreachError):
    title = "Not available"
    status = 501


def _pdf(title: str, address: list[str], sections: list[tuple[str, str]], points: int) -> bytes:
    try:
        from reportlab.lib.pagesizes import LETTER
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    except ImportError:
        raise LettersUnavailable(
            "printable letters need ReportLab: pip install 'honorbound[breach]'"
        ) from None
    from xml.sax.saxutils import escape

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=points, leading=points + 3)
    head = ParagraphStyle("head", parent=body, fontName="Helvetica-Bold", spaceBefore=8)
    big = ParagraphStyle("title", parent=head, fontSize=points + 4, leading=points + 8)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER, title=title)
    story = [Paragraph(escape(line), body) for line in address]
    story += [Spacer(1, 24), Paragraph(escape(title), big)]
    for heading, text in sections:
        story += [Paragraph(escape(heading), head), Paragraph(escape(text), body)]
    doc.build(story)
    return out.getvalue()


def letter_pdf(
    session: Session,
    vault_keys: KeyStore,
    rules: RulesSource,
    wording: Wording,
    organization_id: int,
    organization_name: str,
    incident_id: int,
    notice_id: int,
    actor: Actor,
) -> bytes:
    incident = get_incident(session, organization_id, incident_id)
    notice = session.get(Notice, notice_id)
    if (
        notice is None
        or notice.incident_id != incident.id
        or notice.audience != Audience.INDIVIDUAL.value
        or notice.subject_id is None
    ):
        raise BreachInputError(
            "notice", f"{notice_id} is not a notice to a person of this incident"
        )
    subject = session.get(Subject, notice.subject_id)
    address = session.scalars(
        select(Record)
        .where(Record.subject_id == notice.subject_id, Record.category == ADDRESS_CATEGORY)
        .order_by(Record.id.desc())
        .limit(1)
    ).first()
    if subject is None or address is None:
        raise BreachInputError("notice", "has no postal address in the vault to print a letter to")
    try:
        dek = vault_keys.data_key(organization_id, subject.key_id)
    except KeyDestroyed:
        raise BreachInputError("notice", "is for a person erased since: nothing to print") from None
    street = open_text(dek, organization_id, subject.key_id, f"record:{ADDRESS_CATEGORY}",
                       address.value_sealed)  # fmt: skip
    rules, p = incident_plan(session, rules, incident, counts_by_state(session, incident.id))
    prefixes = sorted(set(incident.categories) | set(incident.selection.get("categories") or []))
    cats = categories_of(session, organization_id, [subject.id], prefixes).get(subject.id, set())
    letter = render(
        rules, wording, incident, organization_name, notice.state, cats,
        protection_for(rules, p, notice.state, cats), notice.language,
    )  # fmt: skip
    fmt = rules.breach_notice_format.get(notice.state)
    points = max(11, fmt.minimum_font_points if fmt else 11)
    pdf = _pdf(letter.title, street.splitlines(), letter.sections, points)
    append(
        session, organization_id, actor, "breach.letter_printed", OBJECT, incident.id,
        {"notice_id": notice.id, "state": notice.state},
    )  # fmt: skip
    return pdf
