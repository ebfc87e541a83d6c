"""CSRF protection for cookie-authenticated forms: a per-session token in a hidden field."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

FIELD = "csrf_token"


def token(request: Request) -> str:
    value = request.session.get(FIELD)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        request.session[FIELD] = value
    return value


def valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(FIELD)
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected, submitted)
    )
