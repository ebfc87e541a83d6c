"""Bulk ingest of interactions: NDJSON lines in, one result per line out.

Each line is the body of `POST /v1/subjects/{id}/interactions` plus `subject_id`, and goes
through the same checks, collection gate and error wording as that endpoint; a bad line gets
its own result (status and problem) and does not stop the others. `POST /v1/interactions/bulk`
and `honorbound ingest FILE` both run `ingest` (the adapters only read bytes and write results).

Lines are taken in batches of `BATCH` lines or `BATCH_BYTES` bytes. A batch is parsed and
validated before its transaction opens (the database is not locked while the input arrives),
and its texts handed to the screening processes (`Runtime.screening`), which screen it while
the batch before is written; then, in one transaction, its subjects are read in one query, the
organization's rules once, each subject's data key and liveness once, and every line is
checked, screened (or its screening taken) and sealed in memory
(`vault.collection.prepare_interaction`). The accepted lines are
inserted in one statement and their audit entries (one `interaction.added` per interaction,
as the single endpoint writes) appended to the chain in one statement (`audit.append_many`).
A line whose text holds something the write must act on (a request the customer said, a birth
date) is written on its own with the single endpoint's code, in a savepoint, after the lines
before it. A refused line writes nothing. A subject found below the minimum age has their
erasure scheduled after the batch commits, as the single endpoint does in its own unit of work.

Results, in line order: `{"line": n, "status": 201, "id": ...}` as the single endpoint answers,
or `{"line": n, "status": 4xx, "title": ..., "detail": ..., "errors": [...]}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.audit.chain import Event, append_many
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError
from honorbound.intents.acting import Acted, act_on_interaction
from honorbound.validation import field_errors, field_path
from honorbound.vault import erasure
from honorbound.vault.bodies import BulkInteractionIn, InteractionIn
from honorbound.vault.collection import add_interaction, prepare_interaction
from honorbound.vault.keystore import KeyDestroyed
from honorbound.vault.models import Interaction, Subject
from honorbound.vault.rules import (
    CollectionRefused,
    CollectionRules,
    attachments_refused,
    current_rules,
    no_policy,
)
from honorbound.vault.screening import Screened
from honorbound.vault.subjects import BelowMinimumAge, SubjectNotFound

if TYPE_CHECKING:
    from honorbound.runtime import Runtime

# Lines per transaction, and input bytes per transaction (whichever is reached first). Larger
# batches spread the per-transaction costs (the subjects' query, the rules, the audit chain's
# head, the commit's fsync) over more lines: 200 -> 1,000 lines took the main process's CPU
# per line from 0.40-0.44 ms to 0.25-0.29 ms (the driver called in process on 5,000 lines of
# 1 KB, SQLite, screening process on, two runs each, load average 11). A larger batch holds
# the write lock longer. Memory: at most two batches of input, their bodies and sealed rows.
BATCH = 1000
BATCH_BYTES = 8 << 20
_END = object()  # the end of the input (a blank line is b"")


class LineRefused(HonorboundError):
    """Why one line (or one request body) was not stored, worded as the API's problem
    documents are: status, title, detail, the fields at fault, extra members (`rule`)."""

    status = 422  # each instance names its own

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self._detail = status, title, detail
        self._errors = errors or []
        self._extra = extra or {}

    def detail(self) -> str:
        return self._detail

    def errors(self) -> list[dict[str, str]]:
        return self._errors

    def extra(self) -> dict[str, Any]:
        return self._extra

    def result(self, line: int) -> dict[str, Any]:
        out: dict[str, Any] = {"line": line, "status": self.status, "title": self.title}
        if self._detail:
            out["detail"] = self._detail
        if self._errors:
            out["errors"] = self._errors
        return out | self._extra


def refused(exc: CollectionRefused) -> LineRefused:
    """A refusal by the declaration (or the lack of one), as the API words it."""
    return LineRefused(exc.status, exc.title, exc.detail(), exc.errors(), exc.extra())


def invalid(raw: list[Any], prefix: tuple[Any, ...]) -> LineRefused:
    errors = field_errors(raw, prefix)
    first = errors[0] if errors else {"field": field_path(prefix), "message": "is invalid"}
    return LineRefused(422, "Invalid request", f"{first['field']} {first['message']}.", errors)


def check_interaction(body: InteractionIn, field: str = "body") -> None:
    """The checks of an interaction body that need no database (single endpoint and bulk)."""
    if body.attachments:
        raise refused(attachments_refused(f"{field}.attachments"))
    if body.ended_at is not None and body.ended_at < body.started_at:
        raise LineRefused(
            422,
            "Invalid request",
            f"{field}.ended_at must not be before started_at.",
            errors=[{"field": f"{field}.ended_at", "message": "must not be before started_at"}],
        )


NO_SUBJECT = LineRefused(404, "Not found", "No subject with that id in your organization.")
ERASED = LineRefused(404, "Not found", "No such subject, or it has been erased.")


def intents_out(acted: list[Acted]) -> list[dict[str, Any]]:
    return [
        {
            "id": a.intent.id,
            "kind": a.intent.kind,
            "status": a.intent.status,
            "review_reason": a.intent.review_reason,
        }
        for a in acted
    ]


def _parse(raw: bytes | None) -> BulkInteractionIn:
    if raw is None:
        raise LineRefused(413, "Line too large", "The line is longer than the body size limit.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise LineRefused(
            400,
            "Line is not valid JSON",
            "The line could not be parsed as JSON.",
            errors=[{"field": "line", "message": "is not valid JSON"}],
        ) from None
    try:
        body = BulkInteractionIn.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc.errors(include_url=False, include_input=False), ("line",)) from None
    check_interaction(body, "line")
    return body


def _stored(
    line: int, interaction_id: int, subject_id: int, findings: dict[str, int], kept: bool,
    intents: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    # The single endpoint's InteractionOut, field for field (gpc: bulk carries no GPC signal).
    return {
        "line": line,
        "status": 201,
        "id": interaction_id,
        "subject_id": subject_id,
        "findings": findings,
        "original_kept": kept,
        "gpc": None,
        "intents": intents,
    }


def _insert_returning_ids(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """The new interactions' ids, in the order of `rows`.

    On SQLite the transaction holds the database's write lock from its BEGIN IMMEDIATE, so no
    other writer inserts between these statements, and each new rowid is the highest one plus
    one: the new rows are those above the highest id before, in insertion order. One plain
    executemany and one read of the ids cost half of an INSERT ... RETURNING, which SQLAlchemy
    renders there as multi-row VALUES with a bind per value. Elsewhere RETURNING keeps the
    order itself (PostgreSQL: one statement, ordered by a sentinel)."""
    table = cast(Table, Interaction.__table__)
    if session.get_bind().dialect.name == "sqlite":
        before = session.scalar(select(func.max(table.c.id))) or 0
        session.execute(insert(table), rows)
        ids = list(
            session.scalars(select(table.c.id).where(table.c.id > before).order_by(table.c.id))
        )
        if len(ids) != len(rows):  # pragma: no cover - only if the lock did not hold
            raise RuntimeError("bulk ingest: another writer inserted interactions meanwhile")
        return ids
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


_Parsed = BulkInteractionIn | LineRefused


@dataclass
class _Pending:
    """Accepted lines of a batch not yet inserted: their rows, audit details, result slots."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    slots: list[tuple[int, int, int, dict[str, int], bool]] = field(default_factory=list)

    def write(self, session: Session, organization_id: int, actor: Actor,
              results: list[dict[str, Any] | None]) -> None:  # fmt: skip
        if not self.rows:
            return
        ids = _insert_returning_ids(session, self.rows)
        events = []
        for interaction_id, row, (index, line, subject_id, findings, kept) in zip(
            ids, self.rows, self.slots, strict=True
        ):
            events.append(
                Event(
                    actor,
                    "interaction.added",
                    "interaction",
                    interaction_id,
                    {
                        "subject_id": subject_id,
                        "channel": row["channel"],
                        "findings": findings,
                        "original_kept": kept,
                    },
                )  # fmt: skip
            )
            results[index] = _stored(line, interaction_id, subject_id, findings, kept, [])
        append_many(session, organization_id, events)
        self.rows, self.slots = [], []


