"""`honorbound backup create|verify|list|expire` and `honorbound restore`: backups encrypted
under epoch keys, restored with the erasure journal replayed (honorbound.backup)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from honorbound.backup import archive
from honorbound.backup.epochs import EpochError
from honorbound.backup.snapshot import SnapshotError, sqlite_path
from honorbound.cli.common import fail, out, runtime, settings
from honorbound.vault.keystore import JournalEntry, KeyStore

app = typer.Typer(
    help="Backups that cannot bring an erased person back (see docs/vault.md, Backups).",
    no_args_is_help=True,
)
ERRORS = (archive.BackupError, EpochError, SnapshotError, OSError)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@app.command("create")
def create_cmd(
    destination: Annotated[Path, typer.Argument(help="Folder that receives the backup.")],
) -> None:
    """Copy the data database and the key store, each encrypted under the current epoch key,
    into a new folder under DESTINATION. Expired epoch keys are destroyed first."""
    rt = runtime()
    try:
        gone, _ = archive.expire(rt.epochs, rt.vault_keys, _now())
        made = archive.create_backup(rt.installation(), rt.epochs, destination, _now())
    except ERRORS as exc:
        fail(str(exc))
    finally:
        rt.close()
    for epoch in gone:
        out.print(f"destroyed expired epoch key {epoch}")
    out.print(
        f"backup written to {made.path} (epoch {made.epoch}; data {made.sizes['data']:,} bytes, "
        f"keys {made.sizes['keys']:,} bytes); it can be restored until "
        f"{made.destroy_after:%Y-%m-%d %H:%M} UTC, then its key is destroyed"
    )


@app.command("verify")
def verify_cmd(
    folder: Annotated[Path, typer.Argument(help="A backup folder (honorbound-...Z).")],
) -> None:
    """Check a backup without restoring it: every file's hash, then every chunk decrypted."""
    rt = runtime()
    try:
        manifest = archive.verify_backup(folder, rt.epochs)
    except ERRORS as exc:
        fail(str(exc), code=1)
    finally:
        rt.close()
    out.print(f"{folder}: intact (epoch {manifest['epoch']}, made {manifest['created_at']})")


@app.command("list")
def list_cmd() -> None:
    """The epoch keys held now, and when each is destroyed."""
    rt = runtime()
    try:
        epochs = rt.epochs.all()
    except ERRORS as exc:
        fail(str(exc))
    finally:
        rt.close()
    if not epochs:
        out.print("no backup epoch keys yet (the first `honorbound backup create` makes one)")
    for epoch in epochs:
        out.print(
            f"{epoch.id}: new backups until {epoch.use_until:%Y-%m-%d %H:%M}, key destroyed "
            f"after {epoch.destroy_after:%Y-%m-%d %H:%M} UTC"
        )


@app.command("expire")
def expire_cmd() -> None:
    """Destroy the epoch keys whose backups have all expired (the worker does this daily)."""
    rt = runtime()
    try:
        gone, pruned = archive.expire(rt.epochs, rt.vault_keys, _now())
    except ERRORS as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(
        f"{len(gone)} epoch key(s) destroyed{': ' + ', '.join(gone) if gone else ''}; "
        f"{pruned} journal entr{'y' if pruned == 1 else 'ies'} no longer needed"
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="A backup folder (honorbound-...Z).")],
    journal: Annotated[
        list[Path] | None,
        typer.Option(help="An erasure journal file to replay too (repeatable)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace the installation's existing databases.")
    ] = False,
) -> None:
    """Restore a backup into this installation (stop the server and worker first). Every
    erasure in the journal (the live key store's, the backup's own, the configured journal
    file and any --journal) is applied again before the restored data is put in place."""
    loaded = settings()
    existing = [
        path
        for path in (
            sqlite_path(loaded.resolved_database_url),
            sqlite_path(loaded.resolved_keystore_url),
        )
        if path is not None and path.exists()
    ]
    if existing and not force:
        fail(
            f"{existing[0]} exists: restoring replaces it; stop the server and worker, then run "
            "again with --force"
        )
    entries: list[JournalEntry] = []
    files = list(journal or [])
    if loaded.erasure_journal_file is not None and loaded.erasure_journal_file.exists():
        files.append(loaded.erasure_journal_file)
    rt = runtime(loaded=loaded)
    try:
        for path in files:
            entries.extend(archive.read_journal_file(path))
        entries.extend(rt.vault_keys.journal())  # the live store's, before it is replaced
        rt.vault_keys.close()
        rt.db.dispose()
        done = archive.restore_backup(
            rt.installation(),
            rt.epochs,
            folder,
            entries,
            lambda url: KeyStore(url, rt.keys),
        )
    except ERRORS as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(
        f"restored the backup of {done.created_at} (epoch {done.epoch}); journal of "
        f"{done.journal_entries} erasure(s) replayed: {done.keys_destroyed} key(s) destroyed, "
        f"{done.subjects_erased} subject(s) erased again"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="backup")
    root.command("restore")(restore)
