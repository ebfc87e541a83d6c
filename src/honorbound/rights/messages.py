"""What the consumer (and the privacy team) read. Plain text; links carry the only secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

TYPE_NAMES = {
    "access_categories": "know what categories of personal information we hold about you",
    "access_specific": "get a copy of the personal information we hold about you",
    "portability": "get a portable copy of your personal information",
    "delete": "delete your personal information",
    "correct": "correct your personal information",
    "opt_out_sale": "opt out of the sale of your personal information",
    "opt_out_sharing": "opt out of the sharing of your personal information",
    "opt_out_targeted_advertising": "opt out of targeted advertising",
    "opt_out_profiling": "opt out of profiling",
    "limit_sensitive": "limit the use of your sensitive personal information",
    "shine_the_light": "know which third parties received your information for direct marketing",
    "opt_out_admt": "opt out of automated decision-making about you for significant decisions",
    "access_admt": "know how we used automated decision-making about you",
    "appeal": "appeal our decision on your request",
}

DENIAL_REASONS = {
    "unverifiable": "we could not verify your identity with the information available",
    "exempt": "the information is exempt from this right under the law",
    "not_a_consumer": "we could not find that you are a consumer whose information we hold",
    "fraud": "we have a good-faith, documented belief that the request is fraudulent",
    "excessive": (
        "you have already made the number of free requests of this kind the law provides for "
        "in the last 12 months"
    ),
    "other": "of the reason given below",
}


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def _day(value: dt.datetime) -> str:
    return value.strftime("%B %d, %Y").replace(" 0", " ")


def acknowledgement(
    org: str,
    reference: str,
    request_type: str,
    due_at: dt.datetime,
    verify_link: str | None,
    now: dt.datetime,
    data_points: int,
    declaration: bool,
    agent: bool,
) -> Mail:
    lines = [
        f"We received your request to {TYPE_NAMES[request_type]} (reference {reference}).",
        "",
    ]
    if agent:
        lines += [
            "An authorized agent made this request on your behalf. Following the link below "
            "confirms that you gave them permission; ignore this message if you did not.",
            "",
        ]
    if verify_link:
        lines += [
            "How verification works: open this link, which works once and expires in a few days,",
            f"  {verify_link}",
            f"and confirm {data_points} detail(s) we already hold about you (this email address "
            "counts as one if we have it on file; a phone number, account number or date of "
            "birth can be others). We never ask for new sensitive information to verify you.",
        ]
        if declaration:
            lines.append(
                "This request also needs a signed declaration: you will type your name and "
                "confirm, under penalty of perjury, that you are the person the request is about."
            )
        lines.append("")
    if due_at.date() < now.date():
        # Entered late (a letter read weeks after it came): never promise a date already past.
        lines += [
            f"When to expect an answer: the time to answer ran out on {_day(due_at)}, before "
            "this request reached us. We are handling it first and will answer as soon as we "
            "can.",
            "",
            f"{org}",
        ]
    else:
        lines += [
            f"When to expect an answer: by {_day(due_at)}. If we need more time we will tell "
            "you why before then.",
            "",
            f"{org}",
        ]
    return Mail(f"{org}: we received your privacy request {reference}", "\n".join(lines))


def sms_code(org: str, reference: str, code: str) -> str:
    return f"{org}: your verification code for privacy request {reference} is {code}."


def opt_out_done(org: str, reference: str, request_type: str) -> Mail:
    return Mail(
        f"{org}: your request {reference} is done",
        f"We recorded your request to {TYPE_NAMES[request_type]} (reference {reference}). "
        "It takes effect now; you do not need to do anything else.\n\n" + org,
    )


def access_ready(org: str, reference: str, link: str, expires_at: dt.datetime) -> Mail:
    return Mail(
        f"{org}: your information is ready ({reference})",
        f"Your copy of the personal information we hold is ready (reference {reference}).\n\n"
        f"Download it here until {_day(expires_at)}:\n  {link}\n\n"
        "The ZIP file holds data.json (everything, by category), one CSV file per category and "
        "summary.html, a readable overview. Some values (such as government ID numbers or "
        "account numbers) are shown only as 'held': the law does not let us send them.\n\n" + org,
    )


def _told(recipients: list[str], what: str) -> str:
    """What the letter may say about recipients: only what the disclosure ledger shows."""
    if not recipients:
        return (
            "Our disclosure records show we had not shared your information with any other "
            "company, so there was no one else to tell."
        )
    return (
        f"We are passing your request on to the companies our records show we shared your "
        f"information with, so they {what} too: {', '.join(recipients)}."
    )


def deletion_done(org: str, reference: str, kept: list[str], recipients: list[str]) -> Mail:
    kept_text = "\n".join(f"  - {k}" for k in kept)
    return Mail(
        f"{org}: your information was deleted ({reference})",
        f"We deleted the personal information we held about you (reference {reference}): "
        "every record and every call, chat and message linked to you. The encryption key of "
        "your data was destroyed, so copies in backups can no longer be read.\n\n"
        f"What we kept, and why:\n{kept_text}\n\n"
        f"{_told(recipients, 'delete it')}\n\n" + org,
    )


def nothing_held(org: str, reference: str, request_type: str) -> Mail:
    return Mail(
        f"{org}: your request {reference}",
        f"We looked for personal information linked to the details you verified and found none, "
        f"so there was nothing to {TYPE_NAMES[request_type].split(' ', 1)[0]} "
        f"(reference {reference}).\n\n" + org,
    )


def correction_done(
    org: str, reference: str, corrected: list[str], missing: list[str], recipients: list[str]
) -> Mail:
    lines = [f"We corrected your information (reference {reference})."]
    if corrected:
        lines.append("Corrected: " + ", ".join(corrected) + ".")
    if missing:
        lines.append(
            "We hold nothing in these categories, so there was nothing to correct: "
            + ", ".join(missing)
            + "."
        )
    if corrected:
        lines.append(_told(recipients, "correct it"))
    lines += ["", org]
    return Mail(f"{org}: your information was corrected ({reference})", "\n".join(lines))


def shine_the_light(org: str, reference: str, year: int, recipients: list[str]) -> Mail:
    listing = "\n".join(f"  - {r}" for r in recipients) or "  (none)"
    return Mail(
        f"{org}: direct-marketing disclosures in {year} ({reference})",
        f"In {year} we disclosed personal information to these third parties for their own "
        f"direct marketing (California Civil Code 1798.83):\n{listing}\n\n" + org,
    )


def denial(
    org: str,
    reference: str,
    request_type: str,
    basis: str,
    explanation: str,
    appeal_link: str | None,
    appeal_days: int | None,
) -> Mail:
    lines = [
        f"We cannot complete your request to {TYPE_NAMES[request_type]} (reference {reference}) "
        f"because {DENIAL_REASONS[basis]}.",
    ]
    if explanation:
        lines += ["", explanation]
    if appeal_link:
        lines += [
            "",
            "You can appeal this decision. Open this link and tell us why:",
            f"  {appeal_link}",
            f"We will answer your appeal within {appeal_days} days.",
        ]
    lines += ["", org]
    return Mail(f"{org}: decision on your request {reference}", "\n".join(lines))


def extension(org: str, reference: str, reason: str, new_due: dt.datetime) -> Mail:
    return Mail(
        f"{org}: we need more time for your request {reference}",
        f"We need more time to complete your request (reference {reference}).\n\n"
        f"Why: {reason}\n\nYou will have our answer by {_day(new_due)}.\n\n" + org,
    )


def appeal_received(org: str, reference: str, due_at: dt.datetime) -> Mail:
    return Mail(
        f"{org}: we received your appeal {reference}",
        f"We received your appeal (reference {reference}) and will decide by {_day(due_at)}.\n\n"
        + org,
    )


def staff_answer(org: str, reference: str, request_type: str, answer: str) -> Mail:
    return Mail(
        f"{org}: our answer to your request {reference}",
        f"You asked us to {TYPE_NAMES[request_type]} (reference {reference}). Our answer:\n\n"
        f"{answer}\n\n" + org,
    )


def appeal_decision(
    org: str, reference: str, granted: bool, explanation: str, attorney_general: str
) -> Mail:
    if granted:
        body = (
            f"We reviewed your appeal (reference {reference}) and reversed our decision: we are "
            "now handling your original request and will write to you when it is done."
        )
    else:
        body = (
            f"We reviewed your appeal (reference {reference}) and upheld our decision.\n\n"
            f"{explanation}\n\nIf you disagree, you can contact {attorney_general} "
            "to submit a complaint."
        )
    return Mail(f"{org}: decision on your appeal {reference}", body + "\n\n" + org)


def staff_reminder(org: str, reference: str, percent: int, due_at: dt.datetime) -> Mail:
    when = "is due today" if percent >= 100 else f"has used {percent}% of its time"
    return Mail(
        f"[Honorbound] request {reference} {when}",
        f"Privacy request {reference} {when}; it is due {_day(due_at)}.\n"
        "Open it in Honorbound to complete, extend (once, with a reason) or deny it.\n\n" + org,
    )
