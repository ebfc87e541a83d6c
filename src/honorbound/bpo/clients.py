"""A BPO's client organizations: onboarding, staff across clients, disabling and offboarding.

A BPO is an organization that operates for others (`Organization.operated_by_id` of each of its
clients names it); a client is a data controller with its own notice and privacy contact. One
function per write action, each writing its audit entry in the caller's transaction (the
client's chain for what happened in the client, the BPO's chain for what the BPO did):

    onboard_client        client.onboarded (BPO) + organization.created (client)
    issue_client_key      apikey.issued (client)
    invite_to_client      user.invited + membership.added (client)
    grant_client_access   membership.added (client), for someone already working for the BPO
    disable_client        client.disabled (BPO, client); its keys revoked, its sessions ended
    enable_client         client.enabled (BPO, client)
    offboard_client       client.offboarded (BPO, client): package, erasure, certificate

Guard rails: only an administrator of a BPO acts on its clients (the adapters check the role;
these functions check that the client is the BPO's); a client cannot itself have clients; a
client is offboarded only once it is disabled, and only when what is erased is exactly what
was exported (a person added in between stops the offboarding, nothing erased).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, String, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.accounts import sessions, team
from honorbound.accounts.models import ApiKey, Membership, Organization, User
from honorbound.accounts.roles import Role
from honorbound.accounts.service import (
    SLUG,
    AccountError,
    add_membership,
    create_organization,
    issue_api_key,
    revoke_api_key,
)
from honorbound.audit import Actor, append
from honorbound.db.base import Base, utcnow
from honorbound.i18n import N_
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize

MAX_NAME = 200
MAX_CONTACT = 320
# A notice is a declaration file; policy.yamlsource bounds its parse, this bounds the form.
MAX_NOTICE_BYTES = 512 * 1024
# Subjects erased per statement when offboarding (IN lists stay small on every database).
ERASE_BATCH = 500
PACKAGE_TYPE = "honorbound/client-offboarding-package/v1"


class ClientOffboarding(Base):
    """The record of one offboarding: the package handed to the controller (its digest) and the
    signed certificate of what was erased. It outlives the client's data on purpose."""

    __tablename__ = "client_offboardings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    bpo_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    package_name: Mapped[str] = mapped_column(String(200))
    package_sha256: Mapped[str] = mapped_column(String(64))
    certificate: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class ClientRow:
    id: int
    slug: str
    name: str
    privacy_contact: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    offboarded_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.offboarded_at is not None:
            return "offboarded"
        return "disabled" if self.disabled_at is not None else "active"


def _bpo(session: Session, bpo_id: int) -> Organization:
    bpo = session.get(Organization, bpo_id)
    if bpo is None:
        raise LookupError("no such organization")
    if bpo.operated_by_id is not None:
        raise AccountError(
            N_("This organization is itself a client of a BPO; only the BPO onboards clients.")
        )
    return bpo


def client_of(session: Session, bpo_id: int, client_id: int) -> Organization:
    """The client `client_id` of this BPO; LookupError for any other id (another BPO's client
    looks exactly like one that does not exist)."""
    client = session.get(Organization, client_id)
    if client is None or client.operated_by_id != bpo_id:
        raise LookupError("no such client")
    return client


def client_by_slug(session: Session, bpo_id: int, slug: str) -> Organization:
    found = session.scalar(
        select(Organization).where(
            Organization.slug == slug.strip().lower()[:64], Organization.operated_by_id == bpo_id
        )
    )
    if found is None:
        raise LookupError(f"no client with slug {slug[:64]!r} at this BPO")
    return found


def clients(session: Session, bpo_id: int, limit: int = 1000) -> list[ClientRow]:
    rows = session.scalars(
        select(Organization)
        .where(Organization.operated_by_id == bpo_id)
        .order_by(Organization.name, Organization.id)
        .limit(limit)
    )
    return [
        ClientRow(o.id, o.slug, o.name, o.privacy_contact, o.created_at, o.disabled_at,
                  o.offboarded_at)
        for o in rows
    ]  # fmt: skip


