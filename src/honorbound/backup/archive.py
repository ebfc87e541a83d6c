"""`honorbound backup` and `honorbound restore`.

A backup is a directory:

    honorbound-20261202T181400Z/
        manifest.json   what is inside, the epoch, SHA-256 of each file
        data.hbk        the data database (SQLite pages or a pg_dump), encrypted (stream.py)
        keys.hbk        the key store, encrypted the same way

The data database is copied first and the key store second, so every subject in the copy has
its key in the copy unless it was erased in between (and then the journal erases it on restore).

Restoring decrypts both into temporary files beside the live ones (SQLite) or into the
configured server (PostgreSQL), brings the data schema up to date, then replays the erasure
journal (the restored key store's own, the live key store's, and any journal files given): every
key in it is destroyed and every subject holding such a key is erased again, exactly as the
first time. Only then are the SQLite files moved into place. So no backup can bring an erased
person back, as long as the journal of erasures made after the backup is available: in the live
key store, or in the journal file kept apart (`HONORBOUND_ERASURE_JOURNAL_FILE`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text

from honorbound.audit import Actor
from honorbound.backup import snapshot, stream
from honorbound.backup.epochs import EpochKeys
from honorbound.db import migrate
from honorbound.db.engine import Database
from honorbound.errors import HonorboundError
from honorbound.vault.erasure import erase_subjects
from honorbound.vault.keystore import JournalEntry, KeyStore
from honorbound.vault.models import Subject, SubjectStatus

FORMAT = "honorbound-backup/1"
PARTS = ("data", "keys")
RESTORE_ACTOR = Actor("restore", "system")
_MAX_MANIFEST = 1 << 20


class BackupError(HonorboundError):
    """A backup cannot be made, read or restored; the message says which file and why."""

    status = 422
    title = "Invalid backup"


@dataclass(frozen=True)
class Installation:
    """Where an installation keeps its databases, and where temporary copies may go (a
    directory readable by the owner only: the data directory)."""

    database_url: str
    keystore_url: str
    work_dir: Path
    pg_tools: Path | None = None


@dataclass(frozen=True)
class Made:
    path: Path
    epoch: str
    destroy_after: dt.datetime
    sizes: dict[str, int]


@dataclass(frozen=True)
class Restored:
    epoch: str
    created_at: str
    journal_entries: int
    keys_destroyed: int
    subjects_erased: int
    moved: list[Path] = field(default_factory=list)


class _Hashing:
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.target.write(data)


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _temporary(work_dir: Path, name: str) -> Path:
    _private_dir(work_dir)
    path = work_dir / f".restore-{secrets.token_hex(4)}-{name}"
    snapshot.private_file(path)
    return path


def _encrypt_part(
    key: bytes, header: dict[str, Any], source: IO[bytes], target: Path
) -> dict[str, Any]:
    snapshot.private_file(target)
    with open(target, "wb") as raw:
        hashing = _Hashing(raw)
        plain = stream.encrypt(key, source, hashing, header)  # type: ignore[arg-type]
        raw.flush()
        os.fsync(raw.fileno())
    return {
        "file": target.name,
        "sha256": hashing.sha256.hexdigest(),
        "bytes": hashing.size,
        "plain_bytes": plain,
    }


def _backup_part(
    installation: Installation,
    part: str,
    url: str,
    key: bytes,
    header: dict[str, Any],
    target: Path,
) -> dict[str, Any]:
    path = snapshot.sqlite_path(url)
    if path is None:
        with snapshot.pg_dump(url, installation.pg_tools) as dump:
            entry = _encrypt_part(key, header, dump, target)
    else:
        copy = _temporary(installation.work_dir, f"{part}.db")
        try:
            snapshot.copy_sqlite(path, copy)
            with open(copy, "rb") as source:
                entry = _encrypt_part(key, header, source, target)
        finally:
            copy.unlink(missing_ok=True)
    return {**entry, "dialect": snapshot.dialect(url)}


def create_backup(
    installation: Installation, epochs: EpochKeys, destination: Path, now: dt.datetime
) -> Made:
    """Write a new backup directory under `destination` (created 0700)."""
    epoch, key = epochs.current(now)
    stamp = now.astimezone(dt.UTC)
    folder = destination / f"honorbound-{stamp:%Y%m%dT%H%M%S}Z"
    _private_dir(destination)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise BackupError(
            f"{folder} already exists; wait a second or choose another folder"
        ) from None
    parts: dict[str, Any] = {}
    try:
        for part, url in (("data", installation.database_url), ("keys", installation.keystore_url)):
            header = {"part": part, "epoch": epoch.id, "created_at": stamp.isoformat()}
            parts[part] = _backup_part(installation, part, url, key, header, folder / f"{part}.hbk")
        manifest = {
            "format": FORMAT,
            "created_at": stamp.isoformat(),
            "epoch": epoch.id,
            "destroy_after": epoch.destroy_after.isoformat(),
            "schema_revision": _revision(installation.database_url),
            "parts": parts,
        }
        path = folder / "manifest.json"
        snapshot.private_file(path)
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    except BaseException:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
        raise
    return Made(
        folder, epoch.id, epoch.destroy_after, {p: int(e["bytes"]) for p, e in parts.items()}
    )


def _revision(url: str) -> str | None:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - an unmigrated database has no revision to record
        return None
    finally:
        database.dispose()


# -- reading -------------------------------------------------------------------------------
def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    try:
        if path.stat().st_size > _MAX_MANIFEST:
            raise BackupError(f"{path}: larger than a manifest can be; not a Honorbound backup")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Honorbound backup (no manifest.json)") from None
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{path}: not JSON; the backup is damaged") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError(f"{path}: not a {FORMAT} manifest")
    parts = doc.get("parts")
    if not isinstance(parts, dict) or set(parts) != set(PARTS):
        raise BackupError(f"{path}: 'parts' must name exactly {', '.join(PARTS)}")
    for part, entry in parts.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BackupError(f"{path}: part {part!r} lacks its sha256")
        if entry.get("file") != f"{part}.hbk" or entry.get("dialect") not in (
            "sqlite",
            "postgresql",
        ):
            raise BackupError(f"{path}: part {part!r} names an unexpected file or database")
    if not isinstance(doc.get("epoch"), str):
        raise BackupError(f"{path}: no epoch named")
    return doc


def _check_hash(folder: Path, part: str, entry: dict[str, Any]) -> Path:
    path = folder / str(entry["file"])
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise BackupError(f"{path}: missing; the backup is incomplete") from None
    if digest.hexdigest() != entry["sha256"]:
        raise BackupError(f"{path}: its SHA-256 differs from the manifest; the file is damaged")
    return path


def _decrypt_to(key: bytes, source: Path, target: Path, part: str, epoch: str) -> None:
    with open(source, "rb") as encrypted, open(target, "wb") as plain:
        try:
            header = stream.decrypt(key, encrypted, plain)
        except stream.StreamError as exc:
            raise BackupError(f"{source}: {exc}") from None
        plain.flush()
        os.fsync(plain.fileno())
    if header.get("part") != part or header.get("epoch") != epoch:
        raise BackupError(f"{source}: its header names another part or epoch than the manifest")


def verify_backup(folder: Path, epochs: EpochKeys) -> dict[str, Any]:
    """Check a backup without restoring it: hashes, then every chunk decrypted and dropped."""
    manifest = read_manifest(folder)
    key = epochs.key(manifest["epoch"])
    for part, entry in manifest["parts"].items():
        path = _check_hash(folder, part, entry)
        with open(path, "rb") as encrypted, open(os.devnull, "wb") as sink:
            try:
                stream.decrypt(key, encrypted, sink)
            except stream.StreamError as exc:
                raise BackupError(f"{path}: {exc}") from None
    return manifest


# -- restoring -----------------------------------------------------------------------------
def read_journal_file(path: Path) -> list[JournalEntry]:
    """A journal file (one JSON object per line: organization_id, key_id, at)."""
    entries: list[JournalEntry] = []
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise BackupError(f"{path}: no such journal file") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                entries.append(
                    JournalEntry(int(row["organization_id"]), str(row["key_id"]), str(row["at"]))
                )
            except (ValueError, KeyError, TypeError):
                raise BackupError(
                    f"{path}:{number}: not a journal line (organization_id, key_id, at)"
                ) from None
            if len(entries[-1].key_id) > 32:
                raise BackupError(f"{path}:{number}: key_id is longer than 32 characters")
    return entries


def _replay(
    database: Database, keys: KeyStore, entries: Iterable[JournalEntry]
) -> tuple[int, int, int]:
    """Apply every journalled erasure to a restored pair of databases."""
    keys.record_journal(entries)
    journal = keys.journal()
    by_org: dict[int, list[str]] = defaultdict(list)
    for entry in journal:
        by_org[entry.organization_id].append(entry.key_id)
    destroyed = erased = 0
    for organization_id, key_ids in by_org.items():
        destroyed += keys.destroy_data_keys(organization_id, key_ids, journal=False)
        for start in range(0, len(key_ids), 500):
            chunk = key_ids[start : start + 500]
            with database.session() as session:
                ids = list(
                    session.scalars(
                        select(Subject.id).where(
                            Subject.organization_id == organization_id,
                            Subject.key_id.in_(chunk),
                            Subject.status != SubjectStatus.ERASED.value,
                        )
                    )
                )
                if ids:
                    erase_subjects(
                        session, keys, organization_id, ids, RESTORE_ACTOR, "restore.journal_replay"
                    )
                    erased += len(ids)
    keys.scrub()
    return len(journal), destroyed, erased


def _no_other_sessions(url: str) -> None:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            others = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        database.dispose()
    if others:
        raise BackupError(
            f"{others} other session(s) use the target PostgreSQL database: stop the server and "
            "the worker before restoring"
        )


def restore_backup(
    installation: Installation,
    epochs: EpochKeys,
    folder: Path,
    journal: Iterable[JournalEntry],
    open_keystore: Callable[[str], KeyStore],
) -> Restored:
    """Restore a backup into the installation (whose server and worker must be stopped),
    replaying the erasure journal before the restored data can be used."""
    manifest = read_manifest(folder)
    key = epochs.key(manifest["epoch"])
    paths = {part: _check_hash(folder, part, manifest["parts"][part]) for part in PARTS}
    targets = {"data": installation.database_url, "keys": installation.keystore_url}
    for part, url in targets.items():
        if snapshot.dialect(url) != manifest["parts"][part]["dialect"]:
            raise BackupError(
                f"the backup's {part} database is {manifest['parts'][part]['dialect']}, the "
                f"installation's is {snapshot.dialect(url)}: restore into the same kind"
            )
        if snapshot.sqlite_path(url) is None:
            _no_other_sessions(url)
    temporary: dict[str, Path] = {}
    try:
        urls: dict[str, str] = {}
        for part in PARTS:
            plain = _temporary(installation.work_dir, f"{part}.plain")
            temporary[part] = plain
            _decrypt_to(key, paths[part], plain, part, manifest["epoch"])
            if snapshot.sqlite_path(targets[part]) is None:
                snapshot.pg_restore(targets[part], plain, installation.pg_tools)
                urls[part] = targets[part]
            else:
                snapshot.check_sqlite(plain)
                urls[part] = f"sqlite:///{plain}"
        migrate.upgrade(urls["data"])
        database = Database(urls["data"])
        keys = open_keystore(urls["keys"])
        try:
            entries, destroyed, erased = _replay(database, keys, journal)
        finally:
            keys.close()
            database.dispose()
        moved: list[Path] = []
        # Data first, then keys: a crash in between leaves restored data with the newer live
        # key store, which holds every key the restored data needs except erased ones.
        for part in PARTS:
            live = snapshot.sqlite_path(targets[part])
            if live is None:
                continue
            live.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{live}{suffix}").unlink(missing_ok=True)
            os.replace(temporary.pop(part), live)
            os.chmod(live, 0o600)
            moved.append(live)
    finally:
        for leftover in temporary.values():
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{leftover}{suffix}").unlink(missing_ok=True)
    return Restored(
        manifest["epoch"], str(manifest.get("created_at", "")), entries, destroyed, erased, moved
    )


def expire(epochs: EpochKeys, keys: KeyStore, now: dt.datetime) -> tuple[list[str], int]:
    """Destroy the epoch keys whose backups have all expired, and forget journal entries older
    than every backup that can still be decrypted. Returns (destroyed epoch ids, pruned)."""
    gone = epochs.expire(now)
    if not gone:
        return [], 0
    oldest = epochs.oldest_live()
    before = (oldest.created_at if oldest is not None else now).astimezone(dt.UTC).isoformat()
    return [e.id for e in gone], keys.prune_journal(before)
