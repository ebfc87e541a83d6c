"""Engines and sessions. SQLite gets WAL, foreign keys and synchronous=FULL on every connection.

Two kinds of unit of work: `session()` (reads and writes; on SQLite it takes the write lock at
BEGIN) and `read_session()` (reads only, enforced by the database: SQLite `query_only`,
PostgreSQL `READ ONLY`). A read session never waits for a writer, so health checks and
reads answer while another process holds the write lock.

Every wait is bounded (`Limits`): for a pooled connection (`pool_timeout`) and for a lock
(`lock_timeout`: SQLite's busy timeout, PostgreSQL's lock_timeout). Past either, the database
layer raises and `is_contention` tells the adapters to answer "busy, retry" (503), not 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from honorbound.db.files import private_sqlite_file

READ_ONLY = "honorbound_read_only"


def _uri_file(database: str) -> bool:
    """`file:...` URI names (shared in-memory databases in tests) are not paths."""
    return database.startswith("file:")


@dataclass(frozen=True)
class Limits:
    """Connection pool and lock waits of one engine (see docs/configuration.md)."""

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    lock_timeout: float = 30.0


def _sqlite_pragmas(lock_timeout: float) -> Any:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Personal data writes must survive a power cut once committed.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.close()

    return set_pragmas


def _sqlite_begin(conn: Any) -> None:
    read_only = bool(conn.get_execution_options().get(READ_ONLY))
    # `info` lives as long as the DBAPI connection: the pragma is sent only when it changes.
    info = conn.connection.info
    if info.get(READ_ONLY, False) != read_only:
        conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
        info[READ_ONLY] = read_only
    # Writers take the write lock at BEGIN so two writers never deadlock on lock upgrade;
    # readers take no lock at all (WAL: they read a snapshot, never waiting for a writer).
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def compact_json(value: Any) -> str:
    """How JSON columns are stored: without the space the standard library puts after `,` and
    `:` (ASCII-escaped, key order kept, as before). An audit entry's details, whose keys are
    already sorted, are then stored in the form its hash covers, so verification hashes the
    stored text as it is instead of parsing and re-encoding it (`audit.chain.walk`)."""
    return json.dumps(value, separators=(",", ":"))


def make_engine(url: str, limits: Limits | None = None, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    limits = limits or Limits()
    kwargs.setdefault("json_serializer", compact_json)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", limits.pool_size)
        kwargs.setdefault("max_overflow", limits.max_overflow)
        kwargs.setdefault("pool_timeout", limits.pool_timeout)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not _uri_file(parsed.database):
            private_sqlite_file(Path(parsed.database))
        else:
            for name in ("pool_size", "max_overflow", "pool_timeout"):
                kwargs.pop(name, None)  # an in-memory database has a single-connection pool
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(limits.lock_timeout))
        # pysqlite's own transaction handling is switched off so BEGIN IMMEDIATE takes effect.
        event.listen(
            engine,
            "connect",
            lambda dbapi_conn, _rec: setattr(dbapi_conn, "isolation_level", None),
        )
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options = f"-c lock_timeout={int(limits.lock_timeout * 1000)}"
        kwargs.setdefault("connect_args", {"options": options})
    return create_engine(url, pool_pre_ping=True, **kwargs)


# SQLite: "database is locked"/"busy"; PostgreSQL SQLSTATEs: lock_not_available (lock_timeout),
# deadlock_detected, serialization_failure, query_canceled (statement/lock timeout on older
# servers), too_many_connections.
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001", "57014", "53300"})


def is_contention(error: BaseException) -> bool:
    """True for a failure that only means "the database was busy": a full pool, a lock not
    granted in time, a deadlock or serialization victim. Trying again later can succeed."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection within pool_timeout
        return True
    if isinstance(error, exc.OperationalError | exc.DBAPIError):
        original = error.orig
        sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        if sqlstate in _BUSY_SQLSTATES:
            return True
        message = str(original).lower()
        return "database is locked" in message or "database is busy" in message
    return False


class Database:
    """One engine and its session factories. Pass it to what needs the database."""

    def __init__(self, url: str, limits: Limits | None = None, **engine_kwargs: Any) -> None:
        self.url = url
        self.limits = limits or Limits()
        self.engine = make_engine(url, self.limits, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        readonly = {"postgresql_readonly": True} if self.engine.dialect.name == "postgresql" else {}
        self.read_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}, **readonly),
            expire_on_commit=False,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads; a write in it fails (the database refuses it)."""
        session = self.read_sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
