"""One person's rights request carried out in every connected system.

`gather` (access) and `erase` (deletion) start from the person's identities (the vault's and
the contact the request gave), follow the maps' references through SQL and file systems until
nothing new is found, then ask webhook systems and open tasks for manual ones. Each system's
outcome is a `SystemExecution` row and an entry in the request's timeline (and so the audit
chain): what was done, with counts (rows deleted, values rewritten, objects and versions
deleted), never values. A system that fails is recorded with the error and the others go on; the
request is complete only when every system is done.

The values found on the way (customer ids, emails) are kept sealed with the request
(`RequestIdentities`) until it closes, so a retry finds the person in a system that failed even
after another system (or the vault) has already erased the rows that led there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.db.base import utcnow
from honorbound.rights.models import RightsRequest
from honorbound.rights.sealing import open_value, seal_value
from honorbound.rights.timeline import log_event
from honorbound.systems import graph, registry
from honorbound.systems.connectors import open_connector
from honorbound.systems.connectors.base import Erased, Lookup, Row
from honorbound.systems.context import SystemsContext
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import SystemMap
from honorbound.systems.models import RequestIdentities, SystemExecution
from honorbound.vault.models import Identity, Subject
from honorbound.vault.sealing import open_text

ACCESS = "access"
ERASURE = "erasure"
MAX_ROUNDS = 20
CALLBACK_PATH = "/v1/public/systems/callbacks/"


@dataclass
class Outcome:
    systems: int = 0
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    found: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed and not self.waiting


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the request's sealed state ---------------------------------------------------------------
def _state(session: Session, keys: Any, request: RightsRequest) -> dict[str, Any]:
    row = session.get(RequestIdentities, request.id)
    if row is None:
        return {"identities": {}, "known": {}}
    value: dict[str, Any] = open_value(
        keys, request.organization_id, request.reference, "systems", row.sealed
    )
    return value


def _save_state(session: Session, keys: Any, request: RightsRequest, state: dict[str, Any]) -> None:
    sealed = seal_value(keys, request.organization_id, request.reference, "systems", state)
    row = session.get(RequestIdentities, request.id)
    if row is None:
        session.add(
            RequestIdentities(
                request_id=request.id, organization_id=request.organization_id, sealed=sealed
            )
        )
    else:
        row.sealed = sealed
    session.flush()


def remember_identities(
    session: Session, keys: Any, request: RightsRequest, identities: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Merge the identities known now into the request's sealed state; returns them all."""
    state = _state(session, keys, request)
    merged: dict[str, set[str]] = {k: set(v) for k, v in state["identities"].items()}
    for kind, values in identities.items():
        merged.setdefault(kind, set()).update(v for v in values if v)
    state["identities"] = {k: sorted(v) for k, v in merged.items()}
    _save_state(session, keys, request, state)
    return merged


def forget(session: Session, request: RightsRequest) -> None:
    """The request is closed: drop the identities and values kept for retries."""
    session.execute(delete(RequestIdentities).where(RequestIdentities.request_id == request.id))


def identities_of(
    session: Session, vault_keys: Any, subject: Subject | None
) -> dict[str, set[str]]:
    """The identities the vault holds for a person (opened with their key), by kind."""
    out: dict[str, set[str]] = {}
    if subject is None:
        return out
    dek = vault_keys.data_key(subject.organization_id, subject.key_id)
    for identity in session.scalars(select(Identity).where(Identity.subject_id == subject.id)):
        value = open_text(
            dek,
            subject.organization_id,
            subject.key_id,
            f"identity:{identity.kind}",
            identity.value_sealed,
        )
        out.setdefault(identity.kind, set()).add(value)
    return out


def has_systems(session: Session, organization_id: int) -> bool:
    return bool(registry.rows(session, organization_id))


