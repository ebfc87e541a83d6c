"""SQL databases through SQLAlchemy URLs: PostgreSQL (psycopg), MariaDB/MySQL (PyMySQL), SQLite.

Tables are reflected from the live database the first time a collection is used, so a map
naming a missing table or column fails with a sentence naming the system and the field, before
anything is changed. Every statement runs with the connection's time-out. Errors the database
raises while reading or writing are reported by kind only: their text can quote row values.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Table,
    and_,
    create_engine,
    delete,
    func,
    inspect,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    NoSuchTableError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.sql.elements import ColumnElement

from honorbound.systems.connectors.base import (
    ConnectorSettings,
    Erased,
    LiveProblem,
    Lookup,
    Row,
    Sample,
)
from honorbound.systems.errors import ConnectionFailed, ExecutionError, SystemAnswerError
from honorbound.systems.maps import CollectionMap, Strategy, SystemMap, effective_strategy
from honorbound.systems.secrets import connection_url, redacted
from honorbound.systems.strategies import HMAC_PREFIX, pseudonym

CHUNK = 500  # values per IN (...) list
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def _engine_url(system: SystemMap, url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConnectionFailed(
            system.key, "the connection URL is not a SQLAlchemy URL", "connection.url"
        ) from None
    if parsed.drivername in DRIVERS:
        parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def _connect_args(backend: str, timeout: float) -> dict[str, Any]:
    if backend == "postgresql":
        ms = int(timeout * 1000)
        return {"connect_timeout": max(1, int(timeout)), "options": f"-c statement_timeout={ms}"}
    if backend in ("mysql", "mariadb"):
        seconds = max(1, int(timeout))
        return {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    if backend == "sqlite":
        return {"timeout": timeout}
    return {}


class SqlConnector:
    def __init__(
        self,
        system: SystemMap,
        settings: ConnectorSettings,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.settings = settings
        url = _engine_url(system, connection_url(system, environ))
        self.where = redacted(url)
        try:
            backend = make_url(url).get_backend_name()
            self.engine: Engine = create_engine(
                url,
                # One connector serves one request or sweep: a small pool, closed with it.
                pool_size=2,
                max_overflow=2,
                connect_args=_connect_args(backend, system.connection.timeout_seconds),
            )
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise ConnectionFailed(
                system.key, f"no database driver for this URL ({type(exc).__name__})", "connection"
            ) from None
        self.backend = backend
        self._tables: dict[str, Table] = {}

    # -- errors --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _guard(self, where: str = "") -> Iterator[None]:
        try:
            yield
        except (ConnectionFailed, ExecutionError, SystemAnswerError):
            raise
        except NoSuchTableError as exc:
            raise ExecutionError(
                self.system.key, f"table '{exc}' is not in the database {self.where}", where
            ) from None
        except OperationalError as exc:
            raise self._operational(exc, where) from None
        except DBAPIError as exc:
            kind = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
            raise ExecutionError(
                self.system.key,
                f"the database refused the statement ({kind}); check the map against the table",
                where,
            ) from None
        except SQLAlchemyError as exc:
            raise ExecutionError(
                self.system.key, f"the statement failed ({type(exc).__name__})", where
            ) from None

    def _operational(self, exc: OperationalError, where: str) -> ConnectionFailed:
        reason = str(exc.orig).strip().splitlines()[0][:200] if exc.orig is not None else ""
        lowered = reason.lower()
        seconds = self.system.connection.timeout_seconds
        if "timeout" in lowered or "timed out" in lowered or "canceling statement" in lowered:
            return ConnectionFailed(self.system.key, f"did not answer within {seconds:g} s", where)
        connecting = (
            "connect",
            "authentication",
            "unable to open",
            "access denied",
            "unknown database",
        )
        if exc.connection_invalidated or any(w in lowered for w in connecting):
            return ConnectionFailed(
                self.system.key, f"cannot connect to {self.where}: {reason}", "connection"
            )
        return ConnectionFailed(
            self.system.key, f"the database failed the statement ({type(exc.orig).__name__})", where
        )

    # -- tables --------------------------------------------------------------------------------
    def table(self, collection: CollectionMap) -> Table:
        cached = self._tables.get(collection.name)
        if cached is not None:
            return cached
        with self._guard(f"collection '{collection.name}'"), self.engine.connect() as conn:
            try:
                table = Table(collection.table, MetaData(), autoload_with=conn)
            except NoSuchTableError:
                raise ExecutionError(
                    self.system.key,
                    f"the map names table '{collection.table}', which is not in the "
                    f"database {self.where}",
                    f"collection '{collection.name}'",
                ) from None
        for f in collection.fields:
            if f.name not in table.c:
                raise ExecutionError(
                    self.system.key,
                    f"the map names column '{f.name}', which table '{collection.table}' does "
                    "not have",
                    f"field '{collection.name}.{f.name}'",
                )
        self._tables[collection.name] = table
        return table

    @staticmethod
    def _coerce(column: Column[Any], values: set[Any]) -> list[Any]:
        """Values as the column's type holds them; values that cannot be of it cannot match."""
        try:
            kind = column.type.python_type
        except NotImplementedError:
            return list(values)
        out = []
        for v in values:
            if v is None:
                continue
            if isinstance(v, kind) and not (kind is int and isinstance(v, bool)):
                out.append(v)
                continue
            try:
                if kind is int:
                    out.append(int(str(v)))
                elif kind is str:
                    out.append(str(v))
                else:
                    out.append(v)
            except ValueError:
                continue
        return out

    def _match(self, table: Table, lookup: Lookup) -> ColumnElement[bool] | None:
        parts: list[ColumnElement[bool]] = []
        for name, values in lookup.items():
            column = table.c[name]
            coerced = self._coerce(column, values)
            for i in range(0, len(coerced), CHUNK):
                parts.append(column.in_(coerced[i : i + CHUNK]))
        return or_(*parts) if parts else None

    # -- a person ------------------------------------------------------------------------------
    def find(self, collection: CollectionMap, lookup: Lookup) -> list[Row]:
        table = self.table(collection)
        cond = self._match(table, lookup)
        if cond is None:
            return []
        limit = self.settings.max_rows
        columns = [table.c[f.name] for f in collection.fields]
        with self._guard(f"collection '{collection.name}'"), self.engine.connect() as conn:
            rows = conn.execute(select(*columns).where(cond).limit(limit + 1)).mappings().all()
        if len(rows) > limit:
            raise ExecutionError(
                self.system.key,
                f"more than {limit} rows match one person; check the map's references",
                f"collection '{collection.name}'",
            )
        return [dict(r) for r in rows]

    def erase(self, collection: CollectionMap, lookup: Lookup) -> Erased:
        table = self.table(collection)
        cond = self._match(table, lookup)
        if cond is None:
            return Erased()
        with self._guard(f"collection '{collection.name}'"), self.engine.begin() as conn:
            return self._erase(conn, collection, table, cond)

    def _erase(
        self, conn: Any, collection: CollectionMap, table: Table, cond: ColumnElement[bool]
    ) -> Erased:
        result = Erased()
        if collection.delete_rows:
            result.rows_deleted = int(conn.execute(delete(table).where(cond)).rowcount or 0)
            return result
        for f in collection.fields:
            strategy = effective_strategy(collection, f)
            if strategy.name == "keep":
                continue
            result.fields[f.name] = self._rewrite(conn, table, table.c[f.name], strategy, cond)
        return result

    def _rewrite(
        self,
        conn: Any,
        table: Table,
        column: Column[Any],
        strategy: Strategy,
        cond: ColumnElement[bool],
    ) -> int:
        if strategy.name == "null_rewrite":
            query = update(table).where(cond, column.is_not(None)).values({column.name: None})
            return int(conn.execute(query).rowcount or 0)
        if strategy.name == "string_rewrite":
            query = (
                update(table)
                .where(cond, column.is_not(None), column != strategy.rewrite_value)
                .values({column.name: strategy.rewrite_value})
            )
            return int(conn.execute(query).rowcount or 0)
        # hmac: each distinct value gets its pseudonym (same input, same pseudonym).
        values = conn.execute(
            select(column)
            .where(cond, column.is_not(None), not_(column.like(HMAC_PREFIX + "%")))
            .distinct()
        ).scalars()
        changed = 0
        for value in list(values):
            query = (
                update(table)
                .where(cond, column == value)
                .values({column.name: pseudonym(self.settings.hmac_key, value)})
            )
            changed += int(conn.execute(query).rowcount or 0)
        return changed

    # -- retention -----------------------------------------------------------------------------
    def due_keys(
        self,
        collection: CollectionMap,
        cutoff: dt.datetime,
        after: Any,
        limit: int,
        keep: ColumnElement[bool] | None = None,
        pending: list[str] | None = None,
    ) -> list[tuple[Any, Any]]:
        """(primary key, timestamp) of the next `limit` rows older than `cutoff`, in key order,
        that still hold something to erase (`pending` fields not yet erased, or the row)."""
        table = self.table(collection)
        pk = collection.primary_key
        assert pk is not None and collection.retention_field is not None
        ts = table.c[collection.retention_field]
        conds: list[ColumnElement[bool]] = [ts < self._naive(ts, cutoff)]
        if after is not None:
            conds.append(table.c[pk.name] > after)
        if keep is not None:
            conds.append(not_(keep))
        if pending is not None:
            conds.append(or_(*self._not_erased(collection, table, pending)))
        query = select(table.c[pk.name], ts).where(*conds).order_by(table.c[pk.name]).limit(limit)
        with self._guard(f"collection '{collection.name}'"), self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(query).all()]

    def _not_erased(
        self, collection: CollectionMap, table: Table, fields: list[str]
    ) -> list[ColumnElement[bool]]:
        parts: list[ColumnElement[bool]] = []
        for name in fields:
            f = collection.field(name)
            assert f is not None
            column = table.c[name]
            strategy = effective_strategy(collection, f)
            if strategy.name == "string_rewrite":
                parts.append(and_(column.is_not(None), column != strategy.rewrite_value))
            elif strategy.name == "hmac":
                parts.append(and_(column.is_not(None), not_(column.like(HMAC_PREFIX + "%"))))
            else:
                parts.append(column.is_not(None))
        return parts

    @staticmethod
    def _naive(column: Column[Any], value: dt.datetime) -> dt.datetime:
        aware = getattr(column.type, "timezone", False)
        return value if aware else value.astimezone(dt.UTC).replace(tzinfo=None)

    def erase_keys(
        self,
        collection: CollectionMap,
        keys: list[Any],
        cutoff: dt.datetime,
        fields: list[str] | None,
    ) -> Erased:
        """Erase rows by primary key, still only those older than `cutoff` (a resumed batch
        re-runs this; rows that changed since are left alone). `fields` None deletes rows."""
        table = self.table(collection)
        pk = collection.primary_key
        assert pk is not None and collection.retention_field is not None
        ts = table.c[collection.retention_field]
        result = Erased()
        with self._guard(f"collection '{collection.name}'"), self.engine.begin() as conn:
            for i in range(0, len(keys), CHUNK):
                cond = and_(table.c[pk.name].in_(keys[i : i + CHUNK]), ts < self._naive(ts, cutoff))
                if fields is None:
                    result.rows_deleted += int(
                        conn.execute(delete(table).where(cond)).rowcount or 0
                    )
                    continue
                for name in fields:
                    f = collection.field(name)
                    assert f is not None
                    strategy = effective_strategy(collection, f)
                    n = self._rewrite(conn, table, table.c[name], strategy, cond)
                    result.fields[name] = result.fields.get(name, 0) + n
        return result

    def oldest(self, collection: CollectionMap) -> tuple[dt.datetime | None, int]:
        table = self.table(collection)
        assert collection.retention_field is not None
        ts = table.c[collection.retention_field]
        with self._guard(f"collection '{collection.name}'"), self.engine.connect() as conn:
            row = conn.execute(select(func.min(ts), func.count())).one()
        return row[0], int(row[1])

    def count_older(self, collection: CollectionMap, cutoff: dt.datetime) -> int:
        table = self.table(collection)
        assert collection.retention_field is not None
        ts = table.c[collection.retention_field]
        with self._guard(f"collection '{collection.name}'"), self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(table).where(ts < self._naive(ts, cutoff))
                ).scalar_one()
            )

    # -- checks and samples --------------------------------------------------------------------
    def check_live(self, lookups: dict[str, set[str]] | None = None) -> list[LiveProblem]:
        problems: list[LiveProblem] = []
        with self._guard():
            inspector = inspect(self.engine)
            tables = set(inspector.get_table_names())
            for c in self.system.collections:
                if c.table not in tables:
                    problems.append(
                        LiveProblem(
                            c.name,
                            "",
                            f"the map names table '{c.table}', which is not in the database "
                            f"{self.where}",
                        )
                    )
                    continue
                columns = {col["name"] for col in inspector.get_columns(c.table)}
                for f in c.fields:
                    if f.name not in columns:
                        problems.append(
                            LiveProblem(
                                c.name,
                                f.name,
                                f"table '{c.table}' has no column '{f.name}'",
                            )
                        )
                if c.retention_field and c.retention_field not in columns:
                    problems.append(
                        LiveProblem(
                            c.name,
                            c.retention_field,
                            f"the retention field '{c.retention_field}' is not a column of "
                            f"table '{c.table}'",
                        )
                    )
                leading = self._indexed(inspector, c.table)
                for name in sorted((lookups or {}).get(c.name, set())):
                    if name in columns and name not in leading:
                        problems.append(
                            LiveProblem(
                                c.name,
                                name,
                                f"no index starts with column '{name}' of table '{c.table}': "
                                "each request would read the whole table; add one "
                                f"(CREATE INDEX ix_{c.table}_{name} ON {c.table} ({name}))",
                                "warning",
                            )
                        )
        return problems

    @staticmethod
    def _indexed(inspector: Any, table: str) -> set[str]:
        leading: set[str] = set()
        pk = inspector.get_pk_constraint(table).get("constrained_columns") or []
        if pk:
            leading.add(pk[0])
        for index in inspector.get_indexes(table):
            names = index.get("column_names") or []
            if names and names[0]:
                leading.add(names[0])
        for unique in inspector.get_unique_constraints(table):
            names = unique.get("column_names") or []
            if names:
                leading.add(names[0])
        return leading

    def table_names(self) -> list[str]:
        with self._guard():
            return sorted(inspect(self.engine).get_table_names())

    def sample(self, max_rows: int) -> list[Sample]:
        """The first `max_rows` rows of every table in the database, mapped or not."""
        mapped = {c.table: c.name for c in self.system.collections}
        samples = []
        with self._guard():
            inspector = inspect(self.engine)
            with self.engine.connect() as conn:
                for name in sorted(inspector.get_table_names()):
                    table = Table(name, MetaData(), autoload_with=conn)
                    rows = conn.execute(select(table).limit(max_rows)).mappings().all()
                    samples.append(
                        Sample(
                            mapped.get(name, name),
                            [str(c.name) for c in table.columns],
                            [dict(r) for r in rows],
                            name in mapped,
                        )
                    )
        return samples

    def ping(self) -> None:
        with self._guard(), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
