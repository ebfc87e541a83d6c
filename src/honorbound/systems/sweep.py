"""Retention in connected systems: the notice's rules, the vault's legal holds and the vault's
signed certificates, applied to the systems' own rows and files.

A collection with a `retention_field` is swept: each personal field's category has a rule in
the adopted declaration (for the system's subject type); the rule's trigger that matches the
collection's `retention_trigger` gives the period. Rows older than `as_of - period` are due:
the collection's rows are deleted (collection strategy `delete`, at the shortest period of its
fields) or each due field is erased by its own strategy.

Batches are crash-safe across two databases. Before a batch touches the system, its keys (or
its file) are written to the disposal journal as `pending` and committed; then the system is
changed; then the entry becomes `done` with its signed certificate and the run's cursor moves,
in one commit. A crash between leaves a pending entry: the next run repeats that batch (every
strategy is idempotent, and the rows must still be older than the cutoff) and certifies it,
marked `resumed`. Nothing is certified that was not done, nothing done goes uncertified.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from honorbound.audit import Actor, append
from honorbound.crypto.aead import open_sealed, seal
from honorbound.db.base import utcnow
from honorbound.db.engine import Database
from honorbound.policy import store
from honorbound.policy.schema import Declaration
from honorbound.retention.certificates import sign
from honorbound.retention.holds import list_holds
from honorbound.retention.models import LegalHold
from honorbound.retention.rules import cutoff
from honorbound.systems import registry
from honorbound.systems.connectors import open_connector
from honorbound.systems.connectors.base import Erased
from honorbound.systems.context import SystemsContext
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import CollectionMap, SystemMap
from honorbound.systems.models import SystemDisposal, SystemSweep
from honorbound.systems.requests import identities_of
from honorbound.vault.models import Subject

SWEEP_JOB = "systems.sweep"
BATCH = 5_000

OnStage = Callable[[str, int], None]


@dataclass(frozen=True)
class SysStep:
    key: str
    system: str
    collection: str
    rule_id: str
    period: str
    fields: tuple[str, ...]  # empty: the rows are deleted
    categories: tuple[str, ...]


@dataclass(frozen=True)
class NotEnforced:
    system: str
    collection: str
    field: str
    reason: str


@dataclass
class SweepOutcome:
    sweep_id: int
    resumed: bool
    batches: int = 0
    rows: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    held_back: dict[str, str] = field(default_factory=dict)
    not_enforced: list[NotEnforced] = field(default_factory=list)


def plan(
    declaration: Declaration, systems: list[SystemMap]
) -> tuple[list[SysStep], list[NotEnforced]]:
    steps: list[SysStep] = []
    skipped: list[NotEnforced] = []
    for s in systems:
        if s.type in ("webhook", "manual"):
            continue
        for c in s.collections:
            if c.retention_field is None:
                continue
            subject_type = s.subject_type or (
                declaration.subjects[0].id if len(declaration.subjects) == 1 else None
            )
            if subject_type is None:
                skipped.append(
                    NotEnforced(
                        s.key,
                        c.name,
                        "",
                        "the map names no subject_type and the notice has several",
                    )
                )
                continue
            per_field: dict[str, tuple[str, str]] = {}  # field -> (rule, period)
            for f in c.fields:
                for cat in f.categories:
                    if not cat.startswith("user."):
                        continue
                    rules = declaration.retention_rules_for(cat, subject_type)
                    if not rules:
                        skipped.append(
                            NotEnforced(
                                s.key,
                                c.name,
                                f.name,
                                f"no retention rule covers '{cat}' for {subject_type}",
                            )
                        )
                        continue
                    for rule in rules:
                        for trig in rule.triggers:
                            if trig.trigger.value != c.retention_trigger or trig.period is None:
                                continue
                            best = per_field.get(f.name)
                            if best is None or _days(trig.period) < _days(best[1]):
                                per_field[f.name] = (rule.id, trig.period)
            if not per_field:
                continue
            cats = tuple(
                sorted({cat for f in c.fields if f.name in per_field for cat in f.categories})
            )
            if c.delete_rows or c.format == "recording":
                rule_id, period = min(per_field.values(), key=lambda rp: _days(rp[1]))
                steps.append(
                    SysStep(
                        f"{s.key}:{c.name}:{rule_id}:{period}:rows",
                        s.key,
                        c.name,
                        rule_id,
                        period,
                        (),
                        cats,
                    )
                )
                continue
            groups: dict[tuple[str, str], list[str]] = {}
            for name, rp in sorted(per_field.items()):
                groups.setdefault(rp, []).append(name)
            for (rule_id, period), names in sorted(groups.items()):
                gcats = tuple(
                    sorted({cat for f in c.fields if f.name in names for cat in f.categories})
                )
                steps.append(
                    SysStep(
                        f"{s.key}:{c.name}:{rule_id}:{period}:fields",
                        s.key,
                        c.name,
                        rule_id,
                        period,
                        tuple(names),
                        gcats,
                    )
                )
    return steps, skipped


def _days(period: str) -> float:
    ref = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return (ref - cutoff(ref, period)).total_seconds()


def _field_held(collection: CollectionMap, name: str, holds: list[LegalHold]) -> bool:
    f = collection.field(name)
    return f is not None and any(_covers(h, f.categories) for h in holds)


def _covers(hold: LegalHold, categories: tuple[str, ...]) -> bool:
    if hold.category is None:
        return True
    return any(c == hold.category or c.startswith(hold.category + ".") for c in categories)


def _seal_key(keys: Any, organization_id: int) -> bytes:
    key: bytes = keys.derived(f"org:{organization_id}:systems-journal")
    return key


def _keys_digest(keys: list[Any]) -> str:
    return hashlib.sha256("\n".join(sorted(str(k) for k in keys)).encode()).hexdigest()


def _start(
    db: Database, organization_id: int, actor: Actor, as_of: dt.datetime | None
) -> tuple[int, bool]:
    with db.session() as session:
        run = session.scalar(
            select(SystemSweep)
            .where(SystemSweep.organization_id == organization_id, SystemSweep.status == "running")
            .order_by(SystemSweep.id)
            .limit(1)
        )
        if run is not None:
            run.resumed += 1
            append(
                session,
                organization_id,
                actor,
                "systems.sweep_resumed",
                "system_sweep",
                run.id,
                {"resumed": run.resumed},
            )
            return run.id, True
        adopted = store.current(session, organization_id)
        if adopted is None:
            raise SystemsError(
                "sweep",
                "this organization has adopted no declaration; adopt one first",
                "policy",
                409,
            )
        run = SystemSweep(
            organization_id=organization_id,
            policy_version_id=adopted.version_id,
            as_of=as_of or utcnow(),
            status="running",
            progress={},
            summary={},
        )
        session.add(run)
        session.flush()
        append(
            session,
            organization_id,
            actor,
            "systems.sweep_started",
            "system_sweep",
            run.id,
            {"policy_version_id": adopted.version_id},
        )
        return run.id, False


def sweep(
    db: Database,
    keys: Any,
    vault_keys: Any,
    ctx: SystemsContext,
    organization_id: int,
    actor: Actor,
    *,
    as_of: dt.datetime | None = None,
    batch: int = BATCH,
    on_stage: OnStage | None = None,
) -> SweepOutcome:
    """Dispose of what is due in every connected system, or resume the unfinished run.
    `on_stage(stage, batch)` is called at "changed" (the system was changed, the journal not yet
    updated) and "certified" (the crash tests stop the process there)."""
    sweep_id, resumed = _start(db, organization_id, actor, as_of)
    outcome = SweepOutcome(sweep_id, resumed)
    with db.session() as session:
        run = session.get(SystemSweep, sweep_id)
        assert run is not None
        adopted = store.get_version(session, organization_id, run.policy_version_id)
        assert adopted is not None
        systems = registry.connected(session, organization_id)
        holds = list_holds(session, organization_id)
        held_ids: dict[int, dict[str, set[str]]] = {}
        for h in holds:
            if h.subject_id is not None:
                subject = session.get(Subject, h.subject_id)
                held_ids[h.id] = (
                    identities_of(session, vault_keys, subject)
                    if subject and subject.status != "erased"
                    else {}
                )
        run_as_of = run.as_of
    steps, outcome.not_enforced = plan(adopted.declaration, systems)
    by_key = {s.key: s for s in systems}
    settings = ctx.connector_settings(organization_id)
    connectors: dict[str, Any] = {}
    try:
        for step in steps:
            system = by_key[step.system]
            if system.key in outcome.failed:
                continue
            collection = system.collection(step.collection)
            assert collection is not None
            applicable = [h for h in holds if _covers(h, step.categories)]
            whole = [
                h
                for h in applicable
                if h.subject_id is None and h.collected_from is None and h.collected_to is None
            ]
            if whole and step.fields and all(h.category is not None for h in whole):
                # A hold on some categories keeps those fields; the step erases the others.
                kept = [n for n in step.fields if not _field_held(collection, n, whole)]
                outcome.held_back[step.key] = "a legal hold keeps " + ", ".join(
                    n for n in step.fields if n not in kept
                )
                step = dataclasses.replace(step, fields=tuple(kept))
                applicable = [h for h in applicable if h not in whole]
                if not kept:
                    continue
            elif whole:
                outcome.held_back[step.key] = "a legal hold covers these categories"
                continue
            identity_fields = [f.name for f in collection.fields if f.identity]
            if any(h.subject_id is not None for h in applicable) and not identity_fields:
                outcome.held_back[step.key] = (
                    "a hold on a person: this collection has no identity field to tell rows apart"
                )
                continue
            try:
                if system.key not in connectors:
                    connectors[system.key] = open_connector(system, settings, ctx.environ)
                connector = connectors[system.key]
                limit = cutoff(run_as_of, step.period)
                if system.type == "sql":
                    n, rows = _sql_step(
                        db,
                        keys,
                        connector,
                        sweep_id,
                        step,
                        collection,
                        limit,
                        applicable,
                        held_ids,
                        batch,
                        actor,
                        on_stage,
                    )
                else:
                    n, rows = _files_step(
                        db,
                        keys,
                        connector,
                        sweep_id,
                        step,
                        collection,
                        limit,
                        applicable,
                        held_ids,
                        actor,
                        on_stage,
                    )
                outcome.batches += n
                outcome.rows += rows
            except SystemsError as exc:
                outcome.failed[system.key] = str(exc)
                with db.session() as session:
                    append(
                        session,
                        organization_id,
                        actor,
                        "systems.sweep_failed",
                        "system_sweep",
                        sweep_id,
                        {"system": system.key, "error": str(exc)[:500]},
                    )
    finally:
        for c in connectors.values():
            c.close()
    with db.session() as session:
        run = session.get(SystemSweep, sweep_id, with_for_update=True)
        assert run is not None
        outcome.batches, outcome.rows = run.batches, run.rows
        run.summary = {
            "failed": outcome.failed,
            "held_back": outcome.held_back,
            "not_enforced": [n.__dict__ for n in outcome.not_enforced],
        }
        if not outcome.failed:
            run.status = "finished"
            run.finished_at = utcnow()
            append(
                session,
                organization_id,
                actor,
                "systems.sweep_finished",
                "system_sweep",
                run.id,
                {"batches": run.batches, "rows": run.rows},
            )
    return outcome


def _sql_keep(
    collection: CollectionMap,
    table: Any,
    holds: list[LegalHold],
    held_ids: dict[int, dict[str, set[str]]],
) -> ColumnElement[bool] | None:
    parts: list[ColumnElement[bool]] = []
    assert collection.retention_field is not None
    ts = table.c[collection.retention_field]
    for h in holds:
        conds: list[ColumnElement[bool]] = []
        if h.collected_from is not None:
            conds.append(ts >= h.collected_from.astimezone(dt.UTC).replace(tzinfo=None))
        if h.collected_to is not None:
            conds.append(ts <= h.collected_to.astimezone(dt.UTC).replace(tzinfo=None))
        if h.subject_id is not None:
            ids = held_ids.get(h.id, {})
            matches = [
                table.c[f.name].in_(sorted(ids.get(f.identity, set())))
                for f in collection.fields
                if f.identity and ids.get(f.identity)
            ]
            if not matches:
                continue  # the held person is not known by any identity this collection has
            conds.append(or_(*matches))
        parts.append(and_(*conds) if conds else ts.is_not(None))
    return or_(*parts) if parts else None


def _pending(db: Database, sweep_id: int, step: SysStep) -> tuple[int, list[Any]] | None:
    with db.session() as session:
        entry = session.scalar(
            select(SystemDisposal).where(
                SystemDisposal.sweep_id == sweep_id,
                SystemDisposal.step == step.key,
                SystemDisposal.status == "pending",
            )
        )
        if entry is None:
            return None
        return entry.id, list(entry.scope.get("_keys", []))


def _open_pending(db: Database, keys: Any, organization_id: int, entry_id: int) -> list[Any]:
    with db.session() as session:
        entry = session.get(SystemDisposal, entry_id)
        assert entry is not None
        sealed = bytes.fromhex(entry.scope["sealed"])
        return list(
            json.loads(
                open_sealed(
                    _seal_key(keys, organization_id), sealed, f"journal:{entry_id}".encode()
                )
            )
        )


def _journal(
    db: Database, keys: Any, sweep_id: int, step: SysStep, action: str, batch_keys: list[Any]
) -> int:
    with db.session() as session:
        run = session.get(SystemSweep, sweep_id)
        assert run is not None
        entry = SystemDisposal(
            organization_id=run.organization_id,
            sweep_id=sweep_id,
            step=step.key,
            system_key=step.system,
            collection=step.collection,
            action=action,
            fields=list(step.fields),
            status="pending",
            scope={"count": len(batch_keys), "keys_sha256": _keys_digest(batch_keys)},
            result={},
        )
        session.add(entry)
        session.flush()
        sealed = seal(
            _seal_key(keys, run.organization_id),
            json.dumps(batch_keys, default=str).encode(),
            f"journal:{entry.id}".encode(),
        )
        entry.scope = {**entry.scope, "sealed": sealed.hex()}
        return entry.id


def _certify(
    db: Database,
    keys: Any,
    entry_id: int,
    step: SysStep,
    erased: Erased,
    span: tuple[dt.datetime | None, dt.datetime | None],
    cursor: Any,
    resumed: bool,
    holds: list[LegalHold],
    actor: Actor,
    strategies: dict[str, str],
) -> None:
    with db.session() as session:
        entry = session.get(SystemDisposal, entry_id)
        assert entry is not None
        run = session.get(SystemSweep, entry.sweep_id, with_for_update=True)
        assert run is not None
        now = utcnow()
        entry.status = "done"
        entry.disposed_at = now
        entry.result = erased.as_dict()
        scope = {k: v for k, v in entry.scope.items() if k != "sealed"}
        entry.scope = scope
        run.batches += 1
        run.rows += (
            erased.rows_deleted + max(erased.fields.values(), default=0) + erased.objects_deleted
        )
        run.progress = {**run.progress, step.key: cursor}
        entry.certificate, entry.signature = sign(
            keys,
            run.organization_id,
            {
                "organization_id": run.organization_id,
                "scope": "connected_system",
                "sweep_id": run.id,
                "entry_id": entry.id,
                "policy_version_id": run.policy_version_id,
                "system": step.system,
                "collection": step.collection,
                "rule": step.rule_id,
                "period": step.period,
                "action": entry.action,
                "fields": {f: strategies.get(f, "") for f in step.fields},
                "categories": list(step.categories),
                "as_of": run.as_of.astimezone(dt.UTC).isoformat(),
                "disposed_at": now.astimezone(dt.UTC).isoformat(),
                "rows_deleted": erased.rows_deleted,
                "values_rewritten": erased.fields,
                "files_rewritten": erased.files_rewritten,
                "objects_deleted": erased.objects_deleted,
                "object_versions_deleted": erased.versions_deleted,
                "timestamps_from": span[0].astimezone(dt.UTC).isoformat() if span[0] else None,
                "timestamps_to": span[1].astimezone(dt.UTC).isoformat() if span[1] else None,
                "keys_sha256": scope.get("keys_sha256"),
                "batch_size": scope.get("count"),
                "hold_exclusions": [h.id for h in holds],
                "resumed": resumed,
            },
        )
        append(
            session,
            run.organization_id,
            actor,
            "systems.disposed",
            "system_disposal",
            entry.id,
            {"system": step.system, "collection": step.collection, **erased.as_dict()},
        )


def _strategies(collection: CollectionMap, step: SysStep) -> dict[str, str]:
    from honorbound.systems.maps import effective_strategy

    out: dict[str, str] = {}
    for name in step.fields:
        f = collection.field(name)
        if f is not None:
            out[name] = effective_strategy(collection, f).name
    return out


def _sql_step(
    db: Database,
    keys: Any,
    connector: Any,
    sweep_id: int,
    step: SysStep,
    collection: CollectionMap,
    limit: dt.datetime,
    holds: list[LegalHold],
    held_ids: dict[int, dict[str, set[str]]],
    batch: int,
    actor: Actor,
    on_stage: OnStage | None,
) -> tuple[int, int]:
    if collection.primary_key is None:
        raise SystemsError(
            step.system, "retention needs a primary key field", f"collection '{collection.name}'"
        )
    table = connector.table(collection)
    keep = _sql_keep(collection, table, holds, held_ids)
    fields = list(step.fields) or None
    action = "delete_rows" if fields is None else "erase_fields"
    strategies = _strategies(collection, step)
    batches = rows = 0
    pending = _pending(db, sweep_id, step)
    while True:
        resumed = pending is not None
        if pending is not None:
            entry_id = pending[0]
            batch_keys = _open_pending(db, keys, _org(db, sweep_id), entry_id)
            span: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
            pending = None
        else:
            with db.session() as session:
                run = session.get(SystemSweep, sweep_id)
                assert run is not None
                after = run.progress.get(step.key)
            found = connector.due_keys(collection, limit, after, batch, keep, fields)
            if not found:
                return batches, rows
            batch_keys = [k for k, _ in found]
            stamps = [a for _, t in found if (a := _aware(t)) is not None]
            span = (min(stamps) if stamps else None, max(stamps) if stamps else None)
            entry_id = _journal(db, keys, sweep_id, step, action, batch_keys)
        erased = connector.erase_keys(collection, batch_keys, limit, fields)
        if on_stage is not None:
            on_stage("changed", batches + 1)
        _certify(
            db,
            keys,
            entry_id,
            step,
            erased,
            span,
            max(batch_keys),
            resumed,
            holds,
            actor,
            strategies,
        )
        if on_stage is not None:
            on_stage("certified", batches + 1)
        batches += 1
        rows += erased.rows_deleted + max(erased.fields.values(), default=0)


def _files_step(
    db: Database,
    keys: Any,
    connector: Any,
    sweep_id: int,
    step: SysStep,
    collection: CollectionMap,
    limit: dt.datetime,
    holds: list[LegalHold],
    held_ids: dict[int, dict[str, set[str]]],
    actor: Actor,
    on_stage: OnStage | None,
) -> tuple[int, int]:
    if holds and collection.format != "recording":
        # Rows in held time ranges or of held people stay: checked row by row below.
        pass
    fields = list(step.fields) or None
    action = (
        "delete_objects"
        if collection.format == "recording"
        else ("delete_rows" if fields is None else "erase_fields")
    )
    strategies = _strategies(collection, step)
    batches = rows = 0
    pending = _pending(db, sweep_id, step)
    with db.session() as session:
        run = session.get(SystemSweep, sweep_id)
        assert run is not None
        after = run.progress.get(step.key)
    paths = [p for p in connector.due_files(collection) if after is None or p > after]
    if pending is not None:
        pending_path = _open_pending(db, keys, _org(db, sweep_id), pending[0])[0]
        paths = [pending_path] + [p for p in paths if p != pending_path]
    for path in paths:
        resumed = pending is not None and batches == 0
        entry_id = (
            pending[0]
            if resumed and pending is not None
            else _journal(db, keys, sweep_id, step, action, [path])
        )
        if held_ids or any(h.collected_from or h.collected_to for h in holds):
            erased, first, last = _files_held(
                connector, collection, path, limit, fields, holds, held_ids
            )
        else:
            erased, first, last = connector.erase_due_in(collection, path, limit, fields)
        if not erased.total and not erased.versions_deleted and not resumed:
            _drop(db, entry_id)  # nothing in this file was due: nothing to certify
            continue
        if on_stage is not None:
            on_stage("changed", batches + 1)
        _certify(
            db, keys, entry_id, step, erased, (first, last), path, resumed, holds, actor, strategies
        )
        if on_stage is not None:
            on_stage("certified", batches + 1)
        batches += 1
        rows += (
            erased.rows_deleted + max(erased.fields.values(), default=0) + erased.objects_deleted
        )
    return batches, rows


def _files_held(
    connector: Any,
    collection: CollectionMap,
    path: str,
    limit: dt.datetime,
    fields: list[str] | None,
    holds: list[LegalHold],
    held_ids: dict[int, dict[str, set[str]]],
) -> tuple[Erased, dt.datetime | None, dt.datetime | None]:
    """As `erase_due_in`, leaving out rows a hold covers (a held time range, a held person)."""
    from honorbound.systems.connectors.files import _to_time

    name = collection.retention_field
    assert name is not None
    span: list[dt.datetime] = []

    def held(row: dict[str, Any], when: dt.datetime) -> bool:
        for h in holds:
            if h.collected_from and when < h.collected_from:
                continue
            if h.collected_to and when > h.collected_to:
                continue
            if h.subject_id is not None:
                ids = held_ids.get(h.id, {})
                if not any(
                    f.identity and str(row.get(f.name)) in ids.get(f.identity, set())
                    for f in collection.fields
                ):
                    continue
            return True
        return False

    def due(row: dict[str, Any]) -> bool:
        when = _to_time(row.get(name))
        if when is None or when >= limit or held(row, when):
            return False
        span.append(when)
        return True

    result = connector._erase_where(collection, [path], due, fields)
    return result, (min(span) if span else None), (max(span) if span else None)


def _drop(db: Database, entry_id: int) -> None:
    with db.session() as session:
        entry = session.get(SystemDisposal, entry_id)
        if entry is not None:
            session.delete(entry)


def _org(db: Database, sweep_id: int) -> int:
    with db.session() as session:
        run = session.get(SystemSweep, sweep_id)
        assert run is not None
        return run.organization_id


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def disposals(session: Session, organization_id: int, limit: int = 100) -> list[SystemDisposal]:
    return list(
        session.scalars(
            select(SystemDisposal)
            .where(SystemDisposal.organization_id == organization_id)
            .order_by(SystemDisposal.id.desc())
            .limit(limit)
        )
    )