# -- executions -------------------------------------------------------------------------------
def _execution(
    session: Session, request: RightsRequest, system: str, action: str
) -> SystemExecution:
    row = session.scalar(
        select(SystemExecution).where(
            SystemExecution.request_id == request.id,
            SystemExecution.system_key == system,
            SystemExecution.action == action,
        )
    )
    if row is None:
        key = hashlib.sha256(f"{request.reference}:{system}:{action}".encode()).hexdigest()[:40]
        row = SystemExecution(
            organization_id=request.organization_id,
            request_id=request.id,
            system_key=system,
            action=action,
            status="pending",
            attempts=0,
            details={},
            idempotency_key=key,
        )
        session.add(row)
        session.flush()
    return row


def executions(session: Session, request: RightsRequest) -> list[SystemExecution]:
    return list(
        session.scalars(
            select(SystemExecution)
            .where(SystemExecution.request_id == request.id)
            .order_by(SystemExecution.system_key, SystemExecution.action)
        )
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _rows_out(rows: list[Row]) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in r.items()} for r in rows]


# -- the search -------------------------------------------------------------------------------
@dataclass
class _Search:
    systems: list[SystemMap]
    connectors: dict[str, Any]
    failed: dict[str, str]
    known: dict[graph.FieldKey, set[Any]]
    rows: dict[graph.CollectionKey, list[Row]] = field(default_factory=dict)
    order: list[graph.CollectionKey] = field(default_factory=list)
    used: dict[graph.CollectionKey, Lookup] = field(default_factory=dict)


def _known_from_state(state: dict[str, Any]) -> dict[graph.FieldKey, set[Any]]:
    out: dict[graph.FieldKey, set[Any]] = {}
    for key, values in state.get("known", {}).items():
        s, c, f = key.split("|", 2)
        out[(s, c, f)] = set(values)
    return out


def _known_to_state(known: dict[graph.FieldKey, set[Any]]) -> dict[str, list[Any]]:
    return {
        "|".join(k): sorted({_jsonable(v) for v in vals}, key=str)
        for k, vals in known.items()
        if vals
    }


def _search(
    systems: list[SystemMap],
    ctx: SystemsContext,
    organization_id: int,
    identities: dict[str, set[str]],
    known: dict[graph.FieldKey, set[Any]],
) -> _Search:
    settings = ctx.connector_settings(organization_id)
    search = _Search(systems, {}, {}, {k: set(v) for k, v in known.items()})
    for key, kind in graph.identity_fields(systems):
        search.known.setdefault(key, set()).update(identities.get(kind, set()))
    for s in systems:
        try:
            search.connectors[s.key] = open_connector(s, settings, ctx.environ)
        except SystemsError as exc:
            search.failed[s.key] = str(exc)
    by_source: dict[graph.CollectionKey, list[graph.Edge]] = {}
    for e in graph.edges(systems):
        by_source.setdefault(e.source[:2], []).append(e)
    lookups = graph.lookup_fields(systems)
    queried: dict[graph.FieldKey, set[Any]] = {}
    seen_rows: dict[graph.CollectionKey, set[str]] = {}
    for _ in range(MAX_ROUNDS):
        progress = False
        for s in systems:
            if s.type not in ("sql", "files") or s.key in search.failed:
                continue
            connector = search.connectors[s.key]
            for c in s.collections:
                ckey = (s.key, c.name)
                lookup: Lookup = {}
                for name in sorted(lookups.get(ckey, set())):
                    fkey = (s.key, c.name, name)
                    new = search.known.get(fkey, set()) - queried.get(fkey, set())
                    if new:
                        lookup[name] = new
                if not lookup:
                    continue
                try:
                    found = connector.find(c, lookup)
                except SystemsError as exc:
                    search.failed[s.key] = str(exc)
                    break
                for name, values in lookup.items():
                    queried.setdefault((s.key, c.name, name), set()).update(values)
                    search.used.setdefault(ckey, {}).setdefault(name, set()).update(values)
                if ckey not in search.order:
                    search.order.append(ckey)
                marks = seen_rows.setdefault(ckey, set())
                for row in found:
                    mark = json.dumps(_rows_out([row])[0], sort_keys=True)
                    if mark in marks:
                        continue
                    marks.add(mark)
                    search.rows.setdefault(ckey, []).append(row)
                    for e in by_source.get(ckey, []):
                        value = row.get(e.source[2])
                        if value is not None and value != "":
                            before = len(search.known.setdefault(e.target, set()))
                            search.known[e.target].add(value)
                            progress = progress or len(search.known[e.target]) > before
                progress = True
        if not progress:
            break
    return search