def check_onboarding(slug: str, name: str, privacy_contact: str) -> tuple[str, str, str]:
    """The cleaned fields, or AccountError naming the first one that cannot be used."""
    slug = slug.strip()
    name = name.strip()
    if not SLUG.match(slug):
        raise AccountError(
            N_(
                "The slug must be 2-63 lower-case letters, digits or dashes, starting with a "
                "letter or digit (it is the client's portal address, /p/<slug>)."
            )
        )
    if not name:
        raise AccountError(N_("Enter the client's name."))
    if len(name) > MAX_NAME:
        raise AccountError(N_("Keep the client's name under {num} characters.", num=MAX_NAME))
    if len(privacy_contact) > MAX_CONTACT:
        raise AccountError(N_("Keep the privacy contact under {num} characters.", num=MAX_CONTACT))
    try:
        contact = normalize(IdentityKind.EMAIL, privacy_contact.strip())
    except InvalidIdentity:
        raise AccountError(
            N_(
                "Enter the controller's privacy contact as an email address, such as "
                "privacy@client.example."
            )
        ) from None
    return slug, name, contact


def onboard_client(
    session: Session,
    bpo_id: int,
    slug: str,
    name: str,
    privacy_contact: str,
    actor: Actor,
    notice: Any = None,
    jobs: Any = None,
) -> Organization:
    """Create a client organization under this BPO. `notice`: a `policy.store.Prepared`
    declaration (checked by the caller before the transaction), adopted as its first notice."""
    slug, name, contact = check_onboarding(slug, name, privacy_contact)
    bpo = _bpo(session, bpo_id)
    if bpo.disabled_at is not None:
        raise AccountError(N_("This BPO organization is disabled."))
    try:
        client = create_organization(session, slug, name, actor, operated_by_id=bpo.id)
    except AccountError:
        raise AccountError(
            N_("The slug '{slug}' is taken by another organization; choose another.", slug=slug)
        ) from None
    client.privacy_contact = contact
    if notice is not None:
        from honorbound.policy import store

        store.adopt(session, client.id, notice, actor, jobs)
    append(
        session,
        bpo.id,
        actor,
        "client.onboarded",
        "organization",
        client.id,
        {"slug": slug, "notice": notice is not None},
    )
    return client


def _active(client: Organization) -> None:
    if client.offboarded_at is not None:
        raise AccountError(
            N_("The client '{slug}' was offboarded; nothing more happens in it.", slug=client.slug)
        )
    if client.disabled_at is not None:
        raise AccountError(
            N_("The client '{slug}' is disabled; enable it first.", slug=client.slug)
        )


def issue_client_key(
    session: Session, bpo_id: int, client_id: int, role: str, name: str, actor: Actor
) -> tuple[ApiKey, str]:
    """An API key of the client (for its systems calling in); the plaintext is shown once."""
    client = client_of(session, bpo_id, client_id)
    _active(client)
    try:
        chosen = Role(role)
    except ValueError:
        raise AccountError(
            N_("Choose a key role from: {roles}.", roles=", ".join(r.value for r in Role))
        ) from None
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise AccountError(
            N_("Name the key (1 to {num} characters), e.g. 'CRM sync'.", num=MAX_NAME)
        )
    return issue_api_key(session, client.id, chosen, name, actor)


def invite_to_client(
    session: Session,
    keys: Any,
    jobs: Any,
    bpo_id: int,
    client_id: int,
    email: str,
    role: str,
    display_name: str,
    actor: Actor,
    accept_url: str,
    lang: str = "en",
) -> tuple[User, str]:
    """Invite a new person into the client with a role, the mail in `lang` (accounts.team.invite
    does the work). Someone who already has an account is given access instead
    (`grant_client_access`)."""
    client = client_of(session, bpo_id, client_id)
    _active(client)
    return team.invite(
        session, keys, jobs, client.id, client.name, email, role, display_name, actor, accept_url,
        lang,
    )  # fmt: skip


def grant_client_access(
    session: Session, bpo_id: int, client_id: int, username: str, role: str, actor: Actor
) -> Membership:
    """A member of the BPO's own staff gets a role in the client (one role per client)."""
    client = client_of(session, bpo_id, client_id)
    _active(client)
    chosen = team.parse_role(role)
    user = session.scalar(select(User).where(User.username == username.strip().lower()[:320]))
    # Someone who works for this BPO: its own staff, or a member of one of its clients (an
    # account invited into one client, then given a second). Never another BPO's people.
    works_here = user is not None and session.scalar(
        select(Membership.id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.user_id == user.id,
            or_(Organization.id == bpo_id, Organization.operated_by_id == bpo_id),
        )
        .limit(1)
    )
    if user is None or not works_here:
        raise AccountError(
            N_(
                "Nobody working for this BPO or its clients has that username; invite the "
                "person instead."
            )
        )
    assert user is not None
    if session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.organization_id == client.id
        )
    ):
        raise AccountError(
            N_(
                "{username} is already a member of {client}; change the role on the client's "
                "staff page.",
                username=user.username,
                client=client.name,
            )
        )
    return add_membership(session, user, client.id, chosen, actor)


