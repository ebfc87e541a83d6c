"""People an incident affected in connected systems (honorbound.systems), matched to the vault.

A SQL system is searched by category: every collection whose map gives it one of the
incident's categories is read for its identity fields (email, phone...), each value is turned
into the vault's blind index, and the people the vault knows are selected.

A files system (S3, SFTP, folders) is looked up by identity value; finding everyone who holds
a category means reading every file whole, so it is searched only when the selection opts in
(`read_files`), within a byte cap per system and per file: each file the collection's path
matches is read through the system's connector up to the caps; a file over a cap, binary, not
UTF-8 or not valid JSONL/CSV/Parquet is listed as not read, with why. Its identity fields are
matched like a SQL system's; a collection without identity fields has its personal text
fields scanned by `honorbound.detect` for email addresses and phone numbers. Audio recordings
are not read. Webhook and manual systems cannot be asked who holds a category (the webhook
protocol asks about one person; a manual system has no API): they are listed as not searched.

Identity values the vault does not know are counted; with `notify_unknown` the email or phone
of each is handed back (in memory) so the selection can keep it sealed for this incident's
notices (`breach.contacts`). Identity values are never written anywhere in clear.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.breach.errors import BreachInputError
from honorbound.consent.calling_hours import US_STATE_CODES
from honorbound.systems import registry
from honorbound.systems.connectors import ConnectorSettings, open_connector
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import CollectionMap, FieldMap, SystemMap
from honorbound.vault.identities import IdentityKind, InvalidIdentity, blind_index, normalize
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity

NOT_BY_CATEGORY = {
    "files": "a files system is looked up by identity value; finding everyone who holds a "
    "category reads every file whole: not searched unless the selection sets read_files",
    "webhook": "the webhook protocol asks a system about one person at a time (by identity); "
    "it cannot be asked who holds a category",
    "manual": "a manual system has no API: its owner must search it",
}
CHUNK = 500
# Contact values a notice can use; other identity kinds (account ids...) are counted only.
CONTACT_KINDS = (IdentityKind.EMAIL.value, IdentityKind.PHONE.value)
STATE_CATEGORY = "user.contact.address.state"
DETECTED = {"EMAIL_ADDRESS": IdentityKind.EMAIL.value, "PHONE_NUMBER": IdentityKind.PHONE.value}
MAX_FILES = 10_000  # files listed per collection; more are reported, not read
MAX_NOT_READ = 100  # "not read, why" lines kept per system (the rest are counted)
_BINARY_PROBE = 8192


@dataclass(frozen=True)
class FilesReading:
    """The opt-in to read a files system whole, with its caps (bytes)."""

    system_bytes: int
    file_bytes: int


@dataclass(slots=True)
class Unknown:
    """An identity value found in a connected system that the vault does not know. In memory
    only: the selection seals `value` for the incident or drops it."""

    kind: str
    value: str  # normalized
    digest: str
    state: str  # "" when the system holds none
    system: str
    categories: list[str]


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
    files_read: int = 0
    bytes_read: int = 0
    caps: dict[str, int] | None = None  # files: the byte caps applied
    not_read: list[dict[str, str]] = field(default_factory=list)  # files: {file, why}
    not_read_more: int = 0  # "not read" lines beyond MAX_NOT_READ

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _covers(category: str, prefixes: list[str]) -> bool:
    return any(category == p or category.startswith(p + ".") for p in prefixes)


def _holds(collection: CollectionMap, prefixes: list[str]) -> bool:
    if not prefixes:
        return any(f.personal for f in collection.fields)
    return any(_covers(c, prefixes) for f in collection.fields for c in f.categories)


def _held_categories(collection: CollectionMap, prefixes: list[str]) -> list[str]:
    cats = {c for f in collection.fields if f.personal for c in f.categories}
    return sorted(c for c in cats if not prefixes or _covers(c, prefixes))


def _state_field(collection: CollectionMap) -> FieldMap | None:
    return next(
        (f for f in collection.fields if any(_covers(c, [STATE_CATEGORY]) for c in f.categories)),
        None,
    )


def _state(value: Any) -> str:
    text = "" if value is None else str(value).strip().upper()
    return text if text in US_STATE_CODES else ""


class _Collector:
    """The identity values of one system's rows, by blind index (one person per row)."""

    def __init__(self, key: bytes, system: str) -> None:
        self.key = key
        self.system = system
        self.rows = 0
        self.found: dict[str, Unknown] = {}

    def row(self, values: Iterator[tuple[str, Any]], state: str, categories: list[str]) -> None:
        """One row: its first (kind, value) the vault can index stands for the person (a row
        with an email and a phone is still one person)."""
        self.rows += 1
        for kind, value in values:
            if value is None:
                continue
            try:
                normalized = normalize(kind, str(value))
                digest = blind_index(self.key, kind, normalized)
            except (InvalidIdentity, ValueError):
                continue
            self.found.setdefault(
                digest, Unknown(kind, normalized, digest, state, self.system, categories)
            )
            return


