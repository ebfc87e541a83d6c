"""The recording store: a local folder by default, one directory per recording.

    <root>/inbox/                              audio dropped by the dialer for the API to ingest
    <root>/<recording id>/manifest.json        counts and hashes, no personal data
    <root>/<recording id>/redacted.wav|.flac   the redacted audio
    <root>/<recording id>/transcript.json      the redacted transcript with word timings
    <root>/<recording id>/original.sealed      only when keeping the original is allowed

The store of an organization is `<recordings_dir>/org-<id>/` (`for_organization`): one
client's calls never sit in another's folder. Directories are 0700, files 0600. A recording
is written into `<root>/.staging/` and renamed into place in one step once complete, so a
failure part-way stores nothing (the staging directory is removed; one left by a crash is
swept on the next ingest).

The original, when kept, is sealed with the person's own data key (AES-GCM in 1 MiB chunks,
each chunk's number and a last-chunk flag bound into its associated data so chunks cannot be
reordered, dropped or cut short): erasing the person's key makes it unreadable, like the rest
of their vault data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import struct
import time
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, Any

from honorbound.crypto.aead import open_sealed, seal
from honorbound.recordings.errors import RecordingError

SEALED_MAGIC = b"HBREC1\n"
CHUNK = 1 << 20
STALE_STAGING_S = 24 * 3600


class RecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_organization(cls, base: Path, organization_id: int) -> RecordingStore:
        return cls(base / f"org-{int(organization_id)}")

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def inbox_file(self, name: str) -> Path:
        """A regular file dropped in the inbox, by its bare name (no paths, no links)."""
        if not name or name.startswith(".") or "/" in name or "\\" in name or len(name) > 200:
            raise RecordingError("`audio` must be the bare name of a file in the inbox")
        path = self.inbox / name
        if path.is_symlink() or not path.is_file():
            raise RecordingError("no such file in the recordings inbox")
        return path

    def _ensure(self) -> None:
        for d in (self.root, self.root / ".staging"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh directory to build a recording in; removed unless committed."""
        self._ensure()
        self._sweep()
        path = self.root / ".staging" / uuid.uuid4().hex
        path.mkdir(mode=0o700)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _sweep(self) -> None:
        cutoff = time.time() - STALE_STAGING_S
        for d in (self.root / ".staging").iterdir():
            with contextlib.suppress(OSError):
                if d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True)

    def commit(self, staging: Path, recording_id: str, keep: set[str]) -> Path:
        """Move the files named in `keep` from `staging` into place as one recording."""
        final = self.root / recording_id
        ready = staging / "ready"
        ready.mkdir(mode=0o700)
        for name in keep:
            src = staging / name
            os.chmod(src, 0o600)
            with src.open("rb") as fh:
                os.fsync(fh.fileno())
            src.rename(ready / name)
        os.rename(ready, final)  # atomic: the recording appears whole or not at all
        return final

    def path(self, recording_id: str) -> Path:
        if (
            not recording_id
            or "/" in recording_id
            or recording_id.startswith(".")
            or recording_id == "inbox"
        ):
            raise RecordingError("not a recording id")
        return self.root / recording_id

    def uri(self, recording_id: str) -> str:
        return self.path(recording_id).resolve().as_uri()

    def delete(self, recording_id: str) -> bool:
        p = self.path(recording_id)
        if not p.exists():
            return False
        shutil.rmtree(p)
        return True

    def recording_ids(self) -> list[str]:
        if not self.root.exists():
            return []
        return [
            d.name
            for d in sorted(self.root.iterdir())
            if not d.name.startswith(".") and d.name != "inbox" and d.is_dir()
        ]

    def manifest(self, recording_id: str) -> dict[str, Any]:
        doc = json.loads((self.path(recording_id) / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("manifest.json is not an object")
        return doc

    def _replace_manifest(self, recording_id: str, manifest: dict[str, Any]) -> None:
        folder = self.path(recording_id)
        tmp = folder / f".manifest.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / "manifest.json")

    def delete_original(self, recording_id: str, when: dt.datetime) -> bool:
        """Delete a kept original (its period ended); the manifest then says when. False when
        there was none."""
        manifest = self.manifest(recording_id)
        sealed = self.path(recording_id) / "original.sealed"
        existed = sealed.exists()
        sealed.unlink(missing_ok=True)
        manifest["original_kept"] = False
        manifest["original_deleted_at"] = when.astimezone(dt.UTC).isoformat(timespec="seconds")
        self._replace_manifest(recording_id, manifest)
        return existed

    def of_subject(
        self, subject_id: int, caller_indexes: Collection[str] = ()
    ) -> list[tuple[Path, dict[str, Any]]]:
        """(folder, manifest) of every recording of this vault subject: ingested under their
        id, or from a caller number whose blind index is one of `caller_indexes` (the person's
        phone identities: a caller not yet identified at ingest, matched later)."""
        wanted = set(caller_indexes)
        found = []
        for rid in self.recording_ids():
            try:
                manifest = self.manifest(rid)
            except (OSError, ValueError):
                continue
            if manifest.get("subject_id") == subject_id or (
                wanted and manifest.get("caller_index") in wanted
            ):
                found.append((self.path(rid), manifest))
        return found

    def delete_for_subject(self, subject_id: int, caller_indexes: Collection[str] = ()) -> int:
        """Delete every recording of this vault subject (see `of_subject`); how many were."""
        found = self.of_subject(subject_id, caller_indexes)
        for folder, _manifest in found:
            shutil.rmtree(folder)
        return len(found)


def _ad(associated: bytes, index: int, last: bool) -> bytes:
    return associated + struct.pack(">QB", index, 1 if last else 0)


def seal_file(src: Path, dst: Path, key: bytes, associated: bytes) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
        fout.write(SEALED_MAGIC)
        index = 0
        chunk = fin.read(CHUNK)
        while True:
            nxt = fin.read(CHUNK)
            last = not nxt
            sealed = seal(key, chunk, _ad(associated, index, last))
            fout.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                break
            chunk, index = nxt, index + 1


def open_sealed_file(src: Path, out: IO[bytes], key: bytes, associated: bytes) -> None:
    """Write the original audio sealed in `src` to `out`; raises DecryptionError when any
    chunk is altered, reordered or missing."""
    from honorbound.crypto.aead import DecryptionError

    with src.open("rb") as fin:
        if fin.read(len(SEALED_MAGIC)) != SEALED_MAGIC:
            raise DecryptionError("not a sealed recording")
        index = 0
        while True:
            head = fin.read(4)
            if len(head) < 4:
                raise DecryptionError("the sealed recording is cut short")
            (size,) = struct.unpack(">I", head)
            sealed = fin.read(size)
            more = bool(fin.peek(1)) if hasattr(fin, "peek") else True
            out.write(open_sealed(key, sealed, _ad(associated, index, not more)))
            if not more:
                return
            index += 1