def _ends_lookups(search: _Search, system: SystemMap) -> dict[str, dict[str, set[Any]]]:
    """Lookups for a webhook or manual system: every value known for its lookup fields."""
    out: dict[str, dict[str, set[Any]]] = {}
    lookups = graph.lookup_fields(search.systems)
    for c in system.collections:
        for name in lookups.get((system.key, c.name), set()):
            values = search.known.get((system.key, c.name, name), set())
            if values:
                out.setdefault(c.name, {})[name] = set(values)
    return out


def _close_all(search: _Search) -> None:
    for connector in search.connectors.values():
        with contextlib.suppress(Exception):  # closing must not hide the outcome
            connector.close()


# -- access -----------------------------------------------------------------------------------
def gather(
    session: Session,
    ctx: SystemsContext,
    keys: Any,
    request: RightsRequest,
    identities: dict[str, set[str]],
    actor: Actor,
) -> Outcome:
    """Collect what every connected system holds about the person into sealed results that the
    access package includes. Systems already done for this request are not asked again."""
    return _run(session, ctx, keys, request, identities, actor, ACCESS)


def erase(
    session: Session,
    ctx: SystemsContext,
    keys: Any,
    request: RightsRequest,
    identities: dict[str, set[str]],
    actor: Actor,
) -> Outcome:
    """Erase the person in every connected system, each field by its strategy."""
    return _run(session, ctx, keys, request, identities, actor, ERASURE)


def _run(
    session: Session,
    ctx: SystemsContext,
    keys: Any,
    request: RightsRequest,
    identities: dict[str, set[str]],
    actor: Actor,
    action: str,
) -> Outcome:
    from honorbound.systems import tasks  # tasks import rights verification (queueing)

    org = request.organization_id
    outcome = Outcome()
    try:
        systems = registry.connected(session, org)
    except SystemsError as exc:
        outcome.failed[exc.system] = str(exc)
        return outcome
    outcome.systems = len(systems)
    if not systems:
        return outcome
    all_ids = remember_identities(session, keys, request, identities)
    state = _state(session, keys, request)
    search = _search(systems, ctx, org, all_ids, _known_from_state(state))
    try:
        state["known"] = _known_to_state(search.known)
        _save_state(session, keys, request, state)
        order = search.order if action == ACCESS else graph.erase_order(search.order)
        for s in systems:
            execution = _execution(session, request, s.key, action)
            if execution.status == "done":
                outcome.done.append(s.key)
                outcome.found = outcome.found or bool(execution.details.get("found"))
                continue
            execution.attempts += 1
            execution.updated_at = utcnow()
            try:
                if s.key in search.failed:
                    raise _Failed(search.failed[s.key])
                if s.type in ("sql", "files"):
                    details = _direct(session, keys, request, s, search, order, action, execution)
                    _done(session, request, execution, details, actor, action)
                elif s.type == "webhook":
                    lookups = _ends_lookups(search, s)
                    if not lookups:
                        _done(session, request, execution, {"found": False}, actor, action)
                    else:
                        answered = _webhook(
                            session, ctx, keys, request, s, search, execution, lookups, action
                        )
                        if answered is None:
                            _waiting(session, request, execution, actor, "accepted a long job")
                        else:
                            _done(session, request, execution, answered, actor, action)
                else:
                    lookups = _ends_lookups(search, s)
                    if not lookups:
                        _done(session, request, execution, {"found": False}, actor, action)
                    else:
                        task = tasks.open_task(
                            session, keys, request, s, execution, action, lookups
                        )
                        if task.status == "done":
                            _done(
                                session,
                                request,
                                execution,
                                {"found": True, "task_id": task.id},
                                actor,
                                action,
                            )
                        else:
                            _waiting(
                                session,
                                request,
                                execution,
                                actor,
                                f"task {task.id} for {task.owner}",
                            )
            except (_Failed, SystemsError) as exc:
                _failed(session, request, execution, str(exc), actor, action)
            if execution.status == "done":
                outcome.done.append(s.key)
                outcome.found = outcome.found or bool(execution.details.get("found"))
            elif execution.status == "waiting":
                outcome.waiting.append(s.key)
            else:
                outcome.failed[s.key] = execution.error or "failed"
    finally:
        _close_all(search)
    return outcome


