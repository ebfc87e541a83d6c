"""Files and object stores through fsspec: local folders (`file://`), SFTP (`sftp://`),
S3-compatible stores (`s3://`, with `options: {endpoint_url: ...}`).

A collection is the set of files its `path` glob matches under the connection URL. Rows come
from JSONL, CSV or Parquet files; a `recording` collection's rows are the audio objects
themselves. A `{field}` in the path stands for that field's value (`calls/{customer_id}/*.wav`):
a lookup by that field opens only the matching files instead of reading them all.

Erasure rewrites a file without the person's rows (or with their fields erased) and replaces it
whole; a recording is deleted. On a versioned store (S3 with versioning on) every earlier
version of the object is deleted too, delete markers included, since each version still holds
the old bytes: the count of versions is what the certificate reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache, partial
from typing import Any

import fsspec

from honorbound.systems.connectors.base import (
    ConnectorSettings,
    Erased,
    LiveProblem,
    Lookup,
    Row,
    Sample,
)
from honorbound.systems.errors import ConnectionFailed, ExecutionError, SystemAnswerError
from honorbound.systems.maps import (
    PLACEHOLDER,
    CollectionMap,
    SystemMap,
    effective_strategy,
)
from honorbound.systems.secrets import connection_url, redacted, storage_options
from honorbound.systems.strategies import is_erased, rewriter

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9@+_.=-]{1,200}$")


@lru_cache(maxsize=256)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        match = PLACEHOLDER.match(pattern, i)
        if match:
            out += f"(?P<{match.group(1)}>[^/]+)"
            i = match.end()
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif ch == "*":
            out += "[^/]*"
            i += 1
        elif ch == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(ch)
            i += 1
    return re.compile(out + "$")


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


class FilesConnector:
    def __init__(
        self,
        system: SystemMap,
        settings: ConnectorSettings,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.settings = settings
        url = connection_url(system, environ)
        self.where = redacted(url)
        options = storage_options(system, environ)
        if url.startswith("s3://"):
            options.setdefault("config_kwargs", {})
            timeout = system.connection.timeout_seconds
            cfg = dict(options["config_kwargs"])  # type: ignore[call-overload]
            cfg.setdefault("connect_timeout", timeout)
            cfg.setdefault("read_timeout", timeout)
            cfg.setdefault("retries", {"max_attempts": 2})
            options["config_kwargs"] = cfg
        if url.startswith("sftp://"):
            options.setdefault("timeout", system.connection.timeout_seconds)
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except (ValueError, ImportError, OSError) as exc:
            raise ConnectionFailed(
                system.key, f"cannot open {self.where} ({type(exc).__name__}: {exc})", "connection"
            ) from None
        except Exception as exc:  # paramiko/botocore raise their own families
            raise ConnectionFailed(
                system.key, f"cannot open {self.where} ({type(exc).__name__})", "connection"
            ) from None
        self.root = root.rstrip("/")
        self.protocol = (
            self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        )
        self._versioned: dict[str, bool] = {}

    # -- paths ---------------------------------------------------------------------------------
    def _call(self, what: Callable[[], Any], where: str) -> Any:
        try:
            return what()
        except (ConnectionFailed, ExecutionError, SystemAnswerError):
            raise
        except FileNotFoundError:
            return None
        except PermissionError:
            raise ConnectionFailed(
                self.system.key, f"permission denied at {self.where}", where
            ) from None
        except TimeoutError:
            raise ConnectionFailed(
                self.system.key,
                f"did not answer within {self.system.connection.timeout_seconds:g} s",
                where,
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
            raise SystemAnswerError(
                self.system.key,
                f"a file is not valid {type(exc).__name__.replace('Error', '')}",
                where,
            ) from None
        except Exception as exc:
            raise ConnectionFailed(
                self.system.key, f"the store failed ({type(exc).__name__})", where
            ) from None

    def _glob(self, collection: CollectionMap, lookup: Lookup | None) -> list[str]:
        pattern = collection.path or "*"
        wanted = PLACEHOLDER.findall(pattern)
        globs: list[str] = []
        by_path = [n for n in wanted if lookup and n in lookup]
        if by_path and lookup is not None:
            # Only the files whose path holds one of the values (no other file can hold them).
            name = by_path[0]
            for value in lookup[name]:
                text = _as_text(value)
                if not _SAFE_SEGMENT.match(text) or text in (".", ".."):
                    continue
                filled = pattern.replace("{" + name + "}", text)
                globs.append(PLACEHOLDER.sub("*", filled))
        else:
            globs.append(PLACEHOLDER.sub("*", pattern))
        where = f"collection '{collection.name}'"
        found: set[str] = set()
        for g in globs:
            paths = self._call(partial(self.fs.glob, f"{self.root}/{g}"), where) or []
            found.update(p for p in paths if not p.endswith(".hb-tmp"))
        regex = _pattern_regex(pattern)
        return sorted(p for p in found if regex.match(self._relative(p)))

    def _relative(self, path: str) -> str:
        stripped = path.split("://", 1)[-1]
        root = self.root.split("://", 1)[-1].lstrip("/")
        stripped = stripped.lstrip("/")
        return stripped[len(root) :].lstrip("/") if stripped.startswith(root) else stripped

    def _path_values(self, collection: CollectionMap, path: str) -> dict[str, str]:
        match = _pattern_regex(collection.path or "*").match(self._relative(path))
        return match.groupdict() if match else {}

    # -- reading rows --------------------------------------------------------------------------
    def _rows(self, collection: CollectionMap, path: str) -> Iterator[Row]:
        fmt = collection.format
        extra = self._path_values(collection, path)
        if fmt == "parquet":
            yield from (dict(extra, **r) for r in self._parquet_rows(path))
            return
        with self.fs.open(path, "rt", encoding="utf-8", newline="") as handle:
            if fmt == "csv":
                for row in csv.DictReader(handle):
                    yield dict(extra, **row)
                return
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise SystemAnswerError(
                        self.system.key,
                        f"{self._relative(path)}:{number} is not a JSON object",
                        f"collection '{collection.name}'",
                    ) from None
                if not isinstance(row, dict):
                    raise SystemAnswerError(
                        self.system.key,
                        f"{self._relative(path)}:{number} is not a JSON object",
                        f"collection '{collection.name}'",
                    )
                yield dict(extra, **row)

    def _list_rows(self, collection: CollectionMap, path: str) -> list[Row]:
        return list(self._rows(collection, path))

    def _parquet_rows(self, path: str, filters: Any = None) -> list[Row]:
        import pyarrow.parquet as pq

        with self.fs.open(path, "rb") as handle:
            table = pq.read_table(handle, filters=filters)
        return table.to_pylist()  # type: ignore[no-any-return]

    def _matches(self, row: Row, lookup: Lookup) -> bool:
        for name, values in lookup.items():
            if name in row and _as_text(row[name]) in {_as_text(v) for v in values}:
                return True
        return False

    def _parquet_filter(self, path: str, lookup: Lookup) -> Any:
        """Row-group statistics skip what cannot match: for files sorted by the lookup field
        that is an index (read a few row groups, not the file)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        with self.fs.open(path, "rb") as handle:
            schema = pq.read_schema(handle)
        ors = []
        for name, values in lookup.items():
            if name not in schema.names:
                continue
            kind = schema.field(name).type
            typed: list[Any] = []
            for v in values:
                try:
                    typed.append(int(str(v)) if pa.types.is_integer(kind) else _as_text(v))
                except ValueError:
                    continue
            if typed:
                ors.append([(name, "in", typed)])
        return ors or None

    def find(self, collection: CollectionMap, lookup: Lookup) -> list[Row]:
        where = f"collection '{collection.name}'"
        found: list[Row] = []
        for path in self._glob(collection, lookup):
            if collection.format == "recording":
                values = self._path_values(collection, path)
                if lookup and not self._matches(values, lookup):
                    continue
                info = self._call(partial(self.fs.info, path), where) or {}
                audio = next((f.name for f in collection.fields if f.name not in values), "object")
                found.append({**values, audio: self._relative(path), "size": info.get("size")})
                continue
            if collection.format == "parquet":
                values = self._path_values(collection, path)
                if values and lookup and self._matches(values, lookup):
                    rows = self._call(partial(self._parquet_rows, path), where) or []
                else:
                    filters = self._call(partial(self._parquet_filter, path, lookup), where)
                    if filters is None:
                        continue
                    rows = self._call(partial(self._parquet_rows, path, filters), where)
                found.extend(dict(values, **r) for r in rows or [])
            else:
                rows = self._call(partial(self._list_rows, collection, path), where) or []
                found.extend(r for r in rows if self._matches(r, lookup))
            if len(found) > self.settings.max_rows:
                raise ExecutionError(
                    self.system.key,
                    f"more than {self.settings.max_rows} rows match one person",
                    where,
                )
        names = {f.name for f in collection.fields}
        return [{k: v for k, v in r.items() if k in names} for r in found]

    # -- erasing -------------------------------------------------------------------------------
    def erase(self, collection: CollectionMap, lookup: Lookup) -> Erased:
        paths = self._glob(collection, lookup)
        if collection.format == "parquet":
            # Only files whose row-group statistics admit a match are read whole and rewritten.
            where = f"collection '{collection.name}'"
            paths = [
                p
                for p in paths
                if self._path_values(collection, p)
                or self._call(partial(self._parquet_hits, p, lookup), where)
            ]
            return self._erase_parquet(collection, paths, lookup)
        return self._erase_where(collection, paths, lambda r: self._matches(r, lookup))

    def _parquet_hits(self, path: str, lookup: Lookup) -> bool:
        filters = self._parquet_filter(path, lookup)
        return filters is not None and bool(self._parquet_rows(path, filters))

    def _erase_parquet(self, collection: CollectionMap, paths: list[str], lookup: Lookup) -> Erased:
        """Parquet files erased column-wise with pyarrow (a whole file is rewritten, but in
        vectorised passes, not row by row)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        where = f"collection '{collection.name}'"
        result = Erased()
        for path in paths:
            with self.fs.open(path, "rb") as handle:
                table = pq.read_table(handle)
            mask = None
            extra = self._path_values(collection, path)
            for name, values in lookup.items():
                if name in extra:
                    hit = _as_text(extra[name]) in {_as_text(v) for v in values}
                    part = pa.array([hit] * table.num_rows, pa.bool_())
                elif name in table.column_names:
                    column = table[name]
                    typed = pa.array(
                        [v for v in (_typed(column.type, v) for v in values) if v is not None],
                        column.type,
                    )
                    part = pc.fill_null(pc.is_in(column, value_set=typed), False)
                else:
                    continue
                mask = part if mask is None else pc.or_(mask, part)
            if mask is None or not pc.any(mask).as_py():
                continue
            if isinstance(mask, pa.ChunkedArray):
                mask = mask.combine_chunks()
            hits = int(pc.sum(mask).as_py())
            changed = Erased()
            if collection.delete_rows:
                table = table.filter(pc.invert(mask))
                changed.rows_deleted = hits
            else:
                for f in collection.fields:
                    strategy = effective_strategy(collection, f)
                    if strategy.name in ("keep", "delete") or f.name not in table.column_names:
                        continue
                    column = table[f.name]
                    old = column.filter(mask).to_pylist()
                    rewrite = rewriter(strategy, self.settings.hmac_key)
                    new = [v if is_erased(strategy, v) else rewrite(v) for v in old]
                    count = sum(1 for a, b in zip(old, new, strict=True) if a != b)
                    if not count:
                        continue
                    kind = column.type if strategy.name == "null_rewrite" else pa.string()
                    base = column.combine_chunks().cast(kind)
                    replaced = pc.replace_with_mask(base, mask, pa.array(new, kind))
                    table = table.set_column(table.column_names.index(f.name), f.name, replaced)
                    changed.fields[f.name] = count
            if not changed.total:
                continue
            buffer = io.BytesIO()
            pq.write_table(table, buffer)
            self._call(partial(self._replace, path, buffer.getvalue()), where)
            result.add(changed)
            result.files_rewritten += 1
            result.versions_deleted += self._delete_old_versions(path, where)
        return result

    def _erase_where(
        self,
        collection: CollectionMap,
        paths: list[str],
        selected: Callable[[Row], bool],
        fields: list[str] | None = None,
    ) -> Erased:
        where = f"collection '{collection.name}'"
        result = Erased()
        for path in paths:
            if collection.format == "recording":
                values = self._path_values(collection, path)
                if selected(values):
                    objects, versions = self._delete_object(path, where)
                    result.objects_deleted += objects
                    result.versions_deleted += versions
                continue
            changed = self._call(
                partial(self._rewrite_file, collection, path, selected, fields), where
            )
            if changed is not None and changed.total:
                result.add(changed)
                result.files_rewritten += 1
                result.versions_deleted += self._delete_old_versions(path, where)
        return result

    def _rewrite_file(
        self,
        collection: CollectionMap,
        path: str,
        selected: Callable[[Row], bool],
        fields: list[str] | None,
    ) -> Erased:
        """Write the file again without the selected rows' data; replace it only if changed."""
        result = Erased()
        extra = set(self._path_values(collection, path))
        names = fields if fields is not None else [f.name for f in collection.fields]
        plans = []
        for name in names:
            f = collection.field(name)
            if f is None:
                continue
            strategy = effective_strategy(collection, f)
            if strategy.name not in ("keep", "delete"):
                plans.append((name, strategy, rewriter(strategy, self.settings.hmac_key)))
        delete_rows = collection.delete_rows

        def edit(row: Row) -> Row | None:
            if not selected(row):
                return row
            if delete_rows:
                result.rows_deleted += 1
                return None
            for name, strategy, rewrite in plans:
                if name in row and not is_erased(strategy, row[name]):
                    row[name] = rewrite(row[name])
                    result.fields[name] = result.fields.get(name, 0) + 1
            return row

        if collection.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            rows = self._parquet_rows(path)
            with self.fs.open(path, "rb") as handle:
                schema = pq.read_schema(handle)
            kept = []
            for row in rows:
                merged = dict(row, **{k: v for k, v in self._path_values(collection, path).items()})
                out = edit(merged)
                if out is not None:
                    kept.append({k: out.get(k) for k in schema.names})
            if not result.total:
                return result
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(kept, schema=schema), buffer)
            self._replace(path, buffer.getvalue())
            return result
        # JSONL and CSV are streamed into a local temporary file, then put in place whole.
        with tempfile.NamedTemporaryFile("w+", encoding="utf-8", newline="", delete=False) as tmp:
            try:
                writer: Any = None
                with self.fs.open(path, "rt", encoding="utf-8", newline="") as handle:
                    if collection.format == "csv":
                        reader = csv.DictReader(handle)
                        writer = csv.DictWriter(tmp, fieldnames=reader.fieldnames or [])
                        writer.writeheader()
                        for row in reader:
                            out = edit(dict(row))
                            if out is not None:
                                writer.writerow({k: v for k, v in out.items() if k not in extra})
                    else:
                        for line in handle:
                            if not line.strip():
                                tmp.write(line)
                                continue
                            row = json.loads(line)
                            out = edit(dict(row))
                            if out is not None:
                                out = {k: v for k, v in out.items() if k not in extra or k in row}
                                tmp.write(json.dumps(out, ensure_ascii=False) + "\n")
                tmp.flush()
                if result.total:
                    with open(tmp.name, "rb") as done:
                        self._replace(path, done.read())
            finally:
                os.unlink(tmp.name)
        return result

    def _replace(self, path: str, data: bytes) -> None:
        if self.protocol in ("file", "local"):
            # Same folder, then an atomic rename: readers see the old file or the new one.
            tmp = path + ".hb-tmp"
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            return
        self.fs.pipe_file(path, data)

    # -- objects and versions ------------------------------------------------------------------
    def _bucket_versioned(self, bucket: str) -> bool:
        if self.system.connection.versioned is not None:
            return self.system.connection.versioned
        if bucket not in self._versioned:
            self._versioned[bucket] = bool(self.fs.is_bucket_versioned(bucket))
        return self._versioned[bucket]

    def _versions(self, path: str) -> list[dict[str, Any]]:
        bucket, key, _ = self.fs.split_path(path)
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self.fs.call_s3("list_object_versions", Bucket=bucket, Prefix=key, **kwargs)
            for kind in ("Versions", "DeleteMarkers"):
                for v in page.get(kind, []):
                    if v["Key"] == key:
                        out.append({"VersionId": v["VersionId"], "marker": kind != "Versions"})
            if not page.get("IsTruncated"):
                return out
            kwargs = {
                "KeyMarker": page.get("NextKeyMarker", ""),
                "VersionIdMarker": page.get("NextVersionIdMarker", ""),
            }

    def _delete_versions(self, path: str, keep_current: bool) -> int:
        bucket, key, _ = self.fs.split_path(path)
        versions = self._versions(path)
        if keep_current:
            head = self.fs.call_s3("head_object", Bucket=bucket, Key=key)
            current = head.get("VersionId")
            versions = [v for v in versions if v["VersionId"] != current]
        for i in range(0, len(versions), 1000):
            chunk = versions[i : i + 1000]
            self.fs.call_s3(
                "delete_objects",
                Bucket=bucket,
                Delete={
                    "Objects": [{"Key": key, "VersionId": v["VersionId"]} for v in chunk],
                    "Quiet": True,
                },
            )
        self.fs.invalidate_cache(path)
        return sum(1 for v in versions if not v["marker"])

    def _delete_object(self, path: str, where: str) -> tuple[int, int]:
        """Delete an object: (objects, versions) deleted."""
        if self.protocol in ("s3", "s3a"):
            bucket = self.fs.split_path(path)[0]
            if self._call(lambda: self._bucket_versioned(bucket), where):
                versions = self._call(lambda: self._delete_versions(path, False), where) or 0
                return 1, versions
        self._call(lambda: self.fs.rm_file(path), where)
        return 1, 1

    def _delete_old_versions(self, path: str, where: str) -> int:
        if self.protocol not in ("s3", "s3a"):
            return 0
        bucket = self.fs.split_path(path)[0]
        if not self._call(lambda: self._bucket_versioned(bucket), where):
            return 0
        return int(self._call(lambda: self._delete_versions(path, True), where) or 0)

    # -- retention -----------------------------------------------------------------------------
    def due_files(self, collection: CollectionMap) -> list[str]:
        return self._glob(collection, None)

    def erase_due_in(
        self, collection: CollectionMap, path: str, cutoff: dt.datetime, fields: list[str] | None
    ) -> tuple[Erased, dt.datetime | None, dt.datetime | None]:
        """Erase the rows of one file (or the object) older than `cutoff`."""
        name = collection.retention_field
        assert name is not None
        where = f"collection '{collection.name}'"
        span: list[dt.datetime] = []
        if collection.format == "recording":
            info = self._call(lambda: self.fs.info(path), where) or {}
            when = _to_time(info.get("LastModified") or info.get("mtime") or info.get("created"))
            if when is None or when >= cutoff:
                return Erased(), None, None
            objects, versions = self._delete_object(path, where)
            return Erased(objects_deleted=objects, versions_deleted=versions), when, when

        def due(row: Row) -> bool:
            when = _to_time(row.get(name))
            if when is not None and when < cutoff:
                span.append(when)
                return True
            return False

        result = self._erase_where(collection, [path], due, fields)
        return result, (min(span) if span else None), (max(span) if span else None)

    # -- checks and samples --------------------------------------------------------------------
    def check_live(self, lookups: dict[str, set[str]] | None = None) -> list[LiveProblem]:
        problems: list[LiveProblem] = []
        for c in self.system.collections:
            files = self._glob(c, None)
            if not files:
                problems.append(
                    LiveProblem(
                        c.name, "", f"no file matches '{c.path}' under {self.where}", "warning"
                    )
                )
            in_path = set(c.path_fields)
            for name in sorted((lookups or {}).get(c.name, set())):
                if name not in in_path and c.format in ("jsonl", "csv"):
                    problems.append(
                        LiveProblem(
                            c.name,
                            name,
                            f"'{name}' is not in the path pattern: each request reads all "
                            f"{len(files)} file(s) of the collection; put {{{name}}} in the path "
                            "or keep the files as Parquet sorted by it",
                            "warning",
                        )
                    )
        return problems

    def sample(self, max_rows: int, max_bytes: int) -> list[Sample]:
        out = []
        for c in self.system.collections:
            files = self._glob(c, None)
            if c.format == "recording":
                rows = [
                    {**self._path_values(c, p), "object": self._relative(p)}
                    for p in files[:max_rows]
                ]
                out.append(
                    Sample(c.name, sorted({k for r in rows for k in r}), rows, True, len(files))
                )
                continue
            rows = []
            for path in files:
                if len(rows) >= max_rows:
                    break
                rows.extend(self._sample_file(c, path, max_rows - len(rows), max_bytes))
            columns = sorted({k for r in rows for k in r})
            out.append(Sample(c.name, columns, rows, True))
        return out

    def _sample_file(
        self, collection: CollectionMap, path: str, max_rows: int, max_bytes: int
    ) -> list[Row]:
        where = f"collection '{collection.name}'"
        if collection.format == "parquet":
            import pyarrow.parquet as pq

            def first() -> list[Row]:
                with self.fs.open(path, "rb") as handle:
                    reader = pq.ParquetFile(handle)
                    for batch in reader.iter_batches(batch_size=max_rows):
                        return batch.to_pylist()  # type: ignore[no-any-return]
                return []

            return self._call(first, where) or []

        def head() -> list[Row]:
            with self.fs.open(path, "rb") as handle:
                data = handle.read(max_bytes)
            text = data.decode("utf-8", errors="ignore")
            lines = text.splitlines()
            if len(data) >= max_bytes and lines:
                lines = lines[:-1]  # the last line may be cut
            if collection.format == "csv":
                return list(csv.DictReader(io.StringIO("\n".join(lines))))[:max_rows]
            rows = []
            for line in lines[:max_rows]:
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict):
                    rows.append(value)
            return rows

        return self._call(head, where) or []

    def ping(self) -> None:
        self._call(lambda: self.fs.ls(self.root), "connection")

    def close(self) -> None:
        pass


def _typed(kind: Any, value: Any) -> Any:
    import pyarrow as pa

    try:
        if pa.types.is_integer(kind):
            return int(str(value))
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return _as_text(value)
    except ValueError:
        return None
    return value


def _to_time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
