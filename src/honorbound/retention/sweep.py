"""The sweep: find what the declaration says is due and dispose of it, in batches.

Each batch is one transaction: the rows are deleted (or the subjects erased), the disposal log
entry with its signed certificate is written and the run's cursor moves, together. A crash
loses at most the batch in flight, which rolled back as a whole; the next sweep resumes the
unfinished run with the same `as_of`, so it decides exactly as the interrupted one would have,
and nothing is disposed of twice or counted twice.

Erasing a subject destroys its data key in the key store first (that commits on its own, see
`vault.erasure`); if the crash falls between the two, the rerun erases the subject again, which
finds no key to destroy and deletes the leftover rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, delete, func, not_, select, text, type_coerce, update
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.consent.suppression import suppress_retention_erasure
from honorbound.crypto.keyring import KeyRing
from honorbound.db.base import utcnow
from honorbound.db.engine import Database
from honorbound.policy.models import PolicyVersion
from honorbound.policy.schema import parse_duration
from honorbound.retention.certificates import ids_digest, sign
from honorbound.retention.due import (
    forecast,
    held_back,
    interaction_due,
    policy_plan,
    record_due,
    subject_due,
)
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.holds import (
    interactions_held,
    list_holds,
    records_held,
    subjects_held,
)
from honorbound.retention.models import (
    DisposalEntry,
    LegalHold,
    RetentionRun,
)
from honorbound.retention.rules import Action, NotEnforced, Step
from honorbound.systems.context import SystemsContext
from honorbound.systems.recordings import delete_for_interactions
from honorbound.vault.erasure import delete_records, erase_subjects
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Interaction, Record, Subject

# `forecast` lives in due.py; re-exported for callers that read it here.
__all__ = ["SWEEP_JOB", "SweepResult", "disposals", "forecast", "get_disposal", "sweep"]

# Larger batches touch each index page fewer times in total (the subject index is hit at random),
# at about 25 MB of memory per 100,000 records; see docs/retention.md (Speed).
RECORD_BATCH = 100_000
CHUNK = 20_000
SQLITE_CACHE_KB = 256_000
SUBJECT_BATCH = 500
SWEEP_JOB = "retention.sweep"

OnBatch = Callable[[int], None]


def _clear_values(part: str) -> dict[str, None]:
    if part.endswith("call_recording"):
        return {"recording_uri_sealed": None, "recording_sha256": None}
    return {"body_sealed": None, "original_sealed": None}


@dataclass
class SweepResult:
    run_id: int
    resumed: bool
    as_of: dt.datetime
    batches: int = 0
    records: int = 0
    subjects: int = 0
    held_back: dict[str, int] = field(default_factory=dict)
    not_enforced: list[NotEnforced] = field(default_factory=list)


def _start(
    db: Database, organization_id: int, actor: Actor, as_of: dt.datetime | None
) -> tuple[int, bool, dt.datetime, int]:
    with db.session() as session:
        run = session.scalar(
            select(RetentionRun)
            .where(
                RetentionRun.organization_id == organization_id,
                RetentionRun.status == "running",
            )
            .order_by(RetentionRun.id)
            .limit(1)
        )
        if run is not None:
            run.resumed += 1
            append(
                session,
                organization_id,
                actor,
                "retention.sweep_resumed",
                "retention_run",
                run.id,
                {"resumed": run.resumed},
            )
            return run.id, True, run.as_of, run.policy_version_id
        version_id, _ = policy_plan(session, organization_id)
        run = RetentionRun(
            organization_id=organization_id,
            policy_version_id=version_id,
            as_of=as_of or utcnow(),
            status="running",
            started_at=utcnow(),
            progress={},
            summary={},
        )
        session.add(run)
        session.flush()
        append(
            session,
            organization_id,
            actor,
            "retention.sweep_started",
            "retention_run",
            run.id,
            {"policy_version_id": version_id},
        )
        return run.id, False, run.as_of, version_id


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


_ID_FIELD = {
    Action.DELETE_RECORDS: "record_ids_sha256",
    Action.ERASE_SUBJECTS: "subject_ids_sha256",
    Action.CLEAR_INTERACTION_PART: "interaction_ids_sha256",
    Action.DELETE_INTERACTIONS: "interaction_ids_sha256",
}


def _log(
    session: Session,
    keys: KeyRing,
    run: RetentionRun,
    step: Step,
    *,
    records: int,
    subjects: int,
    categories: dict[str, int],
    start: dt.datetime | None,
    end: dt.datetime | None,
    holds: dict[str, Any],
    ids_sha256: str,
    extra: dict[str, Any] | None = None,
) -> DisposalEntry:
    now = utcnow()
    entry = DisposalEntry(
        organization_id=run.organization_id,
        run_id=run.id,
        batch=run.batches + 1,
        rule_id=step.rule_id,
        trigger=step.trigger.value,
        action=step.action.value,
        records=records,
        subjects=subjects,
        categories=categories,
        range_start=start,
        range_end=end,
        hold_exclusions=holds,
        disposed_at=now,
        certificate="",
        signature="",
    )
    session.add(entry)
    session.flush()
    entry.certificate, entry.signature = sign(
        keys,
        run.organization_id,
        {
            "organization_id": run.organization_id,
            "run_id": run.id,
            "batch": entry.batch,
            "entry_id": entry.id,
            "policy_version_id": run.policy_version_id,
            "rule": step.rule_id,
            "trigger": step.trigger.value,
            "period": step.period,
            "action": step.action.value,
            "as_of": _iso(run.as_of),
            "disposed_at": _iso(now),
            "records": records,
            "subjects": subjects,
            "categories": categories,
            "collected_from": _iso(start),
            "collected_to": _iso(end),
            "hold_exclusions": holds,
            _ID_FIELD[step.action]: ids_sha256,
            **(extra or {}),
        },
    )
    run.batches += 1
    run.records += records
    if step.action == Action.ERASE_SUBJECTS:  # the run counts erasures, not subjects touched
        run.subjects += subjects
    return entry


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _delete(
    session: Session, organization_id: int, actor: Actor, reason: str, ids: list[int]
) -> int:
    # Bound parameters per statement stay well under SQLite's limit (32,766).
    return sum(
        delete_records(session, organization_id, actor, reason, record_ids=ids[i : i + CHUNK])
        for i in range(0, len(ids), CHUNK)
    )


def _interaction_batch(
    session: Session,
    keys: KeyRing,
    vault_keys: KeyStore,
    run: RetentionRun,
    step: Step,
    actor: Actor,
    holds: list[LegalHold],
    held_info: dict[str, Any],
    batch_size: int,
) -> bool:
    org = run.organization_id
    part = step.categories[0]
    conds = interaction_due(step, org, run.as_of)
    if holds:
        conds.append(not_(interactions_held(holds, part)))
    cursor = run.progress.get(step.key)
    if cursor is not None:
        conds.append(Interaction.started_at >= _aware(cursor))
    rows = session.execute(
        select(Interaction.id, Interaction.subject_id, Interaction.started_at)
        .where(*conds)
        .order_by(Interaction.started_at, Interaction.id)
        .limit(batch_size)
    ).all()
    if not rows:
        return False
    ids = [r[0] for r in rows]
    audio: dict[str, Any] = {}
    if part.endswith("call_recording") or step.action == Action.DELETE_INTERACTIONS:
        # The audio object goes with its pointer (honorbound.systems.recordings).
        audio = delete_for_interactions(
            session, SystemsContext(keys.derived, ""), vault_keys, org, ids
        ).as_dict()
    count = 0
    for i in range(0, len(ids), CHUNK):
        where = (Interaction.organization_id == org, Interaction.id.in_(ids[i : i + CHUNK]))
        if step.action == Action.DELETE_INTERACTIONS:
            query: Any = delete(Interaction).where(*where)
        else:
            query = update(Interaction).where(*where).values(**_clear_values(part))
        result = session.execute(query.execution_options(synchronize_session=False))
        count += int(getattr(result, "rowcount", 0) or 0)
    append(
        session,
        org,
        actor,
        "interactions.deleted"
        if step.action == Action.DELETE_INTERACTIONS
        else "interactions.part_cleared",
        "interaction",
        "",
        {"count": count, "category": part, "reason": step.reason},
    )
    _log(
        session,
        keys,
        run,
        step,
        records=count,
        subjects=len({r[1] for r in rows}),
        categories={part: count},
        start=_aware(rows[0][2]),
        end=_aware(rows[-1][2]),
        holds=held_info,
        ids_sha256=ids_digest(ids),
        extra=audio,
    )
    run.progress = {**run.progress, step.key: _iso(_aware(rows[-1][2]))}
    return True


def _record_batch(
    session: Session,
    keys: KeyRing,
    run: RetentionRun,
    step: Step,
    actor: Actor,
    holds: list[LegalHold],
    held_info: dict[str, Any],
    batch_size: int,
) -> bool:
    """The next `batch_size` due records of one category, in id order.

    Id order, not collection order: ids follow the table's storage, so a batch deletes from one
    stretch of the table and of the (organization, category) index, whatever the records'
    dates. In collection order, due records spread over the whole table made every batch touch
    nearly every page (see docs/retention.md, Speed). The batch is deleted with the same
    conditions bounded by its last id, one statement whatever the batch size; the count deleted
    must equal the count selected (both run in this transaction)."""
    org = run.organization_id
    conds = record_due(step, org, run.as_of)
    if holds:
        conds.append(not_(records_held(holds)))
    # The highest due id bounds the walk: past it, the rest of the category need not be read
    # (in a time-ordered table that is most of it). Asked as a subquery with an offset, which
    # SQLite and PostgreSQL do not flatten, so it is read from the (organization, category,
    # collected_at) index alone instead of walking the (organization, category) one down.
    due_ids = select(Record.id).where(*conds).offset(0).subquery()
    until = session.scalar(select(func.max(due_ids.c.id)))
    if until is None:
        return False
    conds.append(Record.id <= until)
    cursor = run.progress.get(step.key)
    # A cursor that is not an id comes from a run started before batches went in id order (it
    # held a collection time); starting from the first id is safe, what went is gone.
    if isinstance(cursor, int):
        conds.append(Record.id > cursor)
    # Collection times as the driver gives them (ISO text on SQLite, which sorts in time order):
    # only the batch's two ends become datetimes, not 100,000 of them.
    stored_at = type_coerce(Record.collected_at, String)
    rows = session.execute(
        select(Record.id, Record.subject_id, stored_at)
        .where(*conds)
        .order_by(Record.id)
        .limit(batch_size)
    ).all()
    if not rows:
        return False
    ids = [r[0] for r in rows]
    result = session.execute(
        delete(Record)
        .where(*conds, Record.id <= ids[-1])
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count != len(ids):
        raise RuntimeError(
            f"retention batch changed under the sweep ({count} deleted, {len(ids)} selected); "
            "rolled back, run the sweep again"
        )
    collected = [r[2] for r in rows]
    append(
        session,
        org,
        actor,
        "records.deleted",
        "record",
        "",
        {"count": count, "category": step.categories[0], "reason": step.reason},
    )
    _log(
        session,
        keys,
        run,
        step,
        records=count,
        subjects=len({r[1] for r in rows}),
        categories={step.categories[0]: count},
        start=_aware(min(collected)),
        end=_aware(max(collected)),
        holds=held_info,
        ids_sha256=ids_digest(ids),
    )
    run.progress = {**run.progress, step.key: ids[-1]}
    return True


def _due_subject_ids(
    session: Session, run: RetentionRun, step: Step, holds: list[LegalHold], batch_size: int
) -> list[int]:
    """The next batch of subjects `step` disposes of (after the run's cursor)."""
    sconds = subject_due(step, run.organization_id, run.as_of)
    cursor = run.progress.get(step.key)
    if cursor is not None:
        sconds.append(Subject.id > int(cursor))
    if step.action == Action.ERASE_SUBJECTS and holds:
        sconds.append(not_(subjects_held(holds)))
    return list(
        session.scalars(select(Subject.id).where(*sconds).order_by(Subject.id).limit(batch_size))
    )


def _not_stored(step: Step) -> bool:
    """A zero-day ("not stored") rule that erases whole subjects."""
    return step.action == Action.ERASE_SUBJECTS and not any(parse_duration(step.period))


def _suppress_batch(
    session: Session,
    keys: KeyRing,
    vault_keys: KeyStore,
    run: RetentionRun,
    step: Step,
    actor: Actor,
    holds: list[LegalHold],
    batch_size: int,
) -> None:
    """Before a "not stored" rule erases the next batch, every identity of those subjects goes
    into the suppression list, in a transaction of its own: the key store commits the key's
    destruction on its own, so entries written in the erasing transaction would be lost with
    the identities if the process died between the two."""
    subject_ids = _due_subject_ids(session, run, step, holds, batch_size)
    if subject_ids:
        suppress_retention_erasure(
            session, keys, vault_keys, run.organization_id, subject_ids, actor, run_id=run.id
        )


def _batch(
    session: Session,
    keys: KeyRing,
    vault_keys: KeyStore,
    run: RetentionRun,
    step: Step,
    actor: Actor,
    holds: list[LegalHold],
    held_info: dict[str, Any],
    batch_size: int,
) -> bool:
    """Dispose of one batch of `step`; False when nothing of it is left."""
    org = run.organization_id
    if step.table == "interactions":
        return _interaction_batch(
            session, keys, vault_keys, run, step, actor, holds, held_info, batch_size
        )
    if step.per_record:
        return _record_batch(session, keys, run, step, actor, holds, held_info, batch_size)
    subject_ids = _due_subject_ids(session, run, step, holds, batch_size)
    if not subject_ids:
        return False
    if step.action == Action.ERASE_SUBJECTS:
        per_category = session.execute(
            select(
                Record.category,
                func.count(),
                func.min(Record.collected_at),
                func.max(Record.collected_at),
            )
            .where(Record.organization_id == org, Record.subject_id.in_(subject_ids))
            .group_by(Record.category)
        ).all()
        recorded = list(
            session.scalars(
                select(Interaction.id).where(
                    Interaction.organization_id == org,
                    Interaction.subject_id.in_(subject_ids),
                    Interaction.recording_uri_sealed.is_not(None),
                )
            )
        )
        audio = (
            delete_for_interactions(
                session, SystemsContext(keys.derived, ""), vault_keys, org, recorded
            ).as_dict()
            if recorded
            else {}
        )
        erased = erase_subjects(session, vault_keys, org, subject_ids, actor, step.reason)
        starts = [_aware(r[2]) for r in per_category if r[2] is not None]
        ends = [_aware(r[3]) for r in per_category if r[3] is not None]
        _log(
            session,
            keys,
            run,
            step,
            records=erased.records,
            subjects=len(erased.subject_ids),
            categories={str(r[0]): int(r[1]) for r in per_category},
            start=min(s for s in starts if s) if starts else None,
            end=max(e for e in ends if e) if ends else None,
            holds=held_info,
            ids_sha256=ids_digest(erased.subject_ids),
            extra=audio,
        )
    else:
        rconds = [
            Record.organization_id == org,
            Record.subject_id.in_(subject_ids),
            Record.category.in_(step.categories),
        ]
        if holds:
            rconds.append(not_(records_held(holds)))
        found = session.execute(
            select(Record.id, Record.subject_id, Record.category, Record.collected_at).where(
                *rconds
            )
        ).all()
        if found:
            ids = [r[0] for r in found]
            count = _delete(session, org, actor, step.reason, ids)
            times = [_aware(r[3]) for r in found]
            _log(
                session,
                keys,
                run,
                step,
                records=count,
                subjects=len({r[1] for r in found}),
                categories=dict(Counter(str(r[2]) for r in found)),
                start=min(t for t in times if t),
                end=max(t for t in times if t),
                holds=held_info,
                ids_sha256=ids_digest(ids),
            )
    run.progress = {**run.progress, step.key: subject_ids[-1]}
    return True


def _sqlite_cache(session: Session) -> None:
    """A batch deletes from four indexes, one of them (subject id) hit at random: with SQLite's
    default 2 MB page cache, modified pages spill to the WAL and are written again and again
    within one transaction. A larger cache for this connection keeps them until the commit."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}"))


def sweep(
    db: Database,
    keys: KeyRing,
    vault_keys: KeyStore,
    organization_id: int,
    actor: Actor,
    *,
    as_of: dt.datetime | None = None,
    record_batch: int = RECORD_BATCH,
    subject_batch: int = SUBJECT_BATCH,
    on_batch: OnBatch | None = None,
) -> SweepResult:
    """Dispose of everything due, or resume the organization's unfinished run.

    `on_batch(n)` is called inside each batch's transaction, after the writes and before the
    commit (progress reporting; the crash test kills the process there).
    """
    if record_batch < 1 or subject_batch < 1:
        raise RetentionInputError("batch", "batch sizes must be at least 1")
    run_id, resumed, run_as_of, version_id = _start(db, organization_id, actor, as_of)
    result = SweepResult(run_id, resumed, run_as_of)
    with db.session() as session:
        _, the_plan = policy_plan(session, organization_id, version_id)
    result.not_enforced = the_plan.not_enforced
    for step in the_plan.steps:
        with db.session() as session:
            holds = list_holds(session, organization_id)
            held = held_back(session, step, organization_id, run_as_of, holds)
        held_info = {"holds": [h.id for h in holds], "held_back": held}
        result.held_back[step.key] = held
        size = record_batch if step.per_record else subject_batch
        while True:
            if _not_stored(step):
                with db.session() as session:
                    run = session.get(RetentionRun, run_id)
                    assert run is not None
                    _suppress_batch(session, keys, vault_keys, run, step, actor, holds, size)
            with db.session() as session:
                _sqlite_cache(session)
                run = session.get(RetentionRun, run_id, with_for_update=True)
                assert run is not None
                if run.status != "running":  # finished by a concurrent sweep
                    return result
                if not _batch(session, keys, vault_keys, run, step, actor, holds, held_info, size):
                    break
                if on_batch is not None:
                    on_batch(run.batches)
    with db.session() as session:
        run = session.get(RetentionRun, run_id, with_for_update=True)
        assert run is not None
        run.status = "finished"
        run.finished_at = utcnow()
        run.summary = {
            "held_back": result.held_back,
            "not_enforced": [
                {"rule": n.rule_id, "trigger": n.trigger, "reason": n.reason}
                for n in the_plan.not_enforced
            ],
        }
        result.batches, result.records, result.subjects = run.batches, run.records, run.subjects
        append(
            session,
            organization_id,
            actor,
            "retention.sweep_finished",
            "retention_run",
            run.id,
            {"batches": run.batches, "records": run.records, "subjects": run.subjects},
        )
    return result


def disposals(
    session: Session,
    organization_id: int,
    run_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DisposalEntry]:
    query = select(DisposalEntry).where(DisposalEntry.organization_id == organization_id)
    if run_id is not None:
        query = query.where(DisposalEntry.run_id == run_id)
    return list(session.scalars(query.order_by(DisposalEntry.id).limit(limit).offset(offset)))


def get_disposal(session: Session, organization_id: int, entry_id: int) -> DisposalEntry:
    entry = session.scalar(
        select(DisposalEntry).where(
            DisposalEntry.id == entry_id, DisposalEntry.organization_id == organization_id
        )
    )
    if entry is None:
        raise RetentionInputError(
            "disposal_id", "no disposal with that id in this organization", 404
        )
    return entry


def organizations_with_policy(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(PolicyVersion.organization_id).distinct().order_by(PolicyVersion.organization_id)
        )
    )