class _Failed(Exception):
    pass


def _direct(
    session: Session,
    keys: Any,
    request: RightsRequest,
    system: SystemMap,
    search: _Search,
    order: list[graph.CollectionKey],
    action: str,
    execution: SystemExecution,
) -> dict[str, Any]:
    connector = search.connectors[system.key]
    mine = [k for k in order if k[0] == system.key]
    if action == ACCESS:
        collections = {c: _rows_out(search.rows.get((system.key, c), [])) for _, c in mine}
        collections = {c: rows for c, rows in collections.items() if rows}
        execution.result_sealed = seal_value(
            keys,
            request.organization_id,
            request.reference,
            f"systems:{system.key}",
            {"collections": collections},
        )
        return {
            "found": bool(collections),
            "collections": {c: len(rows) for c, rows in collections.items()},
        }
    result: dict[str, Any] = {}
    found = False
    for _, name in mine:
        collection = system.collection(name)
        assert collection is not None
        lookup = search.used.get((system.key, name), {})
        if not search.rows.get((system.key, name)):
            continue
        found = True
        erased: Erased = connector.erase(collection, lookup)
        result[name] = erased.as_dict()
    return {"found": found, "collections": result}


def _webhook(
    session: Session,
    ctx: SystemsContext,
    keys: Any,
    request: RightsRequest,
    system: SystemMap,
    search: _Search,
    execution: SystemExecution,
    lookups: dict[str, dict[str, set[Any]]],
    action: str,
) -> dict[str, Any] | None:
    connector = search.connectors[system.key]
    token = ctx.callback_token(execution.id)
    execution.callback_hash = token_hash(token)
    callback = ctx.base_url.rstrip("/") + CALLBACK_PATH + token
    answer = connector.call(action, execution.idempotency_key, lookups, callback)
    if answer.status == "accepted":
        execution.details = {**execution.details, "accepted": True, "attempts": answer.attempts}
        return None
    return webhook_details(keys, request, system, execution, action, answer)


def webhook_details(
    keys: Any,
    request: RightsRequest,
    system: SystemMap,
    execution: SystemExecution,
    action: str,
    answer: Any,
) -> dict[str, Any]:
    if action == ACCESS:
        collections = {c: _rows_out(rows) for c, rows in answer.collections.items() if rows}
        execution.result_sealed = seal_value(
            keys,
            request.organization_id,
            request.reference,
            f"systems:{system.key}",
            {"collections": collections},
        )
        return {
            "found": bool(collections),
            "collections": {c: len(r) for c, r in collections.items()},
        }
    affected = {c: e.as_dict() for c, e in answer.affected.items()}
    return {"found": any(e.total for e in answer.affected.values()), "collections": affected}


def _done(
    session: Session,
    request: RightsRequest,
    execution: SystemExecution,
    details: dict[str, Any],
    actor: Actor,
    action: str,
) -> None:
    execution.status = "done"
    execution.error = None
    execution.details = details
    execution.finished_at = utcnow()
    log_event(
        session,
        request,
        "system_erased" if action == ERASURE else "system_gathered",
        actor,
        {"system": execution.system_key, "attempt": execution.attempts, **details},
    )


