"""A throw-away database for a benchmark, removed when it ends (issue 22: benchmarks had left
multi-GB databases in the temporary directory)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def throwaway_database(url: str | None, tmp: Path, name: str) -> tuple[str, Callable[[], None]]:
    """The database URL for the run and how to remove it: a SQLite file `name`.db in `tmp`
    (the caller removes `tmp`), or a new database on the PostgreSQL server of `url`, dropped
    by the returned function."""
    if url is None:
        return f"sqlite:///{tmp / (name + '.db')}", lambda: None
    database = f"hb_bench_{name}_{secrets.token_hex(4)}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))

    def drop() -> None:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        server.dispose()

    return make_url(url).set(database=database).render_as_string(hide_password=False), drop