def disable_client(session: Session, bpo_id: int, client_id: int, actor: Actor) -> int:
    """Stop the client: its API keys are revoked and every console session in it ends now.
    Memberships stay (so enabling restores access); returns how many keys were revoked."""
    client = client_of(session, bpo_id, client_id)
    if client.offboarded_at is not None:
        raise AccountError(N_("The client '{slug}' was offboarded already.", slug=client.slug))
    if client.disabled_at is not None:
        return 0
    client.disabled_at = utcnow()
    revoked = 0
    for key in session.scalars(
        select(ApiKey).where(ApiKey.organization_id == client.id, ApiKey.revoked_at.is_(None))
    ).all():
        revoke_api_key(session, client.id, key.id, actor)
        revoked += 1
    for user_id in session.scalars(
        select(Membership.user_id).where(Membership.organization_id == client.id)
    ).all():
        sessions.end_all(session, user_id, "organization_disabled", client.id)
    details = {"slug": client.slug, "keys_revoked": revoked}
    append(session, bpo_id, actor, "client.disabled", "organization", client.id, details)
    append(session, client.id, actor, "client.disabled", "organization", client.id, details)
    return revoked


def enable_client(session: Session, bpo_id: int, client_id: int, actor: Actor) -> None:
    """Undo `disable_client`: its staff may sign in again (revoked keys stay revoked)."""
    client = client_of(session, bpo_id, client_id)
    if client.offboarded_at is not None:
        raise AccountError(
            N_("The client '{slug}' was offboarded; it cannot be enabled.", slug=client.slug)
        )
    if client.disabled_at is None:
        return
    client.disabled_at = None
    details = {"slug": client.slug}
    append(session, bpo_id, actor, "client.enabled", "organization", client.id, details)
    append(session, client.id, actor, "client.enabled", "organization", client.id, details)


# -- offboarding -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Export:
    path: Path
    sha256: str
    size: int
    subject_ids: list[int]


def export_client(
    session: Session,
    vault_keys: Any,
    laws: Any,
    bpo_id: int,
    client_id: int,
    directory: Path,
    recordings_dir: Path | str | None = None,
) -> Export:
    """Write the package for the controller: a ZIP (mode 0600) with manifest.json, the
    current notice and, per person held, the same access package a person gets from a
    request (`rights.package.build_package`, every category, values included). Reads only."""
    from honorbound.policy import store
    from honorbound.policy.models import PolicyVersion
    from honorbound.rights.models import RequestType, RightsRequest
    from honorbound.rights.package import build_package
    from honorbound.vault.models import Subject, SubjectStatus

    client = client_of(session, bpo_id, client_id)
    if client.offboarded_at is not None:
        raise AccountError(N_("The client '{slug}' was offboarded already.", slug=client.slug))
    if client.disabled_at is None:
        raise AccountError(
            N_(
                "Disable the client '{slug}' first: nothing may change while it is exported.",
                slug=client.slug,
            )
        )
    now = utcnow()
    subject_ids = list(
        session.scalars(
            select(Subject.id)
            .where(
                Subject.organization_id == client.id,
                Subject.status != SubjectStatus.ERASED.value,
            )
            .order_by(Subject.id)
        )
    )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{client.slug}-offboarding-{now:%Y%m%dT%H%M%SZ}.zip"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    current = store.current(session, client.id)
    notice = session.get(PolicyVersion, current.version_id) if current is not None else None
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
        for subject_id in subject_ids:
            # A request that is never stored: the package builder's one input shape.
            request = RightsRequest(
                organization_id=client.id,
                subject_id=subject_id,
                type=RequestType.ACCESS_SPECIFIC.value,
                reference=f"OFFBOARD-{subject_id}",
                received_at=now,
            )
            package = build_package(session, vault_keys, laws, request, client.name, recordings_dir)
            zf.writestr(f"subjects/{subject_id}.zip", package.content)
        if notice is not None:
            zf.writestr("notice/declaration.yaml", notice.source_text)
        zf.writestr(
            "manifest.json",
            json.dumps(
                {
                    "type": PACKAGE_TYPE,
                    "organization": {"slug": client.slug, "name": client.name},
                    "privacy_contact": client.privacy_contact,
                    "exported_at": now.isoformat(),
                    "subjects": len(subject_ids),
                    "notice_version": current.number if current else None,
                },
                indent=2,
            ),
        )
    digest = hashlib.sha256()
    with path.open("rb") as written:
        for chunk in iter(lambda: written.read(1 << 20), b""):
            digest.update(chunk)
    return Export(path, digest.hexdigest(), path.stat().st_size, subject_ids)


