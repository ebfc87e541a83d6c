"""Console sign-in sessions, kept on the server so that they can be ended.

The browser's cookie carries only a random session token; the table holds its SHA-256. Every
request looks the row up and checks, at that moment, that the session was not ended (sign-out),
is younger than `LIFETIME`, and that its user is still active and still a member of the
organization, with the role read from the membership (a role change applies at once). Disabling
a user or removing a membership also ends their sessions, so nothing waits for the cookie to
expire.

Sign-in throttling lives here too: `LOCK_AFTER` wrong passwords for one username within
`LOCK_WINDOW` lock that username for the rest of the window (the page says so and until when);
the per-address throttle is the shared rate limiter (`honorbound.ratelimit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.accounts.models import Membership, Organization, User
from honorbound.accounts.roles import Role
from honorbound.audit import Actor, append
from honorbound.db.base import Base, utcnow
from honorbound.errors import HonorboundError

# An absolute lifetime (ASVS 3.3.1/3.3.2: a session ends even if it stays busy).
LIFETIME = dt.timedelta(hours=8)
# Without a request for this long a session ends (idle timeout).
IDLE = dt.timedelta(hours=1)
# last_seen_at is written at most this often (one write per page would be wasteful).
TOUCH_EVERY = dt.timedelta(minutes=1)


class StaffSession(Base):
    """One sign-in: the hash of the cookie's token, whose it is, and whether it has ended."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # signed_out | user_disabled | membership_removed | replaced
    end_reason: Mapped[str] = mapped_column(String(32), default="")


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    organization_id: int
    role: Role
    # Whether last_seen_at is old enough to be written again (`touch`).
    touch_due: bool = False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, organization_id: int) -> str:
    """A new session for `user` in `organization_id`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(token_hash=_hash(token), user_id=user.id, organization_id=organization_id)
    )
    session.flush()
    return token


def resolve(session: Session, token: str, now: dt.datetime | None = None) -> SignedIn | None:
    """Who this session token belongs to now, or None when it is unknown, ended, too old or
    its user may no longer sign in. Only reads (a read-only unit of work will do)."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = session.execute(
        select(StaffSession, User, Membership.role)
        .join(User, User.id == StaffSession.user_id)
        .join(
            Membership,
            (Membership.user_id == StaffSession.user_id)
            & (Membership.organization_id == StaffSession.organization_id),
        )
        # A disabled client (honorbound.bpo.clients) has nobody signed in to it.
        .join(
            Organization,
            (Organization.id == StaffSession.organization_id) & Organization.disabled_at.is_(None),
        )
        .where(StaffSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    staff_session, user, role = row
    if (
        staff_session.ended_at is not None
        or not user.active
        or staff_session.created_at + LIFETIME <= now
        or staff_session.last_seen_at + IDLE <= now
    ):
        return None
    due = now - staff_session.last_seen_at >= TOUCH_EVERY
    return SignedIn(user.id, user.username, staff_session.organization_id, Role(role), due)


def touch(session: Session, token: str) -> None:
    """Record that the session was used now (its idle timeout starts again)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
        .values(last_seen_at=utcnow())
    )


class NotAMember(HonorboundError, LookupError):
    """The organization asked for is not one the user belongs to (or it is disabled)."""

    status = 403
    title = "Not one of your organizations"


def switch(session: Session, token: str, organization_id: int) -> SignedIn:
    """Move this session to another organization of its user: the console remembers it for
    every page after. Refused (NotAMember) for an organization the user is not a member of,
    or a disabled one; the session stays where it was."""
    current = resolve(session, token)
    if current is None:
        raise NotAMember("the session has ended")
    row = session.execute(
        select(Membership.role)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.user_id == current.user_id,
            Membership.organization_id == organization_id,
            Organization.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotAMember("you are not a member of that organization")
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
        .values(organization_id=organization_id, last_seen_at=utcnow())
    )
    role = Role(row[0])
    append(
        session,
        organization_id,
        Actor(f"user:{current.user_id}", role.value),
        "user.switched_organization",
        "user",
        current.user_id,
        {"from": current.organization_id},
    )
    return SignedIn(current.user_id, current.username, organization_id, role)


def end(session: Session, token: str, reason: str = "signed_out") -> None:
    """End the session of this token (sign-out). Unknown tokens are ignored."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_all(session: Session, user_id: int, reason: str, organization_id: int | None = None) -> int:
    """End every open session of a user (in one organization, or all); returns how many."""
    where = (StaffSession.user_id == user_id) & StaffSession.ended_at.is_(None)
    if organization_id is not None:
        where = where & (StaffSession.organization_id == organization_id)
    result = session.execute(
        update(StaffSession).where(where).values(ended_at=utcnow(), end_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def disable_user(session: Session, user_id: int, actor: Actor) -> None:
    """The user can no longer sign in, and every session they have ends now."""
    user = session.get(User, user_id)
    if user is None:
        raise LookupError("no such user")
    user.active = False
    end_all(session, user_id, "user_disabled")
    for (org_id,) in session.execute(
        select(Membership.organization_id).where(Membership.user_id == user_id)
    ):
        append(session, org_id, actor, "user.disabled", "user", user_id)


def remove_membership(session: Session, user_id: int, organization_id: int, actor: Actor) -> None:
    """The user leaves the organization; their sessions in it end now."""
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user_id, Membership.organization_id == organization_id
        )
    )
    if membership is None:
        raise LookupError("no such membership")
    session.delete(membership)
    end_all(session, user_id, "membership_removed", organization_id)
    append(session, organization_id, actor, "membership.removed", "user", user_id)
