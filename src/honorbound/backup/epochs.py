"""Backup epoch keys: one random key per period, destroyed when its backups expire.

Every backup is encrypted under the key of the epoch it was made in. An epoch is used for new
backups for `epoch_days`; its key is destroyed `retention_days` after that, when the last backup
made under it has expired. From then on no copy of those backups, wherever it is kept, can be
decrypted, even with the master key: that is what bounds how long an erased person survives in
backups (docs/vault.md, "Backups").

The keys live in their own small file (default `data_dir/backup-keys.json`, mode 0600), each
wrapped under a key from the key-encryption-key provider (the master key or an HSM), so the file
alone opens nothing. Keep the file with the master key, not with the backups: restoring after a
disaster needs it. Destroying an epoch rewrites the file without it and overwrites the old
file's bytes in place (on copy-on-write filesystems and in copies of the file the old bytes may
remain; the docs say so).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from honorbound.errors import HonorboundError

FORMAT = "honorbound-backup-keys/1"
WRAP_LABEL = "backup-epoch-wrap"


class Wrapping(Protocol):
    def derived(self, label: str) -> bytes: ...


class EpochError(HonorboundError):
    """An epoch key is missing, destroyed, or its file is unreadable; the message says which."""

    status = 422
    title = "Invalid key epoch"


@dataclass(frozen=True)
class Epoch:
    id: str
    created_at: dt.datetime
    use_until: dt.datetime
    destroy_after: dt.datetime


@dataclass(frozen=True)
class Policy:
    """How long an epoch takes new backups, and how long its backups are kept after that."""

    epoch_days: int
    retention_days: int


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _parse(value: object, where: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise EpochError(f"{where}: not an ISO date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class EpochKeys:
    """The epoch key file. Safe for several processes: every change holds an exclusive lock on
    a sidecar lock file and replaces the file atomically."""

    def __init__(self, path: Path, wrapping: Wrapping, policy: Policy) -> None:
        self.path = path
        self.policy = policy
        self._wrap = AESGCM(wrapping.derived(WRAP_LABEL))

    # -- file --------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> list[dict[str, str]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            doc = json.loads(raw)
        except ValueError:
            raise EpochError(f"{self.path}: not JSON; the backup key file is damaged") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise EpochError(f"{self.path}: not a Honorbound backup key file ({FORMAT})")
        epochs = doc.get("epochs")
        if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
            raise EpochError(f"{self.path}: 'epochs' must be a list of objects")
        return epochs

    def _write(self, epochs: list[dict[str, str]]) -> None:
        """Replace the file atomically, then overwrite the replaced file's bytes with zeros
        (its inode stays open across the rename), so a destroyed key is not left in them."""
        content = json.dumps({"format": FORMAT, "epochs": epochs}, indent=1).encode()
        temporary = self.path.with_name(self.path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        old = None
        with contextlib.suppress(FileNotFoundError):
            old = open(self.path, "r+b")  # noqa: SIM115 - kept open across the rename
        os.replace(temporary, self.path)
        if old is not None:
            with old:
                size = os.fstat(old.fileno()).st_size
                old.seek(0)
                old.write(b"\0" * size)
                old.flush()
                os.fsync(old.fileno())
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @staticmethod
    def _epoch(row: dict[str, str]) -> Epoch:
        where = f"epoch {row.get('id', '?')}"
        return Epoch(
            str(row.get("id", "")),
            _parse(row.get("created_at"), where),
            _parse(row.get("use_until"), where),
            _parse(row.get("destroy_after"), where),
        )

    # -- use ---------------------------------------------------------------------------------
    def all(self) -> list[Epoch]:
        return [self._epoch(row) for row in self._read()]

    def current(self, now: dt.datetime) -> tuple[Epoch, bytes]:
        """The epoch new backups go under at `now` (created when none is open) and its key."""
        with self._locked():
            rows = self._read()
            for row in rows:
                epoch = self._epoch(row)
                if epoch.created_at <= now < epoch.use_until:
                    return epoch, self._unwrap(row)
            key = secrets.token_bytes(32)
            created = now.astimezone(dt.UTC)
            use_until = created + dt.timedelta(days=self.policy.epoch_days)
            epoch = Epoch(
                f"e{created:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}",
                created,
                use_until,
                use_until + dt.timedelta(days=self.policy.retention_days),
            )
            wrapped = self._wrap.encrypt(nonce := secrets.token_bytes(12), key, epoch.id.encode())
            rows.append(
                {
                    "id": epoch.id,
                    "created_at": _iso(epoch.created_at),
                    "use_until": _iso(epoch.use_until),
                    "destroy_after": _iso(epoch.destroy_after),
                    "wrapped": base64.b64encode(nonce + wrapped).decode("ascii"),
                }
            )
            self._write(rows)
            return epoch, key

    def key(self, epoch_id: str) -> bytes:
        """The key of a backup's epoch; `EpochError` saying why when it cannot be had."""
        for row in self._read():
            if row.get("id") == epoch_id:
                return self._unwrap(row)
        if not self.path.exists():
            raise EpochError(
                f"the backup key file {self.path} does not exist: restore it from where you "
                "keep it with the master key (HONORBOUND_BACKUP_KEYS_FILE names its path)"
            )
        raise EpochError(
            f"the key of backup epoch {epoch_id} is not in {self.path}: it was destroyed when "
            "the epoch's backups expired (or the file is another installation's); this backup "
            "can no longer be decrypted by anyone"
        )

    def _unwrap(self, row: dict[str, str]) -> bytes:
        try:
            blob = base64.b64decode(row["wrapped"], validate=True)
            return self._wrap.decrypt(blob[:12], blob[12:], str(row["id"]).encode())
        except (KeyError, ValueError, InvalidTag):
            raise EpochError(
                f"epoch {row.get('id', '?')}: its key does not unwrap (another installation's "
                "backup key file, or another master key)"
            ) from None

    def expire(self, now: dt.datetime) -> list[Epoch]:
        """Destroy the keys of epochs whose backups have all expired; returns them."""
        with self._locked():
            rows = self._read()
            keep: list[tuple[dict[str, str], Epoch]] = []
            gone: list[tuple[dict[str, str], Epoch]] = []
            for row in rows:
                epoch = self._epoch(row)
                (gone if epoch.destroy_after <= now else keep).append((row, epoch))
            if gone:
                self._write([row for row, _ in keep])
            return [epoch for _, epoch in gone]

    def oldest_live(self) -> Epoch | None:
        epochs = self.all()
        return min(epochs, key=lambda e: e.created_at) if epochs else None
