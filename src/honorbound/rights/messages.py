"""What the consumer (and the privacy team) read. Plain text; links carry the only secret.

Each consumer message is written in the language of the request (`lang`, see honorbound.i18n):
the English strings here are the gettext source strings, translated by the catalogs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from honorbound import i18n
from honorbound.i18n import N_
from honorbound.rights.rules import load_rights_rules

DENIAL_REASONS = {
    "unverifiable": N_("we could not verify your identity with the information available"),
    "exempt": N_("the information is exempt from this right under the law"),
    "not_a_consumer": N_("we could not find that you are a consumer whose information we hold"),
    "fraud": N_("we have a good-faith, documented belief that the request is fraudulent"),
    "excessive": N_(
        "you have already made the number of free requests of this kind the law provides for "
        "in the last 12 months"
    ),
    "other": N_("of the reason given below"),
}


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def _day(value: dt.datetime, lang: str = "en") -> str:
    return i18n.format_day(value, lang)


def type_names() -> dict[str, str]:
    """Each request type's words in English (the `label` of its row in
    rights/data/requests.yaml, which `make i18n` extracts for the catalogs)."""
    return load_rights_rules().labels()


def type_name(request_type: str, lang: str = "en") -> str:
    """What the request asks for, in words ("delete your personal information")."""
    return i18n.gettext(lang, load_rights_rules().label(request_type))


def denial_reason(basis: str, lang: str = "en") -> str:
    return i18n.gettext(lang, DENIAL_REASONS[basis])


def _translator(lang: str) -> Callable[[str], str]:
    return lambda message: i18n.gettext(lang, message)


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
    code: str | None = None,
    code_link: str | None = None,
    code_minutes: int = 60,
    lang: str = "en",
) -> Mail:
    _ = _translator(lang)
    lines = [
        _("We received your request to {what} (reference {reference}).").format(
            what=type_name(request_type, lang), reference=reference
        ),
        "",
    ]
    if agent:
        lines += [
            _(
                "An authorized agent made this request on your behalf. Following the link below "
                "confirms that you gave them permission; ignore this message if you did not."
            ),
            "",
        ]
    if verify_link:
        lines += [
            _(
                "How verification works: open this link, which works once and expires in a "
                "few days,"
            ),
            f"  {verify_link}",
            _(
                "and confirm {count} detail(s) we already hold about you (this email address "
                "counts as one if we have it on file; a phone number, account number or date of "
                "birth can be others). We never ask for new sensitive information to verify you."
            ).format(count=i18n.format_number(data_points, lang)),
        ]
        if code:
            lines += [
                "",
                _(
                    "Or, instead of the link, type this one-time code with your reference on "
                    "the page below (the code works once and expires in {minutes} minutes):"
                ).format(minutes=i18n.format_number(code_minutes, lang)),
                f"  {code}",
            ]
            if code_link:
                lines.append(f"  {code_link}")
        if declaration:
            lines.append(
                _(
                    "This request also needs a signed declaration: you will type your name and "
                    "confirm, under penalty of perjury, that you are the person the request is "
                    "about."
                )
            )
        lines.append("")
    if due_at.date() < now.date():
        # Entered late (a letter read weeks after it came): never promise a date already past.
        lines += [
            _(
                "When to expect an answer: the time to answer ran out on {day}, before this "
                "request reached us. We are handling it first and will answer as soon as we can."
            ).format(day=_day(due_at, lang)),
            "",
            f"{org}",
        ]
    else:
        lines += [
            _(
                "When to expect an answer: by {day}. If we need more time we will tell you why "
                "before then."
            ).format(day=_day(due_at, lang)),
            "",
            f"{org}",
        ]
    return Mail(
        _("{org}: we received your privacy request {reference}").format(
            org=org, reference=reference
        ),
        "\n".join(lines),
    )


def code_mail(
    org: str, reference: str, code: str, minutes: int, link: str, lang: str = "en"
) -> Mail:
    """A new one-time code: to confirm a request, or to see its status."""
    _ = _translator(lang)
    return Mail(
        _("{org}: your one-time code for request {reference}").format(org=org, reference=reference),
        "\n".join(
            [
                _("Your one-time code for privacy request {reference} is:").format(
                    reference=reference
                ),
                f"  {code}",
                "",
                _(
                    "Type it on the page where you asked for it: {link}. It works once and "
                    "expires in {minutes} minutes. If you did not ask for it, ignore this "
                    "message: nobody can use it without this email."
                ).format(link=link, minutes=i18n.format_number(minutes, lang)),
                "",
                org,
            ]
        ),
    )


def sms_code(org: str, reference: str, code: str, lang: str = "en") -> str:
    return i18n.gettext(
        lang, "{org}: your verification code for privacy request {reference} is {code}."
    ).format(org=org, reference=reference, code=code)


def opt_out_done(org: str, reference: str, request_type: str, lang: str = "en") -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: your request {reference} is done").format(org=org, reference=reference),
        _(
            "We recorded your request to {what} (reference {reference}). It takes effect now; "
            "you do not need to do anything else."
        ).format(what=type_name(request_type, lang), reference=reference)
        + "\n\n"
        + org,
    )


def access_ready(
    org: str, reference: str, link: str, expires_at: dt.datetime, lang: str = "en"
) -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: your information is ready ({reference})").format(org=org, reference=reference),
        _("Your copy of the personal information we hold is ready (reference {reference}).").format(
            reference=reference
        )
        + "\n\n"
        + _("Download it here until {day}:").format(day=_day(expires_at, lang))
        + f"\n  {link}\n\n"
        + _(
            "The ZIP file holds data.json (everything, by category), one CSV file per category "
            "and summary.html, a readable overview. Some values (such as government ID numbers "
            "or account numbers) are shown only as 'held': the law does not let us send them."
        )
        + "\n\n"
        + org,
    )


def _told(recipients: list[str], what: str, lang: str) -> str:
    """What the letter may say about recipients: only what the disclosure ledger shows."""
    _ = _translator(lang)
    if not recipients:
        return _(
            "Our disclosure records show we had not shared your information with any other "
            "company, so there was no one else to tell."
        )
    return _(
        "We are passing your request on to the companies our records show we shared your "
        "information with, so they {what} too: {recipients}."
    ).format(what=_(what), recipients=", ".join(recipients))


def deletion_done(
    org: str, reference: str, kept: list[str], recipients: list[str], lang: str = "en"
) -> Mail:
    _ = _translator(lang)
    kept_text = "\n".join(f"  - {k}" for k in kept)
    return Mail(
        _("{org}: your information was deleted ({reference})").format(org=org, reference=reference),
        _(
            "We deleted the personal information we held about you (reference {reference}): "
            "every record and every call, chat and message linked to you. The encryption key of "
            "your data was destroyed, so copies in backups can no longer be read."
        ).format(reference=reference)
        + "\n\n"
        + _("What we kept, and why:")
        + f"\n{kept_text}\n\n"
        + _told(recipients, N_("delete it"), lang)
        + "\n\n"
        + org,
    )


def nothing_held(org: str, reference: str, request_type: str, lang: str = "en") -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: your request {reference}").format(org=org, reference=reference),
        _(
            "We looked for personal information linked to the details you verified and found "
            "none, so there was nothing to do for your request to {what} (reference "
            "{reference})."
        ).format(what=type_name(request_type, lang), reference=reference)
        + "\n\n"
        + org,
    )


def correction_done(
    org: str,
    reference: str,
    corrected: list[str],
    missing: list[str],
    recipients: list[str],
    lang: str = "en",
) -> Mail:
    _ = _translator(lang)
    lines = [
        _("We corrected your information (reference {reference}).").format(reference=reference)
    ]
    if corrected:
        lines.append(_("Corrected: {items}.").format(items=", ".join(corrected)))
    if missing:
        lines.append(
            _(
                "We hold nothing in these categories, so there was nothing to correct: {items}."
            ).format(items=", ".join(missing))
        )
    if corrected:
        lines.append(_told(recipients, N_("correct it"), lang))
    lines += ["", org]
    return Mail(
        _("{org}: your information was corrected ({reference})").format(
            org=org, reference=reference
        ),
        "\n".join(lines),
    )


def shine_the_light(
    org: str, reference: str, year: int, recipients: list[str], lang: str = "en"
) -> Mail:
    _ = _translator(lang)
    listing = "\n".join(f"  - {r}" for r in recipients) or "  " + _("(none)")
    return Mail(
        _("{org}: direct-marketing disclosures in {year} ({reference})").format(
            org=org, year=year, reference=reference
        ),
        _(
            "In {year} we disclosed personal information to these third parties for their own "
            "direct marketing (California Civil Code 1798.83):"
        ).format(year=year)
        + f"\n{listing}\n\n"
        + org,
    )


def denial(
    org: str,
    reference: str,
    request_type: str,
    basis: str,
    explanation: str,
    appeal_link: str | None,
    appeal_days: int | None,
    lang: str = "en",
) -> Mail:
    _ = _translator(lang)
    lines = [
        _(
            "We cannot complete your request to {what} (reference {reference}) because {why}."
        ).format(
            what=type_name(request_type, lang),
            reference=reference,
            why=denial_reason(basis, lang),
        ),
    ]
    if explanation:
        lines += ["", explanation]
    if appeal_link:
        lines += [
            "",
            _("You can appeal this decision. Open this link and tell us why:"),
            f"  {appeal_link}",
            _("We will answer your appeal within {days} days.").format(days=appeal_days),
        ]
    lines += ["", org]
    return Mail(
        _("{org}: decision on your request {reference}").format(org=org, reference=reference),
        "\n".join(lines),
    )


def extension(
    org: str, reference: str, reason: str, new_due: dt.datetime, lang: str = "en"
) -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: we need more time for your request {reference}").format(
            org=org, reference=reference
        ),
        _("We need more time to complete your request (reference {reference}).").format(
            reference=reference
        )
        + "\n\n"
        + _("Why: {reason}").format(reason=reason)
        + "\n\n"
        + _("You will have our answer by {day}.").format(day=_day(new_due, lang))
        + "\n\n"
        + org,
    )


def appeal_received(org: str, reference: str, due_at: dt.datetime, lang: str = "en") -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: we received your appeal {reference}").format(org=org, reference=reference),
        _("We received your appeal (reference {reference}) and will decide by {day}.").format(
            reference=reference, day=_day(due_at, lang)
        )
        + "\n\n"
        + org,
    )


def staff_answer(
    org: str, reference: str, request_type: str, answer: str, lang: str = "en"
) -> Mail:
    _ = _translator(lang)
    return Mail(
        _("{org}: our answer to your request {reference}").format(org=org, reference=reference),
        _("You asked us to {what} (reference {reference}). Our answer:").format(
            what=type_name(request_type, lang), reference=reference
        )
        + f"\n\n{answer}\n\n"
        + org,
    )


def appeal_decision(
    org: str,
    reference: str,
    granted: bool,
    explanation: str,
    attorney_general: str,
    lang: str = "en",
) -> Mail:
    _ = _translator(lang)
    if granted:
        body = _(
            "We reviewed your appeal (reference {reference}) and reversed our decision: we are "
            "now handling your original request and will write to you when it is done."
        ).format(reference=reference)
    else:
        body = (
            _("We reviewed your appeal (reference {reference}) and upheld our decision.").format(
                reference=reference
            )
            + f"\n\n{explanation}\n\n"
            + _("If you disagree, you can contact {authority} to submit a complaint.").format(
                authority=attorney_general
            )
        )
    return Mail(
        _("{org}: decision on your appeal {reference}").format(org=org, reference=reference),
        body + "\n\n" + org,
    )


def staff_reminder(org: str, reference: str, percent: int, due_at: dt.datetime) -> Mail:
    when = "is due today" if percent >= 100 else f"has used {percent}% of its time"
    return Mail(
        f"[Honorbound] request {reference} {when}",
        f"Privacy request {reference} {when}; it is due {_day(due_at)}.\n"
        "Open it in Honorbound to complete, extend (once, with a reason) or deny it.\n\n" + org,
    )