def _full(
    session: Session, runtime: Runtime, organization_id: int, actor: Actor, subject: Subject,
    body: BulkInteractionIn, rules: CollectionRules, line: int,
) -> dict[str, Any]:  # fmt: skip
    """One line the way the single endpoint stores it (add_interaction, then the acts on what
    the customer said), in a savepoint so a refusal leaves the batch intact."""
    from honorbound.rights.jobs import services as rights_services

    savepoint = session.begin_nested()
    try:
        added = add_interaction(session, runtime.vault_keys, organization_id, subject.id,
                                body.new_interaction(), actor, rules)  # fmt: skip
        acted = act_on_interaction(session, rights_services(runtime), subject, added.interaction,
                                   body.text or "", added.intents, actor)  # fmt: skip
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return _stored(line, added.interaction.id, subject.id, added.findings, added.original_kept,
                   intents_out(acted))  # fmt: skip


def _parse_all(batch: list[tuple[int, bytes | None]]) -> list[tuple[int, _Parsed]]:
    parsed: list[tuple[int, _Parsed]] = []
    for line, raw in batch:
        try:
            parsed.append((line, _parse(raw)))
        except LineRefused as exc:
            parsed.append((line, exc))
    return parsed


def _subjects(session: Session, organization_id: int, wanted: set[int]) -> dict[int, Subject]:
    if not wanted:
        return {}
    query = select(Subject).where(Subject.organization_id == organization_id,
                                  Subject.id.in_(wanted))  # fmt: skip
    return {s.id: s for s in session.scalars(query)}


