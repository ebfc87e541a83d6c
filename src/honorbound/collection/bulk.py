"""Bulk ingest of interactions: NDJSON lines in, one result per line out.

Each line is the body of `POST /v1/subjects/{id}/interactions` plus `subject_id`, and goes
through the same checks, collection gate and error wording as that endpoint; a bad line gets
its own result (status and problem) and does not stop the others. `POST /v1/interactions/bulk`
and `honorbound ingest FILE` both run `ingest` (the adapters only read bytes and write results).

Lines are taken in batches of `BATCH`. A batch is parsed and validated before its transaction
opens (the database is not locked while the input arrives); then, in one transaction, its
subjects are read in one query, the organization's rules once, and every line is checked,
screened and sealed in memory (`vault.collection.prepare_interaction`). The accepted lines are
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, insert, select
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
from honorbound.vault.subjects import BelowMinimumAge, SubjectNotFound

if TYPE_CHECKING:
    from honorbound.runtime import Runtime

BATCH = 200
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
    """The new interactions' ids, in the order of `rows`. On SQLite the transaction holds the
    database's write lock and rowids are handed out in increasing order as rows are inserted,
    so the returned ids sorted are the rows' ids in order; asking SQLAlchemy to keep the order
    there instead runs one INSERT per row (twice the cost of the whole write). Elsewhere it
    keeps the order itself (PostgreSQL: one statement, ordered by a sentinel)."""
    table = cast(Table, Interaction.__table__)
    if session.get_bind().dialect.name == "sqlite":
        return sorted(session.execute(insert(table).returning(table.c.id), rows).scalars())
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


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


def _batch(
    runtime: Runtime, organization_id: int, actor: Actor,
    batch: list[tuple[int, bytes | None]], out: IO[bytes],
) -> None:  # fmt: skip
    parsed: list[tuple[int, BulkInteractionIn | LineRefused]] = []
    for line, raw in batch:
        try:
            parsed.append((line, _parse(raw)))
        except LineRefused as exc:
            parsed.append((line, exc))
    results: list[dict[str, Any] | None] = [None] * len(parsed)
    minors: list[int] = []
    wanted = {b.subject_id for _, b in parsed if isinstance(b, BulkInteractionIn)}
    keys = runtime.vault_keys
    with runtime.db.session() as session:
        subjects: dict[int, Subject] = {}
        if wanted:
            subjects = {
                s.id: s
                for s in session.scalars(
                    select(Subject).where(
                        Subject.organization_id == organization_id, Subject.id.in_(wanted)
                    )
                )
            }
        rules = current_rules(session, organization_id, runtime.rules) if subjects else None
        deks: dict[int, bytes] = {}

        def data_key(subject: Subject) -> bytes:
            if subject.id not in deks:
                deks[subject.id] = keys.data_key(organization_id, subject.key_id)
            return deks[subject.id]

        pending = _Pending()
        for index, (line, body) in enumerate(parsed):
            try:
                if isinstance(body, LineRefused):
                    raise body
                subject = subjects.get(body.subject_id)
                if subject is None:
                    raise NO_SUBJECT
                if rules is None:
                    raise refused(no_policy())
                prepared = prepare_interaction(
                    keys, subject, body.new_interaction(), rules, data_key, utcnow()
                )
                if prepared is None:
                    pending.write(session, organization_id, actor, results)
                    results[index] = _full(
                        session, runtime, organization_id, actor, subject, body, rules, line
                    )
                    continue
                pending.rows.append(prepared.row)
                pending.slots.append(
                    (index, line, subject.id, prepared.findings, prepared.original_kept)
                )
            except LineRefused as exc:
                results[index] = exc.result(line)
            except BelowMinimumAge as exc:
                if exc.subject_id is not None:
                    minors.append(exc.subject_id)
                    exc.subject_id = None
                results[index] = refused(exc).result(line)
            except CollectionRefused as exc:
                results[index] = refused(exc).result(line)
            except (SubjectNotFound, KeyDestroyed):
                results[index] = ERASED.result(line)
        pending.write(session, organization_id, actor, results)
    for result in results:
        out.write(json.dumps(result, separators=(",", ":")).encode() + b"\n")
    for subject_id in sorted(set(minors)):
        with runtime.db.session() as session:
            erasure.schedule_erasure(session, runtime.jobs, organization_id, subject_id, actor,
                                     "minimum_age")  # fmt: skip


def ingest(
    runtime: Runtime,
    organization_id: int,
    actor: Actor,
    lines: Iterator[bytes | None],
    results: IO[bytes],
) -> None:
    """Every line of `lines` stored or refused, one NDJSON result per non-blank line written
    to `results` in order. None in `lines` stands for a line over the size limit
    (`vault.ndjson.split_lines`)."""
    number = 0
    exhausted = False
    while not exhausted:
        batch: list[tuple[int, bytes | None]] = []
        while len(batch) < BATCH:
            item = next(lines, _END)
            if item is _END:
                exhausted = True
                break
            number += 1
            raw: bytes | None = item  # type: ignore[assignment]
            if raw is not None and not raw.strip():
                continue  # blank lines are allowed between records
            batch.append((number, raw))
        if batch:
            _batch(runtime, organization_id, actor, batch, results)
