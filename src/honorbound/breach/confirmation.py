"""Which breach rules an incident relies on are confirmed, and which are not.

Every deadline, notice content item, agency contact and regulator form comes from a rules row
that is either checked against the reference (`checked_against` names the section of
us-privacy-rules.md or rules-review-2026-12.md) or unverified. Staff see the status next to
each of them (console, API, CLI, the regulator documents and the summary); an unverified item
tells them to confirm it with counsel. People never see an unverified contact presented as
fact: their notices name such an agency without its address, phone or website
(`public_contact`).
"""

from __future__ import annotations

from dataclasses import dataclass

from honorbound.breach.deadlines import Plan, status_words
from honorbound.policy.jurisdictions import BreachContact, JurisdictionRules

# Which contacts a notice element prints.
_CONTACT_ROLES = {"agencies": "agency", "ftc": "ftc", "what_you_can_do": "credit_report",
                  "state_contacts": "state"}  # fmt: skip


@dataclass(frozen=True)
class Check:
    kind: str  # deadline | notice_content | contact | form
    state: str
    item: str
    confirmed: bool
    checked_against: str | None
    source: str
    details: str = ""  # a contact's address, phone and website, for staff to check

    @property
    def status(self) -> str:
        return status_words(self.confirmed, self.checked_against)


def public_contact(c: BreachContact) -> dict[str, str]:
    """A contact as a person's notice may print it: its details only once confirmed."""
    return {"name": c.name, "details": c.details() if c.confirmed else ""}


def _contact(state: str, c: BreachContact) -> Check:
    return Check(
        "contact", state, c.name, c.confirmed, c.checked_against, c.source, c.details()
    )  # fmt: skip


def notice_checks(rules: JurisdictionRules, state: str) -> list[Check]:
    """The content items of a notice to a resident of `state`, with the contacts it names."""
    out: list[Check] = []
    fmt = rules.breach_notice_format.get(state)
    if fmt is not None:
        out.append(
            Check(
                "notice_content", state, "title and headings", fmt.confirmed,
                fmt.checked_against, fmt.source,
            )
        )  # fmt: skip
    every = rules.breach_notice_content.get("*")
    own = rules.breach_notice_content.get(state)
    for element in rules.notice_elements(state):
        row = own if own is not None and element in own.include else every
        if row is None:
            continue
        out.append(
            Check(
                "notice_content", state, element, row.is_confirmed(element),
                row.checked_against, row.source,
            )
        )  # fmt: skip
        role = _CONTACT_ROLES.get(element)
        if role is not None:
            out += [_contact(state, c) for c in rules.notice_contacts(state, role)]
    return out


def form_check(rules: JurisdictionRules, state: str, agency: bool) -> Check:
    form = rules.submission_form(state, agency=agency)
    own = state in rules.breach_submission_forms and not agency
    item = "submission form" + ("" if own else " (the general one)")
    return Check("form", state, item, form.confirmed, form.checked_against, form.source)


def incident_checks(rules: JurisdictionRules, p: Plan) -> list[Check]:
    """Everything the incident's plan relies on, each with its status."""
    out = [
        Check(
            "deadline", o.state, f"{o.audience}: {o.who}", o.confirmed, o.checked_against,
            o.source,
        )
        for o in p.obligations
    ]  # fmt: skip
    states = sorted({o.state for o in p.required() if o.audience == "individuals"} - {"US"})
    for state in states:
        out += notice_checks(rules, state)
    for o in p.required():
        if o.audience in ("regulator", "agency"):
            out.append(form_check(rules, o.state, o.audience == "agency"))
    return out


def unverified(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.confirmed]
