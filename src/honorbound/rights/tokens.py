"""Secrets sent to consumers: email links (`<public id>.<secret>`), 6-digit SMS codes and
6-digit codes sent by email (channel `email_code`: an alternative to the link, typed on the
portal with the request's reference; also what opens a request's status page).

Only a keyed HMAC of each secret is stored; checks use `hmac.compare_digest` (constant time).
A link names its token by a random public id (128 bits), so links cannot be enumerated. A wrong
link secret counts an attempt for that (link, client) and locks the link for that client only
after the configured number: another client's guesses never lock the link's owner out. A wrong
code (SMS or email) counts against the code itself (six digits need one cap over every
client; the person can ask for a new code). Failed attempts are committed before the error is
raised, so a rollback cannot erase them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError
from honorbound.i18n import N_
from honorbound.rights.context import KeyRingLike
from honorbound.rights.models import RequestToken, TokenAttempt, TokenPurpose

CODE_CHANNELS = ("sms", "email_code")


class TokenRejected(HonorboundError):
    """The link or code cannot be used. `reason` is invalid|expired|used|locked."""

    status = 400
    title = "Link or code not accepted"

    MESSAGES = {
        "invalid": N_("This link or code is not valid. Check that you copied it completely."),
        "expired": N_("This link or code has expired. Make the request again to get a new one."),
        "used": N_("This link was already used; it works only once."),
        "locked": N_(
            "Too many wrong attempts: this link or code is locked. Make the request again "
            "or contact the privacy team."
        ),
    }

    STATUSES = {"invalid": 400, "expired": 410, "used": 410, "locked": 429}

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason
        self.status = self.STATUSES[reason]

    def extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


def _digest(
    keys: KeyRingLike, organization_id: int, token_id: int, purpose: str, secret: str
) -> str:
    key = keys.derived(f"org:{organization_id}:rights-tokens")
    return hmac.new(key, f"{token_id}:{purpose}:{secret}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: RequestToken
    secret: str  # what the consumer receives: "<id>.<secret>" for links, 6 digits for codes


def issue(
    session: Session,
    keys: KeyRingLike,
    organization_id: int,
    request_id: int,
    purpose: TokenPurpose,
    lifetime: dt.timedelta,
    channel: str = "email",
) -> Issued:
    row = RequestToken(
        organization_id=organization_id,
        request_id=request_id,
        purpose=purpose.value,
        channel=channel,
        secret_hash="",
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    if channel in CODE_CHANNELS:
        secret = f"{secrets.randbelow(1_000_000):06d}"
        given = secret
    else:
        secret = secrets.token_urlsafe(32)
        row.public_id = secrets.token_urlsafe(16)
        given = f"{row.public_id}.{secret}"
    row.secret_hash = _digest(keys, organization_id, row.id, purpose.value, secret)
    return Issued(row, given)


def _check(
    session: Session,
    keys: KeyRingLike,
    row: RequestToken,
    secret: str,
    max_attempts: int,
    single_use: bool,
) -> RequestToken:
    if row.attempts >= max_attempts:
        raise TokenRejected("locked")
    expected = _digest(keys, row.organization_id, row.id, row.purpose, secret)
    if not hmac.compare_digest(expected, row.secret_hash):
        row.attempts += 1
        session.commit()
        raise TokenRejected("locked" if row.attempts >= max_attempts else "invalid")
    return _usable(row, single_use)


def _usable(row: RequestToken, single_use: bool) -> RequestToken:
    if single_use and row.used_at is not None:
        raise TokenRejected("used")
    if row.expires_at <= utcnow():
        raise TokenRejected("expired")
    return row


def _client_hash(keys: KeyRingLike, organization_id: int, client: str) -> str:
    key = keys.derived(f"org:{organization_id}:rights-token-clients")
    return hmac.new(key, client.encode(), hashlib.sha256).hexdigest()


def _check_link_secret(
    session: Session,
    keys: KeyRingLike,
    row: RequestToken,
    secret: str,
    client: str,
    max_attempts: int,
    single_use: bool,
) -> RequestToken:
    """As `_check`, counting wrong secrets per (link, client) instead of on the link."""
    client_hash = _client_hash(keys, row.organization_id, client)
    tried = session.scalar(
        select(TokenAttempt).where(
            TokenAttempt.token_id == row.id, TokenAttempt.client_hash == client_hash
        )
    )
    if tried is not None and tried.attempts >= max_attempts:
        raise TokenRejected("locked")
    expected = _digest(keys, row.organization_id, row.id, row.purpose, secret)
    if not hmac.compare_digest(expected, row.secret_hash):
        if tried is None:
            tried = TokenAttempt(token_id=row.id, client_hash=client_hash, attempts=0)
            session.add(tried)
        tried.attempts += 1
        session.commit()
        raise TokenRejected("locked" if tried.attempts >= max_attempts else "invalid")
    if row.attempts >= max_attempts:  # data points that did not match, sent with this link
        raise TokenRejected("locked")
    return _usable(row, single_use)


def check_link(
    session: Session,
    keys: KeyRingLike,
    organization_id: int,
    given: str,
    purpose: TokenPurpose,
    max_attempts: int,
    single_use: bool = True,
    client: str = "",
) -> RequestToken:
    """The token row a link secret belongs to (not yet marked used: the caller does that).
    `client` names who is trying (the adapter passes the client's address): wrong secrets
    lock the link for that client only."""
    link_id, sep, secret = given.partition(".")
    if not sep or not link_id or not secret or len(given) > 200:
        raise TokenRejected("invalid")
    where = [
        RequestToken.organization_id == organization_id,
        RequestToken.purpose == purpose.value,
        RequestToken.channel == "email",
    ]
    if link_id.isdigit():
        # A link issued before public ids (row ids are 32-bit: a longer number is not ours and
        # must not reach PostgreSQL as an out-of-range parameter).
        if len(link_id) > 9:
            raise TokenRejected("invalid")
        where += [RequestToken.id == int(link_id), RequestToken.public_id.is_(None)]
    else:
        if len(link_id) > 32:
            raise TokenRejected("invalid")
        where.append(RequestToken.public_id == link_id)
    row = session.scalar(select(RequestToken).where(*where))
    if row is None:
        raise TokenRejected("invalid")
    return _check_link_secret(session, keys, row, secret, client, max_attempts, single_use)


def check_code(
    session: Session,
    keys: KeyRingLike,
    organization_id: int,
    request_id: int,
    code: str,
    max_attempts: int,
    channels: tuple[str, ...] = ("sms",),
    purpose: TokenPurpose = TokenPurpose.VERIFY,
) -> RequestToken:
    """The newest code of a request sent on one of `channels`, checked against `code` (only
    the newest counts: asking for a new code retires the older ones)."""
    row = session.scalar(
        select(RequestToken)
        .where(
            RequestToken.organization_id == organization_id,
            RequestToken.request_id == request_id,
            RequestToken.channel.in_(channels),
            RequestToken.purpose == purpose.value,
        )
        .order_by(RequestToken.id.desc())
        .limit(1)
    )
    if row is None:
        raise TokenRejected("invalid")
    if row.attempts >= max_attempts:
        raise TokenRejected("locked")
    given = "".join(code.split())
    if not given.isdigit() or len(given) != 6:
        # Still counted: a malformed guess is a guess.
        row.attempts += 1
        session.commit()
        raise TokenRejected("locked" if row.attempts >= max_attempts else "invalid")
    return _check(session, keys, row, given, max_attempts, True)
