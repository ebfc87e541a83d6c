"""The recording store: a local folder by default, or any fsspec store (`memory://`, `s3://`,
`gcs://`, `sftp://`...) named by `HONORBOUND_RECORDINGS_URL`; one prefix per recording.

    <root>/inbox/                              audio dropped by the dialer for the API to ingest
    <store>/<recording id>/manifest.json       counts and hashes, no personal data
    <store>/<recording id>/redacted.wav|.flac  the redacted audio
    <store>/<recording id>/transcript.json     the redacted transcript with word timings
    <store>/<recording id>/original.sealed     only when keeping the original is allowed

The store of an organization is `<store>/org-<id>/` (`for_organization`): one client's calls
never sit in another's folder or prefix. `root` is always a local folder: the store itself when
it is local, and in every case the inbox and the staging folder (audio is decoded, redacted and
sealed on local disk, never in the object store).

A recording is written into `<root>/.staging/` first. On a local store it is renamed into place
in one step (directories 0700, files 0600). On an object store there is no rename: every file is
uploaded, `manifest.json` last, and a recording without its manifest does not exist for any
reader (`exists`, `recording_ids`); a failed upload removes what it wrote. Either way a failure
part-way stores nothing (a staging directory left by a crash is swept on the next ingest).

The original, when kept, is sealed with the person's own data key (AES-GCM in 1 MiB chunks,
each chunk's number and a last-chunk flag bound into its associated data so chunks cannot be
reordered, dropped or cut short) before it leaves the staging folder: the object store only ever
holds the sealed bytes, and erasing the person's key makes them unreadable, like the rest of
their vault data. Deleting a recording removes every object under its prefix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import struct
import tempfile
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
MANIFEST = "manifest.json"


def _object_store(location: str) -> tuple[Any, str] | None:
    """(filesystem, path) of an fsspec URL that is not the local disk; None for a local one."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    try:
        fs, path = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as exc:
        # fsspec names the missing package (s3fs, gcsfs...) or the bad URL; no secret in it.
        raise RecordingError(f"HONORBOUND_RECORDINGS_URL cannot be opened: {exc}") from None
    if isinstance(fs, LocalFileSystem):
        return None
    return fs, str(path).rstrip("/")


