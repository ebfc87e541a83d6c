"""Account operations. Each state change appends an audit entry in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts import apikeys, passwords
from honorbound.accounts.models import ApiKey, Membership, Organization, User
from honorbound.accounts.roles import Role
from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class AccountError(HonorboundError, ValueError):
    """A request about accounts that cannot be done; the message says why."""

    status = 422
    title = "Refused"


@dataclass(frozen=True)
class Principal:
    """Who is calling, in which organization, with which role."""

    organization_id: int
    role: Role
    actor: Actor
    user_id: int | None = None
    api_key_id: int | None = None


def create_organization(
    session: Session, slug: str, name: str, actor: Actor, operated_by_id: int | None = None
) -> Organization:
    if not SLUG.match(slug):
        raise AccountError(
            "slug must be 2-63 lower-case letters, digits or dashes, starting with a letter "
            "or digit"
        )
    if session.scalar(select(Organization.id).where(Organization.slug == slug)):
        raise AccountError(f"an organization with slug {slug!r} already exists")
    org = Organization(slug=slug, name=name, operated_by_id=operated_by_id)
    session.add(org)
    session.flush()
    append(
        session,
        org.id,
        actor,
        "organization.created",
        "organization",
        org.id,
        {"slug": slug, "operated_by": operated_by_id},
    )
    return org


def create_user(
    session: Session,
    username: str,
    password: str,
    display_name: str,
    actor: Actor,
    organization_id: int,
    role: Role,
) -> User:
    username = username.strip().lower()
    if not username:
        raise AccountError("username must not be empty")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError("that username is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=passwords.hash_password(password),
    )
    session.add(user)
    session.flush()
    add_membership(session, user, organization_id, role, actor)
    return user


def add_membership(
    session: Session, user: User, organization_id: int, role: Role, actor: Actor
) -> Membership:
    membership = Membership(user_id=user.id, organization_id=organization_id, role=role.value)
    session.add(membership)
    session.flush()
    append(
        session, organization_id, actor, "membership.added", "user", user.id, {"role": role.value}
    )
    return membership


def memberships(session: Session, user_id: int) -> list[tuple[Organization, Role]]:
    rows = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    ).all()
    return [(org, Role(role)) for org, role in rows]


def authenticate_user(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        # Spend the same time as a real check so timing does not reveal unknown usernames.
        passwords.verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not passwords.verify_password(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def issue_api_key(
    session: Session, organization_id: int, role: Role, name: str, actor: Actor
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext, which is shown once and not stored."""
    new = apikeys.generate()
    key = ApiKey(
        organization_id=organization_id,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        role=role.value,
        name=name,
        created_by=actor.id,
    )
    session.add(key)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "apikey.issued",
        "apikey",
        key.id,
        {"prefix": new.prefix, "role": role.value},
    )
    return key, new.plaintext


def revoke_api_key(session: Session, organization_id: int, key_id: int, actor: Actor) -> ApiKey:
    key = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )
    if key is None:
        raise LookupError("no such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        append(
            session,
            organization_id,
            actor,
            "apikey.revoked",
            "apikey",
            key.id,
            {"prefix": key.prefix},
        )
    return key


def authenticate_api_key(session: Session, token: str) -> Principal | None:
    parsed = apikeys.parse(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not apikeys.secret_matches(secret, key.secret_hash):
        return None
    return Principal(
        organization_id=key.organization_id,
        role=Role(key.role),
        actor=Actor(f"apikey:{key.prefix}", key.role),
        api_key_id=key.id,
    )


_DUMMY_HASH = passwords.hash_password("not-a-real-password-0000")