@dataclass
class _Lines:
    """One batch's transaction: its subjects and rules, read once; each subject's data key
    and liveness check, once; the accepted lines waiting for their insert; the results."""

    runtime: Runtime
    session: Session
    organization_id: int
    actor: Actor
    subjects: dict[int, Subject]
    rules: CollectionRules | None
    results: list[dict[str, Any] | None]
    pending: _Pending = field(default_factory=_Pending)
    # Each line's screening, by index, when it was done ahead in other processes.
    screened: dict[int, Screened] | None = None
    deks: dict[int, bytes] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    minors: list[int] = field(default_factory=list)

    def data_key(self, subject: Subject) -> bytes:
        if subject.id not in self.deks:
            self.deks[subject.id] = self.runtime.vault_keys.data_key(
                self.organization_id, subject.key_id
            )
        return self.deks[subject.id]

    def flush(self) -> None:
        self.pending.write(self.session, self.organization_id, self.actor, self.results)

    def take(self, index: int, line: int, body: _Parsed) -> None:
        """Line `index` of the batch stored (now or with the batch) or answered refused."""
        try:
            self._take(index, line, body)
        except LineRefused as exc:
            self.results[index] = exc.result(line)
        except BelowMinimumAge as exc:
            if exc.subject_id is not None:
                self.minors.append(exc.subject_id)
                exc.subject_id = None
            self.results[index] = refused(exc).result(line)
        except CollectionRefused as exc:
            self.results[index] = refused(exc).result(line)
        except (SubjectNotFound, KeyDestroyed):
            self.results[index] = ERASED.result(line)

    def _take(self, index: int, line: int, body: _Parsed) -> None:
        if isinstance(body, LineRefused):
            raise body
        subject = self.subjects.get(body.subject_id)
        if subject is None:
            raise NO_SUBJECT
        if self.rules is None:
            raise refused(no_policy())
        ahead = self.screened.get(index) if self.screened is not None else None
        prepared = prepare_interaction(
            self.runtime.vault_keys, subject, body.new_interaction(), self.rules, self.data_key,
            utcnow(), self.live, (lambda _text: ahead) if ahead is not None else None,
        )  # fmt: skip
        if prepared is None:
            # Written on its own, after the lines before it; it may change the subject (a
            # birth date learned), so their liveness is checked again on their next line.
            self.flush()
            self.live.discard(subject.id)
            self.results[index] = _full(self.session, self.runtime, self.organization_id,
                                        self.actor, subject, body, self.rules, line)  # fmt: skip
            return
        self.pending.rows.append(prepared.row)
        self.pending.slots.append(
            (index, line, subject.id, prepared.findings, prepared.original_kept)
        )


