"""Consistent copies of one database, by its own tools: SQLite's online backup API (a copy of
every page as of one moment, taken while the server runs) and PostgreSQL's `pg_dump` /
`pg_restore` (custom format, one snapshot transaction)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy.engine import URL, make_url

from honorbound.errors import HonorboundError

PG_DIRS = "/usr/lib/postgresql"


class SnapshotError(HonorboundError, RuntimeError):
    """A database could not be copied or restored; the message names the database and why."""

    status = 500
    title = "Snapshot failed"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise SnapshotError(f"{url}: an in-memory database cannot be backed up")
    return Path(parsed.database)


def dialect(url: str) -> str:
    return make_url(url).get_backend_name()


def private_file(path: Path) -> None:
    """Create (or empty) `path` readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page as of one moment (WAL content included)."""
    if not source.exists():
        raise SnapshotError(f"{source}: no such database file")
    private_file(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"{source}: cannot be copied ({exc})") from None
    finally:
        dst.close()
        src.close()


def check_sqlite(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (result,) = conn.execute("PRAGMA integrity_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"the restored database is not a SQLite database ({exc})") from None
    if result != "ok":
        raise SnapshotError(f"the restored database fails SQLite's integrity check: {result}")


def _pg_tool(name: str, tools_dir: Path | None) -> str:
    if tools_dir is not None:
        candidate = tools_dir / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
        raise SnapshotError(f"{candidate} is not an executable {name}")
    # Debian keeps each major version's tools apart; the newest can dump every older server.
    versions = sorted(
        (p for p in Path(PG_DIRS).glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()),
        key=lambda p: int(p.parent.parent.name),
    )
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if found is None:
        raise SnapshotError(
            f"{name} not found: install PostgreSQL's client tools (Debian: postgresql-client)"
        )
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (which goes in PGPASSWORD, never on a command line)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


@contextmanager
def pg_dump(url: str, tools_dir: Path | None) -> Iterator[IO[bytes]]:
    """The database as a pg_dump custom-format stream."""
    uri, env = _libpq(url)
    process = subprocess.Popen(
        [_pg_tool("pg_dump", tools_dir), "--format=custom", "--no-owner", "--dbname", uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    try:
        yield process.stdout
    finally:
        process.stdout.close()
        _, err = process.communicate()
    if process.returncode != 0:
        raise SnapshotError(f"pg_dump failed: {err.decode(errors='replace').strip()[:500]}")


def pg_restore(url: str, dump: Path, tools_dir: Path | None) -> None:
    """Replace the database's content with a pg_dump file, in one transaction."""
    uri, env = _libpq(url)
    done = subprocess.run(
        [
            _pg_tool("pg_restore", tools_dir),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            uri,
            str(dump),
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()[:500]
        raise SnapshotError(f"pg_restore failed: {message}")
