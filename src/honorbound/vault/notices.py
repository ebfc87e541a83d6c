"""Announcing a material change of the notice to the people it affects.

Adopting a version whose changes are material queues the durable job `NOTIFY_JOB`. The job
emails every active subject of an affected subject type that has an email identity in the
vault, plus the organization's own privacy contact, through the outbox (so delivery is retried
and the message is sealed at rest), then records what it sent in the audit log. The job can run
again after a crash: subjects already told about this version are skipped (`subject_ref`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.crypto.keyring import KeyRing
from honorbound.notify import outbox
from honorbound.notify.models import Channel, OutboxMessage
from honorbound.policy.store import NOTIFY_JOB, AdoptedPolicy, get_version
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import Identity, Subject, SubjectStatus
from honorbound.vault.sealing import open_text

__all__ = ["NOTIFY_JOB", "NoticeResult", "notify_material_change", "notice_text"]

KIND = "policy.material_change"


@dataclass(frozen=True)
class NoticeResult:
    version_id: int
    subjects_notified: int
    organization_notified: bool
    skipped_already_sent: int


def affected_subject_types(version: AdoptedPolicy) -> list[str]:
    return sorted({s for c in version.changes if c.get("material") for s in c.get("subjects", [])})


def notice_text(version: AdoptedPolicy, notice_url: str | None) -> tuple[str, str]:
    """(subject line, body) of the announcement. Names no person; lists the material changes."""
    d = version.declaration
    lines = [
        f"{d.organization.name} has changed its privacy notice (version {version.number}, "
        f"effective {version.effective_date.isoformat()}).",
        "",
        "What changes for you:",
    ]
    lines += [f"- {c['message']}" for c in version.changes if c.get("material")]
    lines.append("")
    if notice_url:
        lines.append(f"Read the full notice: {notice_url}")
    if d.contact.email:
        lines.append(f"Questions: {d.contact.email}")
    lines.append(
        "Data we collected before this change is still used and shared only as the notice in "
        "force when we collected it said: every use and disclosure of it is checked against that "
        "version. A new use or a new recipient applies to it only if you agree to it, and we "
        "record that consent."
    )
    return f"Changes to the {d.organization.name} privacy notice", "\n".join(lines)


def notify_material_change(
    session: Session,
    keyring: KeyRing,
    vault_keys: KeyStore,
    jobs: outbox.Enqueuer | None,
    organization_id: int,
    version_id: int,
    notice_url: str | None = None,
) -> NoticeResult:
    """Queue the announcement of version `version_id` to every affected subject with an email."""
    version = get_version(session, organization_id, version_id)
    if version is None:
        raise LookupError(f"policy version {version_id} does not exist for this organization")
    subject, body = notice_text(version, notice_url)
    types = affected_subject_types(version)
    ref_prefix = f"policy:{version_id}:"
    already = set(
        session.scalars(
            select(OutboxMessage.subject_ref).where(
                OutboxMessage.organization_id == organization_id,
                OutboxMessage.kind == KIND,
                OutboxMessage.subject_ref.startswith(ref_prefix),
            )
        )
    )
    rows = session.execute(
        select(Subject, Identity)
        .join(Identity, Identity.subject_id == Subject.id)
        .where(
            Subject.organization_id == organization_id,
            Subject.status == SubjectStatus.ACTIVE.value,
            Subject.type.in_(types),
            Identity.kind == IdentityKind.EMAIL.value,
        )
        .order_by(Subject.id, Identity.id)
    ).all()
    sent, skipped = 0, 0
    seen: set[int] = set()
    queued: list[int] = []
    for subj, identity in rows:
        if subj.id in seen:  # one message per person, to their first email
            continue
        seen.add(subj.id)
        ref = f"{ref_prefix}subject:{subj.id}"
        if ref in already:
            skipped += 1
            continue
        try:
            dek = vault_keys.data_key(organization_id, subj.key_id)
        except KeyDestroyed:
            continue
        address = open_text(
            dek, organization_id, subj.key_id, f"identity:{identity.kind}", identity.value_sealed
        )
        message = outbox.put(
            session, keyring, None, organization_id, Channel.EMAIL, KIND, address, body,
            subject=subject, subject_ref=ref, sealed_for=outbox.PersonKey(subj.key_id, dek),
        )  # fmt: skip
        queued.append(message.id)
        sent += 1
    org_ref = f"{ref_prefix}organization"
    contact = version.declaration.contact.email
    org_notified = False
    if contact and org_ref not in already:
        message = outbox.put(
            session, keyring, None, organization_id, Channel.EMAIL, KIND, contact, body,
            subject=subject, subject_ref=org_ref,
        )  # fmt: skip
        queued.append(message.id)
        org_notified = True
    append(
        session,
        organization_id,
        Actor.system(),
        "policy.material_change_notified",
        "policy_version",
        version_id,
        {
            "subject_types": types,
            "subjects_notified": sent,
            "organization_notified": org_notified,
            "skipped_already_sent": skipped,
        },
    )
    # Delivery jobs are queued last: the job queue sends pending jobs when a savepoint is
    # released, and every audit append above uses one, so a job queued earlier would start
    # before this transaction commits.
    if jobs is not None:
        for message_id in queued:
            jobs.enqueue(
                session, outbox.DELIVER_JOB, {"message_id": message_id},
                organization_id=organization_id,
            )  # fmt: skip
    return NoticeResult(version_id, sent, org_notified, skipped)