@dataclass
class _ParsedBatch:
    """A batch parsed, its texts' screening started (in other processes, or None)."""

    lines: list[tuple[int, _Parsed]]
    texts: list[int]  # the indexes of the lines whose text is being screened
    screening: Callable[[], list[Screened]] | None

    @classmethod
    def of(cls, runtime: Runtime, batch: list[tuple[int, bytes | None]]) -> _ParsedBatch:
        lines = _parse_all(batch)
        texts = [i for i, (_, b) in enumerate(lines)
                 if isinstance(b, BulkInteractionIn) and b.text is not None]  # fmt: skip
        started = runtime.screening.submit(
            [cast(BulkInteractionIn, lines[i][1]).text or "" for i in texts]
        )
        return cls(lines, texts, started)

    def screened(self) -> dict[int, Screened] | None:
        if self.screening is None:
            return None
        return dict(zip(self.texts, self.screening(), strict=True))


def _batch(
    runtime: Runtime, organization_id: int, actor: Actor, batch: _ParsedBatch, out: IO[bytes]
) -> None:
    """In one transaction read the subjects and rules, take each line, insert the accepted
    ones; then answer, then schedule the erasure of any subject found below the minimum age
    (each in its own unit of work)."""
    parsed = batch.lines
    wanted = {b.subject_id for _, b in parsed if isinstance(b, BulkInteractionIn)}
    screened = batch.screened()
    with runtime.db.session() as session:
        subjects = _subjects(session, organization_id, wanted)
        rules = current_rules(session, organization_id, runtime.rules) if subjects else None
        lines = _Lines(runtime, session, organization_id, actor, subjects, rules,
                       [None] * len(parsed), screened=screened)  # fmt: skip
        for index, (line, body) in enumerate(parsed):
            lines.take(index, line, body)
        lines.flush()
    for result in lines.results:  # one write per result: the CLI counts them as they pass
        out.write(json.dumps(result, separators=(",", ":")).encode() + b"\n")
    for subject_id in sorted(set(lines.minors)):
        with runtime.db.session() as session:
            erasure.schedule_erasure(session, runtime.jobs, organization_id, subject_id, actor,
                                     "minimum_age")  # fmt: skip


def _batches(lines: Iterator[bytes | None]) -> Iterator[list[tuple[int, bytes | None]]]:
    """Numbered non-blank lines, `BATCH` lines or `BATCH_BYTES` bytes at a time."""
    number = 0
    exhausted = False
    while not exhausted:
        batch: list[tuple[int, bytes | None]] = []
        size = 0
        while len(batch) < BATCH and size < BATCH_BYTES:
            item = next(lines, _END)
            if item is _END:
                exhausted = True
                break
            number += 1
            raw: bytes | None = item  # type: ignore[assignment]
            if raw is not None and not raw.strip():
                continue  # blank lines are allowed between records
            batch.append((number, raw))
            size += len(raw) if raw is not None else 0
        if batch:
            yield batch


def ingest(
    runtime: Runtime,
    organization_id: int,
    actor: Actor,
    lines: Iterator[bytes | None],
    results: IO[bytes],
) -> None:
    """Every line of `lines` stored or refused, one NDJSON result per non-blank line written
    to `results` in order. None in `lines` stands for a line over the size limit
    (`vault.ndjson.split_lines`).

    A batch closes at `BATCH` lines or `BATCH_BYTES` bytes of input, whichever comes first.
    Each batch is read and parsed, and its texts handed to the screening processes
    (`Runtime.screening`), before the batch before it is written: screening one batch
    overlaps the database work of the other. At most two batches are held at a time."""
    ahead: _ParsedBatch | None = None
    for batch in _batches(lines):
        parsed = _ParsedBatch.of(runtime, batch)
        if ahead is not None:
            _batch(runtime, organization_id, actor, ahead, results)
        ahead = parsed
    if ahead is not None:
        _batch(runtime, organization_id, actor, ahead, results)
