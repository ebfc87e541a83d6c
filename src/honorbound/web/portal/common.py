"""What every portal page needs: the organization by slug, and the form abuse guards."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
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
# (the domain's messages name the field for API clients and developers).
PLAIN_ERRORS: dict[str, str] = {
    "type": "Choose what you are asking for.",
    "jurisdiction": "Choose the state where you live from the list.",
    "email": "Check your email address: it should look like name@example.com. We send the "
    "next step there.",
    "phone": "Check the phone number: write it with its area code, for example 415 555 0134.",
    "agent": "As an authorized agent, add the consumer's signed permission (a PDF or a photo) "
    "and your name.",
    "corrections": "Say what to correct: choose the item that is wrong and write the correct "
    "information.",
    "birth_date": "Write your date of birth as year-month-day, for example 1980-04-23.",
    "account_id": "Check the account number you gave.",
    "typed_name": "Type your full name to sign the declaration.",
    "agreed": "Tick the box to sign the declaration.",
    "declaration": "Type your full name and tick the box to sign the declaration.",
    "reason": "Say in a few words why you disagree with our decision.",
    "identity": "Check the email address or phone number: an email looks like "
    "name@example.com, a phone number has its area code.",
}


def plain_error(field: str, fallback: str) -> str:
    """The sentence for a refused field (`body.data_points.phone` -> `phone`), else the
    domain's own message as a sentence."""
    name = field.rsplit(".", 1)[-1]
    if name in PLAIN_ERRORS:
        return PLAIN_ERRORS[name]
    text = fallback.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "Check the form."
