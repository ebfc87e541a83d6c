"""Data files are private to the account that runs Honorbound.

Every SQLite file (the data database, the key store, the job queue) is created 0600 before
SQLite first opens it, and SQLite gives its write-ahead log, shared-memory and journal files
(`-wal`, `-shm`, `-journal`) the mode of the database file. Files of an older installation
(0644) are set to 0600 when they are opened; the data directory is 0700. The umask of the
process is not changed: this does not depend on how the server was started.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents, 0700) if needed, and make it 0700."""
    if not path.exists():
        if not path.parent.exists():
            private_dir(path.parent)
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite database at `path` and its sidecar files 0600, creating an empty
    database file first (SQLite accepts an empty file as a new database)."""
    if not path.parent.exists():
        private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDECARS)):
        if candidate.exists():
            os.chmod(candidate, PRIVATE_FILE)