class RecordingStore:
    def __init__(self, root: Path | str, *, local: Path | None = None) -> None:
        """`root`: a folder, or an fsspec URL. `local`: the local folder for the inbox and
        staging when `root` is an object store (default: a folder under the temp directory)."""
        remote = _object_store(root) if isinstance(root, str) else None
        if remote is None:
            self.root = Path(root.removeprefix("file://") if isinstance(root, str) else root)
            self.fs: Any = None
            self.base = str(self.root)
        else:
            self.fs, self.base = remote
            self.root = local or Path(tempfile.gettempdir()) / "honorbound-recordings"

    @property
    def is_local(self) -> bool:
        return self.fs is None

    @classmethod
    def for_organization(
        cls, base: Path | str, organization_id: int, local: Path | None = None
    ) -> RecordingStore:
        """`base`: the recordings folder or URL (`Settings.recordings_store`); `local`: the local
        recordings folder (`Settings.resolved_recordings_dir`) for the inbox and staging."""
        org = f"org-{int(organization_id)}"
        if isinstance(base, Path):
            return cls(base / org)
        return cls(base.rstrip("/") + "/" + org, local=(local / org) if local else None)

    @property
    def location(self) -> str:
        """Where the recordings are (a folder, or a URL with its protocol)."""
        return self.base if self.is_local else str(self.fs.unstrip_protocol(self.base))

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
        """A fresh local directory to build a recording in; removed unless committed."""
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

    def check_id(self, recording_id: str) -> str:
        if (
            not recording_id
            or "/" in recording_id
            or "\\" in recording_id
            or recording_id.startswith(".")
            or recording_id == "inbox"
        ):
            raise RecordingError("not a recording id")
        return recording_id

    def _key(self, recording_id: str, name: str | None = None) -> str:
        prefix = f"{self.base}/{self.check_id(recording_id)}"
        return prefix if name is None else f"{prefix}/{name}"

    def commit(self, staging: Path, recording_id: str, keep: set[str]) -> Path | None:
        """Move the files named in `keep` from `staging` into place as one recording; its
        local folder (None on an object store)."""
        if not self.is_local:
            self._upload(staging, recording_id, keep)
            return None
        final = self.path(recording_id)
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

    def _upload(self, staging: Path, recording_id: str, keep: set[str]) -> None:
        # The manifest goes last: until it is there, the recording does not exist.
        order = sorted(keep - {MANIFEST}) + ([MANIFEST] if MANIFEST in keep else [])
        try:
            for name in order:
                self.fs.put_file(str(staging / name), self._key(recording_id, name))
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.fs.rm(self._key(recording_id), recursive=True)
            raise RecordingError(
                f"the recording store could not be written ({type(exc).__name__}); "
                "nothing was stored"
            ) from None

    def path(self, recording_id: str) -> Path:
        """The local folder of a recording (local stores only)."""
        if not self.is_local:
            raise RecordingError("the recording store is not a local folder")
        return self.root / self.check_id(recording_id)

    def uri(self, recording_id: str) -> str:
        if self.is_local:
            return self.path(recording_id).resolve().as_uri()
        return str(self.fs.unstrip_protocol(self._key(recording_id)))

    def exists(self, recording_id: str) -> bool:
        if self.is_local:
            return self.path(recording_id).exists()
        return bool(self.fs.exists(self._key(recording_id, MANIFEST)))

    def has(self, recording_id: str, name: str) -> bool:
        if self.is_local:
            return (self.path(recording_id) / name).exists()
        return bool(self.fs.exists(self._key(recording_id, name)))

    def read_bytes(self, recording_id: str, name: str) -> bytes:
        """A file of a recording; OSError (FileNotFoundError) when it is not there."""
        if self.is_local:
            return (self.path(recording_id) / name).read_bytes()
        return bytes(self.fs.cat_file(self._key(recording_id, name)))

    def read_json(self, recording_id: str, name: str) -> Any:
        return json.loads(self.read_bytes(recording_id, name).decode("utf-8"))

    def write_json(self, recording_id: str, name: str, doc: Any) -> None:
        """Replace one small JSON file of a recording in one step."""
        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not self.is_local:
            self.fs.pipe_file(self._key(recording_id, name), data)  # one PUT: whole or nothing
            return
        folder = self.path(recording_id)
        tmp = folder / f".{name}.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)

    def remove(self, recording_id: str, name: str) -> bool:
        """Delete one file of a recording; False when it was not there."""
        if self.is_local:
            p = self.path(recording_id) / name
            existed = p.exists()
            p.unlink(missing_ok=True)
            return existed
        key = self._key(recording_id, name)
        if not self.fs.exists(key):
            return False
        self.fs.rm_file(key)
        return True

    def download(self, recording_id: str, name: str, dest: Path) -> Path:
        """A local copy of one file of a recording (for analysis of stored audio)."""
        if self.is_local:
            return self.path(recording_id) / name
        self.fs.get_file(self._key(recording_id, name), str(dest))
        return dest

    def delete(self, recording_id: str) -> bool:
        if self.is_local:
            p = self.path(recording_id)
            if not p.exists():
                return False
            shutil.rmtree(p)
            return True
        prefix = self._key(recording_id)
        if not self.fs.exists(prefix):
            return False
        self.fs.rm(prefix, recursive=True)
        return True

    def recording_ids(self) -> list[str]:
        if self.is_local:
            if not self.root.exists():
                return []
            return [
                d.name
                for d in sorted(self.root.iterdir())
                if not d.name.startswith(".") and d.name != "inbox" and d.is_dir()
            ]
        try:
            entries = self.fs.ls(self.base, detail=True)
        except FileNotFoundError:
            return []
        names = sorted(
            str(e["name"]).rstrip("/").rsplit("/", 1)[-1]
            for e in entries
            if e.get("type") == "directory"
        )
        return [n for n in names if not n.startswith(".") and self.exists(n)]

    def manifest(self, recording_id: str) -> dict[str, Any]:
        doc = self.read_json(recording_id, MANIFEST)
        if not isinstance(doc, dict):
            raise ValueError("manifest.json is not an object")
        return doc

    def delete_original(self, recording_id: str, when: dt.datetime) -> bool:
        """Delete a kept original (its period ended); the manifest then says when. False when
        there was none."""
        manifest = self.manifest(recording_id)
        existed = self.remove(recording_id, "original.sealed")
        manifest["original_kept"] = False
        manifest["original_deleted_at"] = when.astimezone(dt.UTC).isoformat(timespec="seconds")
        self.write_json(recording_id, MANIFEST, manifest)
        return existed

    def of_subject(
        self, subject_id: int, caller_indexes: Collection[str] = ()
    ) -> list[tuple[str, dict[str, Any]]]:
        """(recording id, manifest) of every recording of this vault subject: ingested under
        their id, or from a caller number whose blind index is one of `caller_indexes` (the
        person's phone identities: a caller not yet identified at ingest, matched later)."""
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
                found.append((rid, manifest))
        return found

    def delete_for_subject(self, subject_id: int, caller_indexes: Collection[str] = ()) -> int:
        """Delete every recording of this vault subject (see `of_subject`); how many were."""
        found = self.of_subject(subject_id, caller_indexes)
        for rid, _manifest in found:
            self.delete(rid)
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
