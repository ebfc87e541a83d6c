"""How a person is found across connected systems: identity fields are where the search starts,
references carry values from one collection to the next (Fides' `fides_meta.references`).

A reference written on field F of collection A naming field G of collection C means:
`direction: to`   A.F's values find C's rows by G;
`direction: from` C.G's values find A's rows by F;
no direction      both.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from honorbound.systems.maps import CollectionMap, SystemMap

FieldKey = tuple[str, str, str]  # system, collection, field
CollectionKey = tuple[str, str]


@dataclass(frozen=True)
class Edge:
    source: FieldKey  # values of this field...
    target: FieldKey  # ...find rows of this field's collection


def edges(systems: list[SystemMap]) -> list[Edge]:
    out: list[Edge] = []
    for s in systems:
        for c in s.collections:
            for f in c.fields:
                here = (s.key, c.name, f.name)
                for ref in f.references:
                    there = (ref.system, ref.collection, ref.field)
                    if ref.direction in ("to", None):
                        out.append(Edge(here, there))
                    if ref.direction in ("from", None):
                        out.append(Edge(there, here))
    return list(dict.fromkeys(out))


def identity_fields(systems: list[SystemMap]) -> list[tuple[FieldKey, str]]:
    return [
        ((s.key, c.name, f.name), f.identity)
        for s in systems
        for c in s.collections
        for f in c.fields
        if f.identity
    ]


def reachable(systems: list[SystemMap]) -> dict[CollectionKey, list[FieldKey]]:
    """Every collection a person can be found in, with the path (fields) that reaches it."""
    all_edges = edges(systems)
    by_source: dict[CollectionKey, list[Edge]] = {}
    for e in all_edges:
        by_source.setdefault(e.source[:2], []).append(e)
    paths: dict[CollectionKey, list[FieldKey]] = {}
    queue: deque[CollectionKey] = deque()
    for key, _kind in identity_fields(systems):
        if key[:2] not in paths:
            paths[key[:2]] = [key]
            queue.append(key[:2])
    while queue:
        here = queue.popleft()
        for e in by_source.get(here, []):
            there = e.target[:2]
            if there not in paths:
                paths[there] = [*paths[here], e.source, e.target]
                queue.append(there)
    return paths


def lookup_fields(systems: list[SystemMap]) -> dict[CollectionKey, set[str]]:
    """Fields rows are looked up by (identities and reference targets): each needs an index."""
    out: dict[CollectionKey, set[str]] = {}
    for key, _ in identity_fields(systems):
        out.setdefault(key[:2], set()).add(key[2])
    for e in edges(systems):
        out.setdefault(e.target[:2], set()).add(e.target[2])
    return out


def erase_order(order: list[CollectionKey]) -> list[CollectionKey]:
    """Collections found later hang off those found earlier (orders off customers): erase them
    first, so a failure half-way leaves the way to the rest (the identity rows) in place."""
    return list(reversed(order))


def collection_of(systems: list[SystemMap], key: CollectionKey) -> CollectionMap | None:
    for s in systems:
        if s.key == key[0]:
            return s.collection(key[1])
    return None
