"""The key store: per-subject data keys (DEKs) wrapped by a versioned organization key (KEK).

It lives in its own database (`Settings.resolved_keystore_url`, default `data_dir/keys.db`), so
a copy of the data database alone decrypts nothing. Layout:

    master key --HKDF("keystore:org:<id>:kek-wrap")--> wrapping key
    wrapping key --AES-GCM--> organization KEK v1, v2, ... (random 32 bytes each, one active)
    active KEK --AES-GCM--> one DEK per subject (random 32 bytes)
    DEK --AES-GCM--> the subject's values in the data database

Destroying a subject's DEK row (crypto-shredding) makes every copy of its ciphertexts, including
backups of the data database, unreadable. Rotating re-wraps every DEK under a new random KEK and
then deletes the old KEK; the data ciphertexts are untouched.

A destroyed key must not survive in the key store's own files. On SQLite every connection runs
with `secure_delete` (deleted content is overwritten with zeros) and each destruction ends with
a WAL checkpoint that truncates the log, so neither `keys.db` nor `keys.db-wal` keeps the wrapped
key. On PostgreSQL the row is overwritten with zeros before it is deleted and the table is
vacuumed (see docs/vault.md for what PostgreSQL's own WAL and archives keep).

Each erasure also writes the destroyed key ids to `erasure_journal` (in the same transaction),
and, when configured, appends them to a journal file kept apart from the databases: restoring an
old backup replays the journal, so no backup brings an erased person back (honorbound.backup).

Unwrapped DEKs are cached per process (bounded LRU). Every shredding writes a fresh token to
`keystore_meta.shred_generation`; a process reads that token at most once per
`recheck_seconds` (1 s by default) when serving a cached key, and drops its whole cache when the
token changed. So a key destroyed by another process (the worker, the CLI, another server) is
gone from every running process within about a second, not when it happens to be evicted.

The key store has its own tiny schema (created with `create_all`, version row in
`keystore_meta`), not Alembic: it is a separate database with three tables that are never shared
with the application's migrations.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Integer,
    LargeBinary,
    MetaData,
    String,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from honorbound.crypto.aead import DecryptionError, open_sealed, seal
from honorbound.crypto.keyring import KeyRing
from honorbound.db.base import NAMING_CONVENTION, utcnow
from honorbound.db.engine import Database, Limits
from honorbound.errors import HonorboundError

SCHEMA_VERSION = 2
_SHRED_GENERATION = "shred_generation"
_CHECKPOINT_TRIES = 3
_CHECKPOINT_WAIT_MS = 500
SCRUB_JOB = "vault.scrub_keystore"
log = logging.getLogger("honorbound.vault.keystore")


class KeystoreBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class KeystoreMeta(KeystoreBase):
    __tablename__ = "keystore_meta"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class OrganizationKey(KeystoreBase):
    """One version of an organization's key-encryption key, wrapped by the master-derived key."""

    __tablename__ = "organization_keys"
    organization_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[str] = mapped_column(String(40))


class DataKey(KeystoreBase):
    """One subject's data key, wrapped by the organization KEK of `kek_version`."""

    __tablename__ = "data_keys"
    organization_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class ErasureJournalEntry(KeystoreBase):
    """A destroyed subject key: the organization and the key id, nothing else. Kept so that a
    restored backup (which still holds the key) has the erasure applied again."""

    __tablename__ = "erasure_journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(Integer, index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    erased_at: Mapped[str] = mapped_column(String(40), index=True)

    __table_args__ = {"sqlite_autoincrement": True}


@dataclass(frozen=True)
class JournalEntry:
    organization_id: int
    key_id: str
    erased_at: str

    def as_json(self) -> str:
        return json.dumps(
            {"organization_id": self.organization_id, "key_id": self.key_id, "at": self.erased_at}
        )


def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class KeyDestroyed(HonorboundError, LookupError):
    """The subject's data key no longer exists (the subject was erased): nothing can be read."""

    status = 404
    title = "Not found"

    def detail(self) -> str:
        # Which key is gone is for the log, not for the caller: to them the subject is erased.
        return "No such subject, or it has been erased."


@dataclass(frozen=True)
class RotationResult:
    organization_id: int
    old_version: int | None
    new_version: int
    rewrapped: int


def _dek_aad(organization_id: int, key_id: str, kek_version: int) -> bytes:
    return f"dek|{organization_id}|{key_id}|{kek_version}".encode()


def _kek_aad(organization_id: int, version: int) -> bytes:
    return f"kek|{organization_id}|{version}".encode()