def _match(session: Session, organization_id: int, digests: list[str]) -> tuple[set[int], set[str]]:
    """The vault subjects these blind indexes name, and the indexes the vault holds."""
    known: set[int] = set()
    held: set[str] = set()
    for i in range(0, len(digests), CHUNK):
        for subject_id, digest in session.execute(
            select(Identity.subject_id, Identity.blind_index).where(
                Identity.organization_id == organization_id,
                Identity.blind_index.in_(digests[i : i + CHUNK]),
            )
        ):
            known.add(int(subject_id))
            held.add(str(digest))
    return known, held


def _finish(
    session: Session,
    organization_id: int,
    collector: _Collector,
    found: set[int],
    unknown: dict[str, Unknown],
) -> tuple[int, int]:
    """Match the collected values: vault people into `found`, the rest (contact kinds only)
    into `unknown`. Returns (people in the vault, values not in the vault)."""
    known, held = _match(session, organization_id, list(collector.found))
    found |= known
    for digest, u in collector.found.items():
        if digest not in held and u.kind in CONTACT_KINDS:
            unknown.setdefault(digest, u)
    return len(known), len(collector.found) - len(held)


def _search_sql(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    system: SystemMap,
    prefixes: list[str],
    environ: Mapping[str, str] | None,
    found: set[int],
    unknown: dict[str, Unknown],
) -> SystemSearch:
    wanted = [c for c in system.collections if _holds(c, prefixes)]
    names = [c.name for c in wanted]
    if not wanted:
        return SystemSearch(system.key, system.type, True, "no collection holds the categories",
                            [])  # fmt: skip
    collector = _Collector(vault_keys.blind_index_key(organization_id), system.key)
    skipped: list[str] = []
    connector = open_connector(system, ConnectorSettings(), environ)
    try:
        for collection in wanted:
            fields = [f for f in collection.fields if f.identity]
            if not fields:
                skipped.append(collection.name)
                continue
            where = _state_field(collection)
            read = fields + ([where] if where is not None and where not in fields else [])
            table = connector.table(collection)
            columns = [table.c[f.name] for f in read]
            cats = _held_categories(collection, prefixes)
            with connector._guard(collection.name), connector.engine.connect() as conn:  # noqa: SLF001
                result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                    select(*columns).distinct()
                )
                for row in result:
                    values = dict(zip([f.name for f in read], row, strict=True))
                    state = _state(values.get(where.name)) if where is not None else ""
                    collector.row(((str(f.identity), values[f.name]) for f in fields), state, cats)
    finally:
        connector.close()
    in_vault, not_in_vault = _finish(session, organization_id, collector, found, unknown)
    reason = f"searched {', '.join(n for n in names if n not in skipped) or 'nothing'}"
    if skipped:
        reason += f"; not searched (no identity field to match people by): {', '.join(skipped)}"
    return SystemSearch(
        system.key, system.type, True, reason, names, collector.rows, in_vault, not_in_vault
    )


