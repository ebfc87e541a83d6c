"""What every portal page needs: the organization by slug, and the form abuse guards."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound import i18n
from honorbound.accounts.models import Organization
from honorbound.i18n import N_
from honorbound.ratelimit import Limiter, address_key
from honorbound.web.rendering import render

HONEYPOT = "website"


def organization(session: Session, slug: str) -> Organization | None:
    if len(slug) > 63:
        return None
    return session.scalar(select(Organization).where(Organization.slug == slug))


def not_found(request: Request) -> Response:
    return render(request, "portal/not_found.html", status=404)


def limiter(request: Request, name: str) -> Limiter:
    """The shared limiter `name` (see honorbound.ratelimit.LIMITS)."""
    limiter: Limiter = request.app.state.runtime.rate_limits[name]
    return limiter


def client_key(request: Request, organization_id: int) -> str:
    return address_key(organization_id, request.client.host if request.client else "unknown")


def too_many(request: Request, retry_after: int) -> Response:
    """The 429 page, in the frame of the organization's portal."""
    slug = str(request.path_params.get("slug", ""))
    with request.app.state.runtime.db.read_session() as session:
        org = organization(session, slug) if slug else None
    response = render(
        request, "portal/too_many.html", status=429, retry_after=retry_after, org=org, slug=slug
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


# What a person reads when a field of a portal form is refused: what to do, in plain words
# (the domain's messages name the field for API clients and developers). English source
# strings, translated when shown (honorbound.i18n).
PLAIN_ERRORS: dict[str, str] = {
    "type": N_("Choose what you are asking for."),
    "jurisdiction": N_("Choose the state where you live from the list."),
    "email": N_(
        "Check your email address: it should look like name@example.com. We send the next "
        "step there."
    ),
    "phone": N_("Check the phone number: write it with its area code, for example 415 555 0134."),
    "agent": N_(
        "As an authorized agent, add the consumer's signed permission (a PDF or a photo) and "
        "your name."
    ),
    "corrections": N_(
        "Say what to correct: choose the item that is wrong and write the correct information."
    ),
    "birth_date": N_("Write your date of birth as year-month-day, for example 1980-04-23."),
    "account_id": N_("Check the account number you gave."),
    "typed_name": N_("Type your full name to sign the declaration."),
    "agreed": N_("Tick the box to sign the declaration."),
    "declaration": N_("Type your full name and tick the box to sign the declaration."),
    "reason": N_("Say in a few words why you disagree with our decision."),
    "identity": N_(
        "Check the email address or phone number: an email looks like name@example.com, a "
        "phone number has its area code."
    ),
    "reference": N_(
        "Type the request reference as we gave it, for example R-ABCD2345EFGH (letters and "
        "digits after R-)."
    ),
    "code": N_("Type the 6 digits of the code from our email."),
    "csrf": N_("This form expired or was not sent by this site. Please submit it again."),
}


# A one-time code refused on a page that also offers a new code ("Email me a new code"): the
# person is told to ask for one there, not to make the request again (TokenRejected's words,
# which fit an emailed link, said so).
CODE_REFUSED: dict[str, str] = {
    "invalid": N_(
        "This code does not match this reference. Check the 6 digits in our newest email: only "
        "the newest code counts."
    ),
    "expired": N_("This code has expired. Ask for a new code on this page."),
    "used": N_("This code was already used: it works only once. Ask for a new code on this page."),
    "locked": N_(
        "Too many wrong codes: this code is locked. Ask for a new code on this page and type it."
    ),
}


def code_refused(reason: str, lang: str = "en") -> str:
    """What to say when a typed one-time code is refused for `reason` (TokenRejected.reason)."""
    return i18n.gettext(lang, CODE_REFUSED.get(reason, CODE_REFUSED["invalid"]))


def plain_error(field: str, fallback: str, lang: str = "en") -> str:
    """The sentence for a refused field (`body.data_points.phone` -> `phone`), in `lang`, else
    the domain's own message as a sentence (English: the domain speaks to developers)."""
    name = field.rsplit(".", 1)[-1]
    if name in PLAIN_ERRORS:
        return i18n.gettext(lang, PLAIN_ERRORS[name])
    text = fallback.strip()
    return (
        (text[:1].upper() + text[1:]).rstrip(".") + "."
        if text
        else i18n.gettext(lang, "Check the form.")
    )
