"""An organization's staff, managed by its administrators: invite someone by email with a role,
change a member's role, disable an account. Each change is an audit entry in its transaction.

An invitation creates the account with no usable password and mails a one-use link (valid
`INVITE_DAYS`) where the person chooses one; only the link's SHA-256 is kept. The console also
shows the link once, for an organization without working mail. Guard rails: nobody changes their
own role or disables themselves, and an organization keeps at least one active administrator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound import i18n
from honorbound.accounts import passwords, sessions
from honorbound.accounts.models import Membership, User
from honorbound.accounts.roles import ROLE_NAMES, Role
from honorbound.accounts.service import AccountError, add_membership, memberships
from honorbound.audit import Actor, append
from honorbound.db.base import Base, utcnow
from honorbound.i18n import N_
from honorbound.notify.models import Channel
from honorbound.notify.outbox import put
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize

INVITE_DAYS = 7
# A password hash no password matches: the invited account cannot sign in until accepted.
NO_PASSWORD = "!invited"
STAFF_ROLES = (Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.AUDITOR)


class StaffInvite(Base):
    """A one-use link for an invited person to choose their password."""

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    display_name: str
    role: Role
    active: bool
    invited: bool  # the invitation is not accepted yet
    two_factor: bool
    last_login_at: dt.datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def members(session: Session, organization_id: int) -> list[Member]:
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id)
        .order_by(User.username)
        .limit(1000)
    ).all()
    return [
        Member(
            user.id,
            user.username,
            user.display_name,
            Role(role),
            user.active,
            user.password_hash == NO_PASSWORD,
            user.totp_enabled_at is not None,
            user.last_login_at,
        )
        for user, role in rows
    ]


def _role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in STAFF_ROLES:
        raise AccountError(N_("Choose a role from the list."))
    assert role is not None
    return role


parse_role = _role  # a staff role from a form or a command line, or AccountError


def invite(
    session: Session,
    keys: Any,
    jobs: Any,
    organization_id: int,
    organization_name: str,
    email: str,
    role: str,
    display_name: str,
    actor: Actor,
    accept_url: str,
    lang: str = i18n.DEFAULT,
) -> tuple[User, str]:
    """Create the invited account and mail its link, in `lang` (the language the inviter chose
    for the invitee); returns the user and the link."""
    chosen = _role(role)
    if lang not in i18n.LANGUAGES:
        raise AccountError(N_("Choose the invitation's language from the list."))
    try:
        address = normalize(IdentityKind.EMAIL, email.strip())
    except InvalidIdentity:
        raise AccountError(
            N_("Enter the person's work email address, such as name@example.com.")
        ) from None
    if len(display_name) > 200:
        raise AccountError(N_("Keep the name under 200 characters."))
    if session.scalar(select(User.id).where(User.username == address)):
        raise AccountError(N_("Someone with that email address already has an account."))
    user = User(username=address, display_name=display_name.strip(), password_hash=NO_PASSWORD)
    session.add(user)
    session.flush()
    add_membership(session, user, organization_id, chosen, actor)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffInvite(
            organization_id=organization_id,
            user_id=user.id,
            token_hash=_hash(token),
            created_by=actor.id,
            expires_at=utcnow() + dt.timedelta(days=INVITE_DAYS),
        )
    )
    link = f"{accept_url}/{token}"
    subject, body = invitation_mail(lang, organization_name, chosen, link)
    put(
        session,
        keys,
        jobs,
        organization_id,
        Channel.EMAIL,
        "staff_invite",
        address,
        body,
        subject=subject,
        headers={"Content-Language": lang},
        actor=actor,
    )
    append(session, organization_id, actor, "user.invited", "user", user.id, {"role": chosen.value})
    return user, link


INVITE_SUBJECT = N_("Your account at {org}'s privacy console")
INVITE_BODY = N_(
    "You are invited to {org}'s privacy console as {role}.\n\n"
    "Choose your password here (the link works once, for {days} days):\n{link}\n"
)


def invitation_mail(lang: str, organization_name: str, role: Role, link: str) -> tuple[str, str]:
    """The invitation's subject and body in `lang`; the organization's name as it wrote it."""
    fields = {"org": organization_name, "days": INVITE_DAYS, "link": link}
    subject = i18n.gettext(lang, INVITE_SUBJECT).format(**fields)
    role_name = i18n.gettext(lang, ROLE_NAMES.get(role.value, role.value))
    body = i18n.gettext(lang, INVITE_BODY).format(role=role_name, **fields)
    return subject, body


def pending_invite(session: Session, token: str) -> StaffInvite | None:
    if not token or len(token) > 100:
        return None
    found = session.scalar(select(StaffInvite).where(StaffInvite.token_hash == _hash(token)))
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        return None
    return found


def accept_invite(session: Session, token: str, password: str) -> User:
    """The invited person chooses their password; the link is spent."""
    found = pending_invite(session, token)
    if found is None:
        raise AccountError(
            N_(
                "This invitation link is not valid any more (used or expired). Ask your "
                "administrator for a new one."
            )
        )
    user = session.get(User, found.user_id)
    assert user is not None
    try:
        user.password_hash = passwords.hash_password(password)
    except ValueError:
        raise AccountError(
            N_("Choose a password of at least {num} characters.", num=passwords.MIN_LENGTH)
        ) from None
    found.used_at = utcnow()
    append(
        session,
        found.organization_id,
        Actor(f"user:{user.id}", "invitee"),
        "user.invite_accepted",
        "user",
        user.id,
    )
    return user


def _membership(session: Session, organization_id: int, user_id: int) -> Membership:
    found = session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    if found is None:
        raise LookupError("no such member in this organization")
    return found


def _other_admins(session: Session, organization_id: int, user_id: int) -> int:
    return len(
        list(
            session.scalars(
                select(User.id)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.organization_id == organization_id,
                    Membership.role == Role.ADMIN.value,
                    User.active.is_(True),
                    User.id != user_id,
                )
            )
        )
    )


def change_role(
    session: Session, organization_id: int, user_id: int, role: str, actor: Actor, by_user: int
) -> None:
    chosen = _role(role)
    membership = _membership(session, organization_id, user_id)
    if user_id == by_user:
        raise AccountError(N_("You cannot change your own role; ask another administrator."))
    demoted = membership.role == Role.ADMIN.value and chosen is not Role.ADMIN
    if demoted and _other_admins(session, organization_id, user_id) == 0:
        raise AccountError(N_("The organization needs at least one administrator."))
    if membership.role == chosen.value:
        return
    before = membership.role
    membership.role = chosen.value
    append(
        session,
        organization_id,
        actor,
        "membership.role_changed",
        "user",
        user_id,
        {"from": before, "to": chosen.value},
    )


def disable(
    session: Session, organization_id: int, user_id: int, actor: Actor, by_user: int
) -> None:
    """Disable the account everywhere (it cannot sign in; its sessions end now). Only for a
    member of this organization who belongs to no other: a staff member shared with another
    organization is removed from this one instead."""
    membership = _membership(session, organization_id, user_id)
    if user_id == by_user:
        raise AccountError(N_("You cannot disable your own account."))
    if (
        membership.role == Role.ADMIN.value
        and _other_admins(session, organization_id, user_id) == 0
    ):
        raise AccountError(N_("The organization needs at least one active administrator."))
    if len(memberships(session, user_id)) > 1:
        sessions.remove_membership(session, user_id, organization_id, actor)
        return
    sessions.disable_user(session, user_id, actor)