class _FileNotRead(Exception):
    """One file cannot be used: the sentence says why (never its content)."""


def _file_rows(collection: CollectionMap, data: bytes) -> list[dict[str, Any]]:
    """The rows of one file's bytes, or `_FileNotRead` saying what is wrong with them."""
    fmt = collection.format or "jsonl"
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            return list(pq.read_table(io.BytesIO(data)).to_pylist())
        except ImportError:
            raise _FileNotRead("Parquet needs pyarrow, which is not installed") from None
        except Exception as exc:  # pyarrow raises its own families
            raise _FileNotRead(f"not a readable Parquet file ({type(exc).__name__})") from None
    if b"\x00" in data[:_BINARY_PROBE]:
        raise _FileNotRead(f"binary (NUL bytes in the first {_BINARY_PROBE} bytes), not {fmt}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _FileNotRead(f"not UTF-8 (byte {exc.start} cannot be decoded)") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt == "csv":
        try:
            return [dict(r) for r in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise _FileNotRead(f"not valid CSV ({exc})") from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise _FileNotRead(f"line {number} is not JSON") from None
        if not isinstance(row, dict):
            raise _FileNotRead(f"line {number} is not a JSON object")
        rows.append(row)
    return rows


def _detected(fields: list[FieldMap], row: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Email addresses and phone numbers `honorbound.detect` finds in the row's text fields."""
    from honorbound.detect import scan

    for f in fields:
        value = row.get(f.name)
        if not isinstance(value, str) or not value:
            continue
        for finding in scan(value, entities=DETECTED):
            yield DETECTED[finding.type], value[finding.start : finding.end]


def _row_values(
    ids: list[FieldMap], texts: list[FieldMap], others: list[FieldMap], row: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """A row's candidate identities, in the order one is chosen to stand for the person: its
    email or phone fields; else an email or phone `honorbound.detect` finds in its text
    fields (scanned only when needed); else its other identities (account ids...)."""
    yield from ((str(f.identity), row.get(f.name)) for f in ids)
    yield from _detected(texts, row)
    yield from ((str(f.identity), row.get(f.name)) for f in others)


def _search_files(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    system: SystemMap,
    prefixes: list[str],
    environ: Mapping[str, str] | None,
    found: set[int],
    unknown: dict[str, Unknown],
    reading: FilesReading,
) -> SystemSearch:
    from honorbound.systems.connectors.files import FilesConnector

    caps = {"system_bytes": reading.system_bytes, "file_bytes": reading.file_bytes}
    wanted = [c for c in system.collections if _holds(c, prefixes)]
    names = [c.name for c in wanted]
    if not wanted:
        return SystemSearch(system.key, system.type, True, "no collection holds the categories",
                            [], caps=caps)  # fmt: skip
    collector = _Collector(vault_keys.blind_index_key(organization_id), system.key)
    not_read: list[dict[str, str]] = []
    more = 0
    files = total = 0
    notes: list[str] = []

    def skip(path: str, why: str) -> None:
        nonlocal more
        if len(not_read) < MAX_NOT_READ:
            not_read.append({"file": path, "why": why})
        else:
            more += 1

    connector = FilesConnector(system, ConnectorSettings(), environ)
    for collection in wanted:
        if collection.format == "recording":
            notes.append(f"{collection.name}: audio recordings are not read")
            continue
        ids = [f for f in collection.fields if f.identity in CONTACT_KINDS]
        others = [f for f in collection.fields if f.identity and f not in ids]
        texts = [f for f in collection.fields if f.personal and not f.identity]
        if not ids and not others and not texts:
            notes.append(f"{collection.name}: no identity or personal field to find people by")
            continue
        where = _state_field(collection)
        cats = _held_categories(collection, prefixes)
        paths = connector._glob(collection, None)  # noqa: SLF001
        if len(paths) > MAX_FILES:
            notes.append(
                f"{collection.name}: {len(paths) - MAX_FILES} file(s) beyond the first "
                f"{MAX_FILES} not read"
            )
            paths = paths[:MAX_FILES]
        for path in paths:
            shown = connector._relative(path)  # noqa: SLF001
            try:
                info = connector._call(partial(connector.fs.info, path), shown) or {}  # noqa: SLF001
            except SystemsError as exc:
                skip(shown, f"cannot be listed: {exc}")
                continue
            size = info.get("size")
            if isinstance(size, int) and size > reading.file_bytes:
                skip(shown, f"{size} bytes, over the cap of {reading.file_bytes} bytes per file")
                continue
            left = reading.system_bytes - total
            if isinstance(size, int) and size > left:
                skip(shown, f"{size} bytes, over what is left of the cap of "
                            f"{reading.system_bytes} bytes per system ({left})")  # fmt: skip
                continue
            limit = min(reading.file_bytes, left)

            def read(p: str = path, n: int = limit) -> bytes:
                with connector.fs.open(p, "rb") as handle:
                    return bytes(handle.read(n + 1))

            try:
                data = connector._call(read, shown)  # noqa: SLF001
            except SystemsError as exc:
                skip(shown, f"cannot be read: {exc}")
                continue
            if data is None:
                skip(shown, "was gone when it was to be read")
                continue
            if len(data) > limit:
                # The store gave no size, or a wrong one: the cap still holds.
                skip(shown, f"more than {limit} bytes, over the cap")
                total += limit + 1
                continue
            total += len(data)
            try:
                rows = _file_rows(collection, data)
            except _FileNotRead as exc:
                skip(shown, str(exc))
                continue
            files += 1
            extra = connector._path_values(collection, path)  # noqa: SLF001
            for raw in rows:
                row = {**extra, **raw}
                state = _state(row.get(where.name)) if where is not None else ""
                collector.row(_row_values(ids, texts, others, row), state, cats)
    in_vault, not_in_vault = _finish(session, organization_id, collector, found, unknown)
    reason = f"read {files} file(s) whole ({total} bytes) of {', '.join(names)}"
    if not_read or more:
        reason += f"; {len(not_read) + more} file(s) not read (see not_read)"
    if notes:
        reason += "; " + "; ".join(notes)
    return SystemSearch(
        system.key, system.type, True, reason, names, collector.rows, in_vault, not_in_vault,
        files, total, caps, not_read, more,
    )  # fmt: skip


def search_connected(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    keys: list[str],
    prefixes: list[str],
    environ: Mapping[str, str] | None = None,
    reading: FilesReading | None = None,
) -> tuple[set[int], list[SystemSearch], list[Unknown]]:
    """The vault subject ids found in the connected systems `keys` holding `prefixes`, what
    was (not) searched in each, and the contact values found that the vault does not know
    (one per person, in memory). Files systems are read only with `reading`."""
    systems = {s.key: s for s in registry.connected(session, organization_id)}
    missing = [k for k in keys if k not in systems]
    if missing:
        raise BreachInputError(
            "connected_systems",
            f"{missing[0]!r} is not a connected system of this organization"
            + (f" (connected: {', '.join(sorted(systems))})" if systems else " (none connected)"),
        )
    found: set[int] = set()
    unknown: dict[str, Unknown] = {}
    out: list[SystemSearch] = []
    for key in keys:
        system = systems[key]
        try:
            if system.type == "sql":
                out.append(_search_sql(session, vault_keys, organization_id, system, prefixes,
                                       environ, found, unknown))  # fmt: skip
                continue
            if system.type == "files" and reading is not None:
                out.append(_search_files(session, vault_keys, organization_id, system,
                                         prefixes, environ, found, unknown, reading))  # fmt: skip
                continue
        except SystemsError as exc:
            out.append(SystemSearch(key, system.type, False, f"could not be searched: {exc}", []))
            continue
        why = NOT_BY_CATEGORY.get(system.type, "not searchable")
        held = [c.name for c in system.collections if _holds(c, prefixes)]
        out.append(SystemSearch(key, system.type, False, why, held))
    return found, out, list(unknown.values())
