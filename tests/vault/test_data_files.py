"""Every data file is 0600 and the data directory 0700, read from the disk (issue 14, defect 14):
the data database, the key store and the job queue, with their WAL and shared-memory files,
whatever the umask of the process that created them."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from honorbound.accounts.service import create_organization
from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.db import migrate
from honorbound.runtime import build_runtime


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask most servers run with: files 0644, directories 0755 unless we say otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode)
        for path in [root, *root.rglob("*")]
    }


MASTER = secrets.token_hex(32)


def _use(data_dir: Path) -> dict[str, int]:
    settings = Settings(data_dir=data_dir, master_key=MASTER, base_url="http://testserver")
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings, immediate_jobs=False)
    try:
        with runtime.db.session() as session:
            org = create_organization(
                session, f"files-{secrets.token_hex(4)}", "Files", Actor("test", "system")
            )
        runtime.vault_keys.create_data_key(org.id, secrets.token_hex(16))
        modes = _modes(data_dir)  # while the connections are open: WAL and SHM files exist
    finally:
        runtime.close()
    return modes


def test_a_new_installation_writes_only_private_files(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "data"
    modes = _use(data_dir)
    expected = {"honorbound.db", "keys.db", "jobs.db", "honorbound.db-wal", "keys.db-wal"}
    assert expected <= set(modes), modes
    assert modes.pop(".") == 0o700
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {}


def test_files_of_an_older_installation_are_made_private(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "data"
    _use(data_dir)
    for path in [data_dir, *data_dir.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (data_dir / "honorbound.db-wal").touch(mode=0o644)
    os.chmod(data_dir / "honorbound.db-wal", 0o644)
    modes = _use(data_dir)
    assert modes.pop(".") == 0o700
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {}
