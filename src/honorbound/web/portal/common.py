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
    response = render(request, "portal/too_many.html", status=429, retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response