class KeyStore:
    """Data keys for the vault. Thread-safe; unwrapped DEKs are cached in a bounded LRU."""

    def __init__(
        self,
        url: str,
        keyring: KeyRing,
        cache_size: int = 10_000,
        recheck_seconds: float = 1.0,
        journal_file: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.db = Database(url, limits)
        if self.db.dialect == "sqlite":
            # Before the first connection: every connection of this engine overwrites what it
            # deletes (the compiled-in default varies between SQLite builds).
            event.listen(self.db.engine, "connect", _secure_delete)
        self.journal_file = journal_file
        self._keyring = keyring
        self._cache: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._keks: dict[int, tuple[int, bytes]] = {}
        self._cache_size = cache_size
        self._lock = threading.RLock()
        self._recheck_seconds = recheck_seconds
        KeystoreBase.metadata.create_all(self.db.engine)
        for name, value in (
            ("schema_version", str(SCHEMA_VERSION)),
            (_SHRED_GENERATION, secrets.token_hex(8)),
        ):
            try:
                with self.db.session() as session:
                    if session.get(KeystoreMeta, name) is None:
                        session.add(KeystoreMeta(name=name, value=value))
            except IntegrityError:
                pass  # another process created it at the same moment
        with self.db.session() as session:
            # Tables are only ever added (create_all above); the row says which set is here.
            session.execute(
                update(KeystoreMeta)
                .where(
                    KeystoreMeta.name == "schema_version", KeystoreMeta.value != str(SCHEMA_VERSION)
                )
                .values(value=str(SCHEMA_VERSION))
            )
        self._generation = self._read_generation()
        self._checked_at = time.monotonic()

    # -- shredding seen by every process -----------------------------------------------------
    def _read_generation(self) -> str:
        # Read sessions: on SQLite a write session takes the write lock and fsyncs its commit,
        # which cost ~4 ms per looked-up key on the ingest path for a read.
        with self.db.read_session() as session:
            row = session.get(KeystoreMeta, _SHRED_GENERATION)
            return row.value if row is not None else ""

    def _forget_if_shredded_elsewhere(self) -> None:
        """Drop cached DEKs when any process shredded keys since the last look (at most one
        query per `recheck_seconds`). Called with the lock held."""
        now = time.monotonic()
        if now - self._checked_at < self._recheck_seconds:
            return
        self._checked_at = now
        generation = self._read_generation()
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation

    def close(self) -> None:
        self.db.dispose()

    def blind_index_key(self, organization_id: int) -> bytes:
        """The organization's identity index key (derived from the master key, not stored)."""
        return self._keyring.blind_index_key(organization_id)

    def derived(self, label: str) -> bytes:
        return self._keyring.derived(label)

    # -- organization keys -------------------------------------------------------------------
    def _wrapping_key(self, organization_id: int) -> bytes:
        return self._keyring.derived(f"keystore:org:{organization_id}:kek-wrap")

    def _active_kek(self, organization_id: int) -> tuple[int, bytes]:
        with self._lock:
            cached = self._keks.get(organization_id)
            if cached is not None:
                return cached
            with self.db.session() as session:
                return self._load_kek(session, organization_id)

    def _load_kek(self, session: Session, organization_id: int) -> tuple[int, bytes]:
        """Read (or create, the first time) the active KEK in the caller's transaction."""
        row = session.scalar(
            select(OrganizationKey).where(
                OrganizationKey.organization_id == organization_id,
                OrganizationKey.active.is_(True),
            )
        )
        if row is None:
            version, kek = 1, os.urandom(32)
            session.add(
                OrganizationKey(
                    organization_id=organization_id,
                    version=version,
                    wrapped=seal(
                        self._wrapping_key(organization_id), kek, _kek_aad(organization_id, version)
                    ),
                    active=True,
                    created_at=utcnow().isoformat(),
                )
            )
            session.flush()
        else:
            version = row.version
            kek = open_sealed(
                self._wrapping_key(organization_id), row.wrapped, _kek_aad(organization_id, version)
            )
        with self._lock:
            self._keks[organization_id] = (version, kek)
        return version, kek

    def kek_version(self, organization_id: int) -> int:
        return self._active_kek(organization_id)[0]

    def _current_kek(self, session: Session, organization_id: int) -> tuple[int, bytes]:
        """The active KEK, re-read if another process (`honorbound keys rotate`) replaced it:
        a new DEK must never be wrapped by a destroyed KEK. Called inside the write
        transaction that stores the new DEK (SQLite takes the write lock at BEGIN)."""
        with self._lock:
            cached = self._keks.get(organization_id)
        stored = session.scalar(
            select(OrganizationKey.version).where(
                OrganizationKey.organization_id == organization_id,
                OrganizationKey.active.is_(True),
            )
        )
        if cached is not None and stored == cached[0]:
            return cached
        return self._load_kek(session, organization_id)

    # -- data keys ---------------------------------------------------------------------------
    def _remember(self, organization_id: int, key_id: str, dek: bytes) -> None:
        self._cache[(organization_id, key_id)] = dek
        self._cache.move_to_end((organization_id, key_id))
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def create_data_key(self, organization_id: int, key_id: str) -> bytes:
        """A new random DEK for a new subject, stored wrapped; returns it unwrapped."""
        dek = os.urandom(32)
        with self.db.session() as session:
            version, kek = self._current_kek(session, organization_id)
            session.add(
                DataKey(
                    organization_id=organization_id,
                    key_id=key_id,
                    kek_version=version,
                    wrapped=seal(kek, dek, _dek_aad(organization_id, key_id, version)),
                )
            )
        with self._lock:
            self._remember(organization_id, key_id, dek)
        return dek

    def create_data_keys(self, organization_id: int, key_ids: Iterable[str]) -> dict[str, bytes]:
        """Many new DEKs in one key-store transaction (bulk loads, benchmarks)."""
        out = {key_id: os.urandom(32) for key_id in key_ids}
        if not out:
            return out
        with self.db.session() as session:
            version, kek = self._current_kek(session, organization_id)
            rows = [
                {
                    "organization_id": organization_id,
                    "key_id": key_id,
                    "kek_version": version,
                    "wrapped": seal(kek, dek, _dek_aad(organization_id, key_id, version)),
                }
                for key_id, dek in out.items()
            ]
            session.execute(insert(DataKey), rows)
        return out

    def data_key(self, organization_id: int, key_id: str) -> bytes:
        """The subject's DEK; `KeyDestroyed` when it was shredded."""
        with self._lock:
            self._forget_if_shredded_elsewhere()
            cached = self._cache.get((organization_id, key_id))
            if cached is not None:
                self._cache.move_to_end((organization_id, key_id))
                return cached
        with self.db.read_session() as session:
            row = session.get(DataKey, (organization_id, key_id))
            if row is None:
                raise KeyDestroyed("the data key of this subject has been destroyed")
            version, wrapped = row.kek_version, row.wrapped
        kek = self._kek(organization_id, version)
        try:
            dek = open_sealed(kek, wrapped, _dek_aad(organization_id, key_id, version))
        except DecryptionError:
            raise KeyDestroyed("the data key cannot be unwrapped") from None
        with self._lock:
            self._remember(organization_id, key_id, dek)
        return dek

    def _kek(self, organization_id: int, version: int) -> bytes:
        active_version, active = self._active_kek(organization_id)
        if version == active_version:
            return active
        with self.db.session() as session:
            row = session.get(OrganizationKey, (organization_id, version))
            if row is None:
                raise KeyDestroyed(f"organization key version {version} has been destroyed")
            return open_sealed(
                self._wrapping_key(organization_id), row.wrapped, _kek_aad(organization_id, version)
            )

    def destroy_data_keys(
        self, organization_id: int, key_ids: Iterable[str], journal: bool = True
    ) -> int:
        """Crypto-shred: delete the DEKs (and forget cached copies), then scrub the key store's
        files of them. Returns how many existed. `journal` records the erasure so a restored
        backup applies it again; a merge (the data moved under another key) passes False."""
        ids = list(key_ids)
        if not ids:
            return 0
        removed = 0
        generation = secrets.token_hex(8)
        now = utcnow().isoformat()
        with self.db.session() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                result = session.execute(
                    delete(DataKey).where(
                        DataKey.organization_id == organization_id, DataKey.key_id.in_(chunk)
                    )
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
            if journal:
                session.execute(
                    insert(ErasureJournalEntry),
                    [
                        {"organization_id": organization_id, "key_id": k, "erased_at": now}
                        for k in ids
                    ],
                )
            # Tell every other process, in the same transaction as the deletion.
            session.execute(
                update(KeystoreMeta)
                .where(KeystoreMeta.name == _SHRED_GENERATION)
                .values(value=generation)
            )
        with self._lock:
            for key_id in ids:
                self._cache.pop((organization_id, key_id), None)
        if journal and self.journal_file is not None:
            self._append_journal_file([JournalEntry(organization_id, k, now) for k in ids])
        self.scrub()
        return removed

    def scrub(self) -> bool:
        """Leave no deleted key in the store's files: on SQLite checkpoint the WAL into the
        database (whose deleted cells are zeroed) and truncate the WAL; on PostgreSQL vacuum
        the table. Returns False when readers kept the checkpoint from finishing; the worker's
        `vault.scrub_keystore` job runs it again every five minutes."""
        if self.db.dialect == "sqlite":
            with self.db.engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                # A reader's open snapshot holds the checkpoint back: wait for it briefly, not
                # for the 30 s every other statement may wait.
                raw.execute(f"PRAGMA busy_timeout={_CHECKPOINT_WAIT_MS}")
                try:
                    for _attempt in range(_CHECKPOINT_TRIES):
                        busy, _frames, _done = raw.execute(
                            "PRAGMA wal_checkpoint(TRUNCATE)"
                        ).fetchone()
                        if not busy:
                            return True
                finally:
                    raw.execute(f"PRAGMA busy_timeout={int(self.db.limits.lock_timeout * 1000)}")
            log.warning("key store checkpoint kept busy by readers; the scrub job retries it")
            return False
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM {DataKey.__tablename__}"))
            conn.execute(text(f"VACUUM {OrganizationKey.__tablename__}"))
        return True

    def _append_journal_file(self, entries: list[JournalEntry]) -> None:
        assert self.journal_file is not None
        self.journal_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.journal_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as handle:
            handle.write("".join(entry.as_json() + "\n" for entry in entries))
            handle.flush()
            os.fsync(handle.fileno())

    def journal(self, since: str | None = None) -> list[JournalEntry]:
        """Every recorded erasure (optionally those at or after `since`, an ISO time)."""
        query = select(
            ErasureJournalEntry.organization_id,
            ErasureJournalEntry.key_id,
            ErasureJournalEntry.erased_at,
        ).order_by(ErasureJournalEntry.id)
        if since is not None:
            query = query.where(ErasureJournalEntry.erased_at >= since)
        with self.db.session() as session:
            return [JournalEntry(int(o), str(k), str(a)) for o, k, a in session.execute(query)]

    def record_journal(self, entries: Iterable[JournalEntry]) -> int:
        """Add erasures learned elsewhere (a journal file, a newer key store) that this store
        does not hold yet. Returns how many were new."""
        known = {(e.organization_id, e.key_id) for e in self.journal()}
        fresh = [e for e in entries if (e.organization_id, e.key_id) not in known]
        if fresh:
            with self.db.session() as session:
                session.execute(
                    insert(ErasureJournalEntry),
                    [
                        {
                            "organization_id": e.organization_id,
                            "key_id": e.key_id,
                            "erased_at": e.erased_at,
                        }
                        for e in fresh
                    ],
                )
        return len(fresh)

    def prune_journal(self, before: str) -> int:
        """Forget erasures older than `before`: no backup that could still be decrypted was
        taken before them (honorbound.backup calls this when it destroys an epoch key)."""
        with self.db.session() as session:
            result = session.execute(
                delete(ErasureJournalEntry).where(ErasureJournalEntry.erased_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def data_key_count(self, organization_id: int) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(DataKey)
                    .where(DataKey.organization_id == organization_id)
                )
                or 0
            )

    def has_data_key(self, organization_id: int, key_id: str) -> bool:
        with self.db.session() as session:
            return session.get(DataKey, (organization_id, key_id)) is not None

    # -- rotation ----------------------------------------------------------------------------
    def rotate(self, organization_id: int) -> RotationResult:
        """New random KEK; re-wrap every DEK under it in one transaction; delete the old KEK."""
        with self._lock:
            self._keks.pop(organization_id, None)
            old_version, old_kek = self._active_kek(organization_id)
            new_version, new_kek = old_version + 1, os.urandom(32)
            rewrapped = 0
            with self.db.session() as session:
                session.execute(
                    update(OrganizationKey)
                    .where(OrganizationKey.organization_id == organization_id)
                    .values(active=False)
                )
                session.add(
                    OrganizationKey(
                        organization_id=organization_id,
                        version=new_version,
                        wrapped=seal(
                            self._wrapping_key(organization_id),
                            new_kek,
                            _kek_aad(organization_id, new_version),
                        ),
                        active=True,
                        created_at=utcnow().isoformat(),
                    )
                )
                rows = session.execute(
                    select(DataKey.key_id, DataKey.kek_version, DataKey.wrapped).where(
                        DataKey.organization_id == organization_id
                    )
                ).all()
                updates = []
                for key_id, version, wrapped in rows:
                    kek = old_kek if version == old_version else self._kek(organization_id, version)
                    dek = open_sealed(kek, wrapped, _dek_aad(organization_id, key_id, version))
                    updates.append(
                        {
                            "organization_id": organization_id,
                            "key_id": key_id,
                            "kek_version": new_version,
                            "wrapped": seal(
                                new_kek, dek, _dek_aad(organization_id, key_id, new_version)
                            ),
                        }
                    )
                if updates:
                    # ORM bulk UPDATE by primary key: one executemany.
                    session.execute(update(DataKey), updates)
                    rewrapped = len(updates)
                session.execute(
                    delete(OrganizationKey).where(
                        OrganizationKey.organization_id == organization_id,
                        OrganizationKey.version != new_version,
                    )
                )
            self._keks[organization_id] = (new_version, new_kek)
        # The old KEK's row is deleted: leave no copy of it in the files either.
        self.scrub()
        return RotationResult(organization_id, old_version, new_version, rewrapped)
