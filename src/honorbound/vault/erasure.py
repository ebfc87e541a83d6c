"""Erasure: crypto-shredding of a subject, and deleting single records.

Erasing a subject first destroys its data key in the key store, then deletes its identities,
records and interactions and leaves a tombstone row (status `erased`). The key goes first on
purpose: the key store commits on its own, so even if the data transaction later fails, every
ciphertext of that subject (in this database, its replicas and its backups) is already
unreadable; running the erasure again removes the leftover rows.

Deleting records (a retention rule for one category, say) is a plain row delete: the subject's
key stays because their other data still needs it. Copies of the database taken before the
delete still hold those ciphertexts and the key store can still open them, which is the
difference from a subject erasure; backups must be expired on their own schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.jobs import JobQueue
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity, Interaction, Record, Subject, SubjectStatus

ERASE_JOB = "vault.erase_subject"


@dataclass(frozen=True)
class Erased:
    subject_ids: list[int]
    keys_destroyed: int
    identities: int
    records: int
    interactions: int


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def erase_subjects(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    subject_ids: Sequence[int],
    actor: Actor,
    reason: str,
) -> Erased:
    """Erase many subjects of one organization (rights deletions, retention sweeps).

    Unknown ids and ids of other organizations are ignored; erased subjects are erased again
    harmlessly. `reason` is a short machine or policy label (e.g. `rights.deletion`,
    `retention:user.contact`), recorded in the audit entry; never personal data.
    """
    found = session.execute(
        select(Subject.id, Subject.key_id).where(
            Subject.organization_id == organization_id, Subject.id.in_(list(subject_ids))
        )
    ).all()
    ids = [row[0] for row in found]
    if not ids:
        return Erased([], 0, 0, 0, 0)
    destroyed = keys.destroy_data_keys(organization_id, [row[1] for row in found])
    counts = []
    for model in (Identity, Record, Interaction):
        counts.append(
            _rowcount(
                session.execute(
                    delete(model)
                    .where(model.organization_id == organization_id, model.subject_id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
            )
        )
    session.execute(
        update(Subject)
        .where(Subject.organization_id == organization_id, Subject.id.in_(ids))
        .values(
            status=SubjectStatus.ERASED.value,
            erased_at=utcnow(),
            jurisdiction=None,
            birth_date_sealed=None,
            age_sealed=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    result = Erased(ids, destroyed, *counts)
    for subject_id in ids:
        append(
            session,
            organization_id,
            actor,
            "subject.erased",
            "subject",
            subject_id,
            {"reason": reason, "batch_size": len(ids)},
        )
    return result


def erase_subject(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    subject_id: int,
    actor: Actor,
    reason: str,
) -> Erased:
    """Erase one subject: shred its key, delete its rows, keep a tombstone."""
    return erase_subjects(session, keys, organization_id, [subject_id], actor, reason)


def delete_records(
    session: Session,
    organization_id: int,
    actor: Actor,
    reason: str,
    record_ids: Sequence[int] | None = None,
    category: str | None = None,
    subject_id: int | None = None,
    collected_before: object | None = None,
) -> int:
    """Delete records by id, or by category (optionally of one subject / collected before a
    time). The subject's key is kept. Returns the number deleted."""
    if record_ids is None and category is None:
        raise ValueError("name the records: record_ids or a category")
    query = delete(Record).where(Record.organization_id == organization_id)
    if record_ids is not None:
        query = query.where(Record.id.in_(list(record_ids)))
    if category is not None:
        query = query.where(Record.category == category)
    if subject_id is not None:
        query = query.where(Record.subject_id == subject_id)
    if collected_before is not None:
        query = query.where(Record.collected_at < collected_before)
    count = _rowcount(session.execute(query.execution_options(synchronize_session=False)))
    if count:
        append(
            session,
            organization_id,
            actor,
            "records.deleted",
            "record",
            "",
            {"count": count, "category": category, "subject_id": subject_id, "reason": reason},
        )
    return count


def schedule_erasure(
    session: Session,
    jobs: JobQueue,
    organization_id: int,
    subject_id: int,
    actor: Actor,
    reason: str,
) -> None:
    """Queue the erasure of a subject (runs after this unit of work commits)."""
    append(
        session,
        organization_id,
        actor,
        "subject.erasure_scheduled",
        "subject",
        subject_id,
        {"reason": reason},
    )
    jobs.enqueue(
        session,
        ERASE_JOB,
        {"organization_id": organization_id, "subject_id": subject_id, "reason": reason},
        organization_id=organization_id,
    )
