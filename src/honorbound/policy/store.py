"""Adopted versions of an organization's declaration.

Adopting stores the YAML text, its canonical JSON and content hash as an immutable version.
Adopting the same content again returns the existing version. Records keep the id of the version
they were collected under; `purpose_allowed` answers against that version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.errors import HonorboundError
from honorbound.jobs.models import Job
from honorbound.policy.check import check_text, errors
from honorbound.policy.diff import diff_dicts
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.loader import parse_declaration
from honorbound.policy.models import PolicyVersion
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.schema import Declaration
from honorbound.policy.taxonomy import is_within

NOTIFY_JOB = "policy.notify_material_change"


class AdoptionError(HonorboundError, ValueError):
    """The declaration has errors; nothing was adopted. `problems` lists them."""

    status = 422
    title = "Declaration has errors"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def detail(self) -> str:
        first = f"; the first: {self.problems[0]}" if self.problems else ""
        return f"{len(self.problems)} problem(s){first}. Nothing was adopted."

    def errors(self) -> list[dict[str, str]]:
        return [{"field": f"line {p.line}", "message": p.message} for p in self.problems]


@dataclass(frozen=True)
class AdoptedPolicy:
    version_id: int
    number: int
    content_hash: str
    effective_date: dt.date
    declaration: Declaration
    material: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)


def document(declaration: Declaration) -> dict[str, Any]:
    """The canonical JSON form (what the API serves and the hash covers)."""
    data: dict[str, Any] = declaration.model_dump(mode="json", by_alias=True)
    return data


def content_hash(declaration: Declaration) -> str:
    canonical = json.dumps(
        document(declaration), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Versions are immutable, so parsed declarations can be cached for the life of the process
# (collection checks ask for them on every write). The key is the content hash, not the row id:
# one process may serve several databases, whose row ids overlap.
_CACHE: OrderedDict[str, Declaration] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def _declaration(row: PolicyVersion) -> Declaration:
    with _CACHE_LOCK:
        cached = _CACHE.get(row.content_hash)
        if cached is not None:
            _CACHE.move_to_end(row.content_hash)
            return cached
    declaration, _ = parse_declaration(row.source_text, f"policy version {row.number}")
    _remember(row.content_hash, declaration)
    return declaration


def _remember(digest: str, declaration: Declaration) -> None:
    with _CACHE_LOCK:
        _CACHE[digest] = declaration
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def _adopted(row: PolicyVersion) -> AdoptedPolicy:
    return AdoptedPolicy(
        version_id=row.id,
        number=row.number,
        content_hash=row.content_hash,
        effective_date=row.effective_date,
        declaration=_declaration(row),
        material=row.material,
        changes=list(row.changes or []),
    )


def current(session: Session, organization_id: int) -> AdoptedPolicy | None:
    """The organization's newest adopted version, or None when it has adopted none."""
    row = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.organization_id == organization_id)
        .order_by(PolicyVersion.number.desc())
        .limit(1)
    )
    return _adopted(row) if row else None


def unknown_state_scope(session: Session, organization_id: int) -> frozenset[str] | None:
    """The states whose strictest rules apply to the organization's people whose state is
    unknown or has no law in force (`Declaration.unknown_state_scope`); None: every state,
    also when no notice is adopted yet."""
    adopted = current(session, organization_id)
    return adopted.declaration.unknown_state_scope() if adopted else None


def get_version(session: Session, organization_id: int, version_id: int) -> AdoptedPolicy | None:
    row = session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.id == version_id, PolicyVersion.organization_id == organization_id
        )
    )
    return _adopted(row) if row else None


def versions(session: Session, organization_id: int) -> list[PolicyVersion]:
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.organization_id == organization_id)
            .order_by(PolicyVersion.number)
        )
    )


class Enqueuer(Protocol):
    def enqueue(
        self,
        session: Session,
        name: str,
        payload: dict[str, Any] | None = None,
        organization_id: int | None = None,
    ) -> Any: ...


def adoption_warnings(
    text: str, filename: str = "<declaration>", rules: JurisdictionRules | None = None
) -> list[Problem]:
    """What `policy check` warns about in `text` with the jurisdiction rules: things a privacy
    officer should look at (a response time longer than a state allows, GPC not honored where
    required), which do not block adoption. Shown by every way of adopting."""
    return [p for p in check_text(text, filename, rules) if p.severity == "warning"]