def _failed(
    session: Session,
    request: RightsRequest,
    execution: SystemExecution,
    error: str,
    actor: Actor,
    action: str,
) -> None:
    execution.status = "failed"
    execution.error = error[:1000]
    log_event(
        session,
        request,
        "system_failed",
        actor,
        {
            "system": execution.system_key,
            "action": action,
            "attempt": execution.attempts,
            "error": error[:500],
        },
    )


def _waiting(
    session: Session, request: RightsRequest, execution: SystemExecution, actor: Actor, why: str
) -> None:
    first = execution.status != "waiting"
    execution.status = "waiting"
    execution.error = None
    if first:
        log_event(
            session,
            request,
            "system_waiting",
            actor,
            {"system": execution.system_key, "action": execution.action, "why": why},
        )


# -- the package ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SystemPart:
    key: str
    name: str
    collections: dict[str, list[dict[str, Any]]]
    categories: dict[str, dict[str, tuple[str, ...]]]  # collection -> field -> categories
    evidence: list[tuple[str, bytes]]


def package_parts(session: Session, keys: Any, request: RightsRequest) -> list[SystemPart]:
    """What the connected systems gave for this access request (for `rights.package`)."""
    from honorbound.systems import tasks

    done = [e for e in executions(session, request) if e.action == ACCESS and e.status == "done"]
    if not done:
        return []
    maps = {s.key: s for s in registry.connected(session, request.organization_id)}
    parts = []
    for e in done:
        system = maps.get(e.system_key)
        collections: dict[str, list[dict[str, Any]]] = {}
        if e.result_sealed is not None:
            opened = open_value(
                keys,
                request.organization_id,
                request.reference,
                f"systems:{e.system_key}",
                e.result_sealed,
            )
            collections = opened.get("collections", {})
        categories = (
            {c.name: {f.name: f.categories for f in c.fields} for c in system.collections}
            if system
            else {}
        )
        evidence = tasks.evidence_files(session, keys, request, e)
        parts.append(
            SystemPart(
                e.system_key,
                system.name if system else e.system_key,
                collections,
                categories,
                evidence,
            )
        )
    return parts


# -- webhook callbacks ------------------------------------------------------------------------
class CallbackError(SystemsError):
    pass


def receive_callback(
    session: Session,
    svc: Any,
    token: str,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
) -> SystemExecution:
    """A webhook system reports a long job's result. Checked: the token names an execution
    waiting for it, the signature (the system's secret) and freshness, the body's protocol."""
    from honorbound.systems import protocol
    from honorbound.systems.connectors.webhook import WebhookAnswer, parse_result
    from honorbound.systems.secrets import signing_secret

    if not token or len(token) > 128:
        raise CallbackError("callback", "unknown callback", "token", 404)
    execution = session.scalar(
        select(SystemExecution).where(SystemExecution.callback_hash == token_hash(token))
    )
    if execution is None:
        raise CallbackError("callback", "unknown callback", "token", 404)
    request = session.get(RightsRequest, execution.request_id)
    assert request is not None
    system = next(
        (
            s
            for s in registry.connected(session, request.organization_id)
            if s.key == execution.system_key
        ),
        None,
    )
    if system is None:
        raise CallbackError(
            execution.system_key, "the system is no longer connected", "system", 409
        )
    problem = protocol.verify(
        signing_secret(system, svc.systems.environ), timestamp, signature_header, body
    )
    if problem is not None:
        raise CallbackError(system.key, problem, "signature", 401)
    if execution.status == "done":
        return execution  # a repeated callback changes nothing
    answer: WebhookAnswer = parse_result(system, execution.action, execution.idempotency_key, body)
    if answer.status != "done":
        return execution
    details = webhook_details(svc.keys, request, system, execution, execution.action, answer)
    _done(
        session,
        request,
        execution,
        details,
        Actor(f"system:{system.key}", "system"),
        execution.action,
    )
    return execution