CHANGED_SINCE_PACKAGE = N_(
    "People were added to or removed from the client after its package was written; nothing "
    "was erased. Offboard it again (a new package is written)."
)


def offboard_client(
    session: Session,
    keys: Any,
    vault_keys: Any,
    bpo_id: int,
    client_id: int,
    export: Export,
    actor: Actor,
) -> ClientOffboarding:
    """Erase the client's data exported in `export`, then sign the certificate (the same
    Ed25519 disposal certificates retention writes, with the client's key). Erased: every
    person in the vault (identities, records, interactions, their keys shredded), the outbox's
    messages, the sealed contact fields of its requests; its memberships end. Kept: the audit
    chain, the consent ledger's blind indexes and request metadata (counts and dates)."""
    from honorbound.notify.models import OutboxMessage
    from honorbound.retention.certificates import ids_digest, sign
    from honorbound.rights.models import RightsRequest
    from honorbound.vault.erasure import erase_subjects
    from honorbound.vault.models import Subject, SubjectStatus

    client = client_of(session, bpo_id, client_id)
    if client.offboarded_at is not None:
        raise AccountError(N_("The client '{slug}' was offboarded already.", slug=client.slug))
    if client.disabled_at is None:
        raise AccountError(N_("Disable the client '{slug}' first.", slug=client.slug))
    live = list(
        session.scalars(
            select(Subject.id)
            .where(
                Subject.organization_id == client.id,
                Subject.status != SubjectStatus.ERASED.value,
            )
            .order_by(Subject.id)
        )
    )
    if live != export.subject_ids:
        raise AccountError(CHANGED_SINCE_PACKAGE)
    totals = {"records": 0, "interactions": 0, "identities": 0, "keys_destroyed": 0}
    for start in range(0, len(live), ERASE_BATCH):
        erased = erase_subjects(
            session, vault_keys, client.id, live[start : start + ERASE_BATCH], actor,
            "client.offboarding",
        )  # fmt: skip
        totals["records"] += erased.records
        totals["interactions"] += erased.interactions
        totals["identities"] += erased.identities
        totals["keys_destroyed"] += erased.keys_destroyed
    outbox = session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.organization_id == client.id)
        .execution_options(synchronize_session=False)
    )
    cleared = session.execute(
        update(RightsRequest)
        .where(RightsRequest.organization_id == client.id)
        .values(
            contact_sealed=None, phone_sealed=None, details_sealed=None, declaration_sealed=None
        )
        .execution_options(synchronize_session=False)
    )
    members = list(
        session.scalars(select(Membership.user_id).where(Membership.organization_id == client.id))
    )
    for user_id in members:
        sessions.remove_membership(session, user_id, client.id, actor)
    now = utcnow()
    bpo = session.get(Organization, bpo_id)
    assert bpo is not None
    text, signature = sign(
        keys,
        client.id,
        {
            "kind": "client_offboarding",
            "organization": client.slug,
            "operated_by": bpo.slug,
            "package": {"name": export.path.name, "sha256": export.sha256, "bytes": export.size},
            "subjects": len(live),
            "subjects_digest": ids_digest(live),
            "outbox_messages_deleted": int(getattr(outbox, "rowcount", 0) or 0),
            "requests_contact_cleared": int(getattr(cleared, "rowcount", 0) or 0),
            "memberships_ended": len(members),
            "erased_at": now.isoformat(),
            **totals,
        },
    )
    client.offboarded_at = now
    row = ClientOffboarding(
        organization_id=client.id,
        bpo_id=bpo_id,
        package_name=export.path.name,
        package_sha256=export.sha256,
        certificate=text,
        signature=signature,
        created_by=actor.id,
    )
    session.add(row)
    session.flush()
    details = {"slug": client.slug, "subjects": len(live), "package_sha256": export.sha256}
    append(session, bpo_id, actor, "client.offboarded", "organization", client.id, details)
    append(session, client.id, actor, "client.offboarded", "organization", client.id, details)
    return row


def offboarding_of(session: Session, bpo_id: int, client_id: int) -> ClientOffboarding:
    client_of(session, bpo_id, client_id)
    found = session.scalar(
        select(ClientOffboarding)
        .where(ClientOffboarding.organization_id == client_id)
        .order_by(ClientOffboarding.id.desc())
    )
    if found is None:
        raise LookupError("this client was not offboarded")
    return found


def read_package_listing(path: Path) -> list[str]:
    """The file names in a package (for tests and the CLI's summary)."""
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
        return zf.namelist()