@dataclass(frozen=True)
class Prepared:
    """A declaration checked and parsed, ready to adopt: made before any transaction opens."""

    text: str
    filename: str
    declaration: Declaration
    warnings: list[Problem]


def prepare(
    text: str, filename: str = "<declaration>", rules: JurisdictionRules | None = None
) -> Prepared:
    """Check and parse `text` (bounded in size and time: see policy.yamlsource). Raises
    AdoptionError with every error. Call it before opening the unit of work that adopts: a
    parse never runs while a write transaction holds the database."""
    blocking = errors(check_text(text, filename))
    if blocking:
        raise AdoptionError(blocking)
    try:
        declaration, _ = parse_declaration(text, filename)
    except DeclarationError as exc:  # check_text passed, so this is not expected
        raise AdoptionError(exc.problems) from exc
    warnings = adoption_warnings(text, filename, rules) if rules is not None else []
    return Prepared(text, filename, declaration, warnings)


def adopt_text(
    session: Session,
    organization_id: int,
    text: str,
    actor: Actor,
    filename: str = "<declaration>",
    jobs: Enqueuer | None = None,
) -> tuple[AdoptedPolicy, bool]:
    """`prepare` then `adopt` (for callers with no transaction open yet: CLI, demo, tests)."""
    return adopt(session, organization_id, prepare(text, filename), actor, jobs)


def adopt(
    session: Session,
    organization_id: int,
    prepared: Prepared,
    actor: Actor,
    jobs: Enqueuer | None = None,
) -> tuple[AdoptedPolicy, bool]:
    """Adopt a prepared declaration.

    Returns (version, created). The changes from the previous version are stored with the new
    one; a material change queues the notice job (`policy.notify_material_change`) on `jobs`
    (sent after commit), or, without `jobs`, as a durable job row the worker's recovery sends.
    """
    text, declaration = prepared.text, prepared.declaration
    _remember(content_hash(declaration), declaration)  # so reading it back parses nothing
    digest = content_hash(declaration)
    existing = session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.organization_id == organization_id,
            PolicyVersion.content_hash == digest,
        )
    )
    if existing is not None:
        return _adopted(existing), False
    previous = current(session, organization_id)
    changes = diff_dicts(previous.declaration, declaration) if previous else []
    material = any(change["material"] for change in changes)
    row = PolicyVersion(
        organization_id=organization_id,
        number=(previous.number + 1) if previous else 1,
        content_hash=digest,
        effective_date=declaration.effective_date,
        source_text=text,
        document=document(declaration),
        adopted_by=actor.id,
        material=material,
        changes=changes,
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "policy.adopted",
        "policy_version",
        row.id,
        {
            "number": row.number,
            "content_hash": digest,
            "effective_date": declaration.effective_date.isoformat(),
            "material": material,
            "changes": len(changes),
        },
    )
    if material:
        payload = {"organization_id": organization_id, "version_id": row.id}
        if jobs is not None:
            jobs.enqueue(session, NOTIFY_JOB, payload, organization_id=organization_id)
        else:
            # Without a queue at hand the job is still stored in this transaction: the worker's
            # `jobs.recover` sends queued jobs it finds overdue, so the notice is never lost.
            session.add(Job(name=NOTIFY_JOB, payload=payload, organization_id=organization_id))
            session.flush()
    return _adopted(row), True


class _RecordLike(Protocol):
    organization_id: int
    policy_version_id: int | None
    category: str


def purpose_allowed(
    session: Session,
    record_or_version: _RecordLike | AdoptedPolicy,
    purpose: str,
    category: str | None = None,
) -> bool:
    """May this data be used for `purpose` under the notice it was collected under?

    `record_or_version` is a vault Record (its `policy_version_id` and `category` are used) or
    an AdoptedPolicy with `category`. `purpose` is a purpose id of the declaration (`support`) or
    a data use (`marketing.communications.email`; a declared parent use covers it). False means
    that version did not declare the use: it needs fresh consent. A record collected under no
    version is never allowed a purpose.
    """
    if isinstance(record_or_version, AdoptedPolicy):
        version: AdoptedPolicy | None = record_or_version
        if category is None:
            raise ValueError("purpose_allowed needs `category` when given a policy version")
    else:
        category = category or record_or_version.category
        version_id = record_or_version.policy_version_id
        version = (
            None
            if version_id is None
            else get_version(session, record_or_version.organization_id, version_id)
        )
    if version is None:
        return False
    return any(
        p.id == purpose or is_within(purpose, p.use)
        for p in version.declaration.purposes_for(category)
    )
