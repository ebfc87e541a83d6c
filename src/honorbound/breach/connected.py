"""People an incident affected in connected systems (honorbound.systems), matched to the vault.

A SQL system is searched by category: every collection whose map gives it one of the
incident's categories is read for its identity fields (email, phone...), each value is turned
into the vault's blind index, and the people the vault knows are selected. Identity values the
vault does not know are counted, not kept: those people can be told only once collected into
the vault. Files (S3, SFTP, folders), webhook and manual systems cannot be asked who holds a
category (files are looked up by identity, read whole otherwise; the webhook protocol asks
about one person; a manual system has no API): they are listed as not searched, with why.

Identity values are read in memory to compute their blind index and never written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.breach.errors import BreachInputError
from honorbound.systems import registry
from honorbound.systems.connectors import ConnectorSettings, open_connector
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import CollectionMap, SystemMap
from honorbound.vault.identities import InvalidIdentity, blind_index, normalize
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity

NOT_BY_CATEGORY = {
    "files": "a files system is looked up by identity value; finding everyone who holds a "
    "category would read every file whole, so the selection does not search it",
    "webhook": "the webhook protocol asks a system about one person at a time (by identity); "
    "it cannot be asked who holds a category",
    "manual": "a manual system has no API: its owner must search it",
}
CHUNK = 500


@dataclass(frozen=True)
class SystemSearch:
    system: str
    type: str
    searched: bool
    reason: str  # what was searched, or why it was not
    collections: list[str]
    rows: int = 0  # rows read that hold the categories
    in_vault: int = 0  # people matched to the vault
    not_in_vault: int = 0  # distinct identity values the vault does not know

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _holds(collection: CollectionMap, prefixes: list[str]) -> bool:
    if not prefixes:
        return any(f.personal for f in collection.fields)
    return any(
        c == p or c.startswith(p + ".") for f in collection.fields for c in f.categories
        for p in prefixes
    )  # fmt: skip


def _search_sql(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    system: SystemMap,
    prefixes: list[str],
    environ: Mapping[str, str] | None,
    found: set[int],
) -> SystemSearch:
    wanted = [c for c in system.collections if _holds(c, prefixes)]
    names = [c.name for c in wanted]
    if not wanted:
        return SystemSearch(system.key, system.type, True, "no collection holds the categories",
                            [])  # fmt: skip
    key = vault_keys.blind_index_key(organization_id)
    rows = 0
    digests: dict[str, None] = {}
    skipped: list[str] = []
    connector = open_connector(system, ConnectorSettings(), environ)
    try:
        for collection in wanted:
            fields = [f for f in collection.fields if f.identity]
            if not fields:
                skipped.append(collection.name)
                continue
            table = connector.table(collection)
            columns = [table.c[f.name] for f in fields]
            with connector._guard(collection.name), connector.engine.connect() as conn:  # noqa: SLF001
                result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                    select(*columns).distinct()
                )
                for row in result:
                    rows += 1
                    # One person per row: the row's first identity the vault can index stands
                    # for it (a row with an email and a phone is still one person).
                    for f, value in zip(fields, row, strict=True):
                        if value is None or f.identity is None:
                            continue
                        try:
                            digests.setdefault(
                                blind_index(key, f.identity, normalize(f.identity, str(value)))
                            )
                        except (InvalidIdentity, ValueError):
                            continue
                        break
    finally:
        connector.close()
    known: set[int] = set()
    matched_digests = 0
    keys = list(digests)
    for i in range(0, len(keys), CHUNK):
        for subject_id, _digest in session.execute(
            select(Identity.subject_id, Identity.blind_index).where(
                Identity.organization_id == organization_id,
                Identity.blind_index.in_(keys[i : i + CHUNK]),
            )
        ):
            known.add(int(subject_id))
            matched_digests += 1
    found |= known
    reason = f"searched {', '.join(n for n in names if n not in skipped) or 'nothing'}"
    if skipped:
        reason += f"; not searched (no identity field to match people by): {', '.join(skipped)}"
    return SystemSearch(
        system.key, system.type, True, reason, names, rows, len(known),
        len(digests) - matched_digests,
    )  # fmt: skip


def search_connected(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    keys: list[str],
    prefixes: list[str],
    environ: Mapping[str, str] | None = None,
) -> tuple[set[int], list[SystemSearch]]:
    """The vault subject ids found in the connected systems `keys` holding `prefixes`, and
    what was (not) searched in each."""
    systems = {s.key: s for s in registry.connected(session, organization_id)}
    unknown = [k for k in keys if k not in systems]
    if unknown:
        raise BreachInputError(
            "connected_systems",
            f"{unknown[0]!r} is not a connected system of this organization"
            + (f" (connected: {', '.join(sorted(systems))})" if systems else " (none connected)"),
        )
    found: set[int] = set()
    out: list[SystemSearch] = []
    for key in keys:
        system = systems[key]
        if system.type != "sql":
            why = NOT_BY_CATEGORY.get(system.type, "not searchable")
            held = [c.name for c in system.collections if _holds(c, prefixes)]
            out.append(SystemSearch(key, system.type, False, why, held))
            continue
        try:
            out.append(
                _search_sql(session, vault_keys, organization_id, system, prefixes, environ, found)
            )
        except SystemsError as exc:
            out.append(SystemSearch(key, system.type, False, f"could not be searched: {exc}", []))
    return found, out
