"""The systems an organization has connected: one row per dataset map, stored as the Fides YAML
it was given (which names where secrets are, never a secret: `check` refuses a password)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.policy.problems import DeclarationError
from honorbound.systems.check import check_text, errors
from honorbound.systems.errors import MapError
from honorbound.systems.maps import SystemMap, load_text
from honorbound.systems.models import ConnectedSystem


def connected(session: Session, organization_id: int) -> list[SystemMap]:
    """Every connected system's map, in key order."""
    rows = session.scalars(
        select(ConnectedSystem)
        .where(ConnectedSystem.organization_id == organization_id)
        .order_by(ConnectedSystem.key)
    )
    out: list[SystemMap] = []
    for row in rows:
        try:
            out.extend(load_text(row.map_text, f"system:{row.key}"))
        except DeclarationError as exc:  # stored maps were checked; a newer version may differ
            raise MapError(row.key, "the stored map no longer loads", exc.problems) from None
    return out


def rows(session: Session, organization_id: int) -> list[ConnectedSystem]:
    return list(
        session.scalars(
            select(ConnectedSystem)
            .where(ConnectedSystem.organization_id == organization_id)
            .order_by(ConnectedSystem.key)
        )
    )


@dataclass(frozen=True)
class CheckedMap:
    """A map checked and parsed, each dataset with the YAML to store: made before any write
    transaction opens (no parse holds the database)."""

    file: str
    datasets: list[tuple[SystemMap, str]]


def check_map(text: str, file: str, connected_now: list[SystemMap]) -> CheckedMap:
    """Check a map against the systems connected now (`connected`, read beforehand). Raises
    `MapError` with every problem when the map has errors."""
    try:
        systems = load_text(text, file)
    except DeclarationError as exc:
        raise MapError(file, f"the map has {len(exc.problems)} error(s)", exc.problems) from None
    incoming = {s.key for s in systems}
    others = [o for o in connected_now if o.key not in incoming]
    problems = errors(check_text(text, file, known=others))
    if problems:
        raise MapError(file, f"the map has {len(problems)} error(s)", problems)
    raw = yaml.safe_load(text)  # checked above: bounded, no aliases
    docs = [
        yaml.safe_dump({"dataset": [raw["dataset"][s.index]]}, sort_keys=False) for s in systems
    ]
    return CheckedMap(file, list(zip(systems, docs, strict=True)))


def connect(
    session: Session, organization_id: int, checked: CheckedMap, actor: Actor
) -> list[ConnectedSystem]:
    """Store each dataset of a checked map (replacing a system of the same key)."""
    stored = []
    for s, doc in checked.datasets:
        row = session.scalar(
            select(ConnectedSystem).where(
                ConnectedSystem.organization_id == organization_id, ConnectedSystem.key == s.key
            )
        )
        if row is None:
            row = ConnectedSystem(organization_id=organization_id, key=s.key)
            session.add(row)
        row.name = s.name
        row.type = s.type
        row.map_text = doc
        row.map_sha256 = hashlib.sha256(doc.encode()).hexdigest()
        row.added_at = utcnow()
        row.added_by = actor.id
        session.flush()
        append(
            session,
            organization_id,
            actor,
            "systems.connected",
            "system",
            row.id,
            {"key": s.key, "type": s.type, "map_sha256": row.map_sha256},
        )
        stored.append(row)
    return stored


def disconnect(session: Session, organization_id: int, key: str, actor: Actor) -> None:
    row = session.scalar(
        select(ConnectedSystem).where(
            ConnectedSystem.organization_id == organization_id, ConnectedSystem.key == key
        )
    )
    if row is None:
        raise MapError(key, "no connected system with that key in this organization")
    session.delete(row)
    append(session, organization_id, actor, "systems.disconnected", "system", row.id, {"key": key})
