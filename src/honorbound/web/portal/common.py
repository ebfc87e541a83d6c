"""What every portal page needs: the organization by slug, and the form abuse guards."""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.web.ratelimit import DatabaseRateLimiter, Limiter
from honorbound.web.rendering import render

# Per client address: enough for a household behind one address to use every form, too few
# to script. Per identity: a person changing their mind a few times an hour.
LIMITS: dict[str, tuple[int, float]] = {
    "ip": (20, 600.0),
    "identity": (5, 3600.0),
}
HONEYPOT = "website"


def organization(session: Session, slug: str) -> Organization | None:
    if len(slug) > 63:
        return None
    return session.scalar(select(Organization).where(Organization.slug == slug))


def not_found(request: Request) -> Response:
    return render(request, "portal/not_found.html", status=404)


def limiter(request: Request, name: str) -> Limiter:
    """The portal's limiter `name`, counted in the database (shared by every process)."""
    state = request.app.state
    limiters: dict[str, Limiter] | None = getattr(state, "portal_limiters", None)
    if limiters is None:
        runtime = state.runtime
        secret = runtime.keys.derived("web:rate-limit-keys")
        limiters = {
            key: DatabaseRateLimiter(runtime.db, secret, f"portal.{key}", *value)
            for key, value in LIMITS.items()
        }
        state.portal_limiters = limiters
    return limiters[name]


def client_key(request: Request, organization_id: int) -> str:
    host = request.client.host if request.client else "unknown"
    return f"{organization_id}:{host}"


def identity_key(organization_id: int, identity_index: str) -> str:
    # Already a keyed blind index; hashed again so the limiter's keys do not match the ledger's.
    return hashlib.sha256(f"{organization_id}:{identity_index}".encode()).hexdigest()


def too_many(request: Request, retry_after: int) -> Response:
    response = render(request, "portal/too_many.html", status=429, retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response
