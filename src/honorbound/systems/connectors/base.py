"""What every connector offers. Rows are plain dicts of field name to value; a lookup names, per
field, the values a row may have in it to belong to the person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from honorbound.systems.maps import CollectionMap, SystemMap

Row = dict[str, Any]
Lookup = dict[str, set[Any]]

# A request's search stops at this many rows in one collection: more means the map's references
# are too wide (every order of every customer), not one person.
MAX_ROWS = 10_000


@dataclass(frozen=True)
class ConnectorSettings:
    """What connectors need from the runtime (passed in, never read from settings)."""

    hmac_key: bytes = b""
    callback_url: str = ""  # webhook: where a long job reports back (token appended)
    max_rows: int = MAX_ROWS
    max_response_bytes: int = 20 * 1024 * 1024
    sample_rows: int = 200
    sample_bytes: int = 1024 * 1024


@dataclass
class Erased:
    """What one erasure did, for the timeline and the certificate (counts, never values)."""

    rows_deleted: int = 0
    fields: dict[str, int] = field(default_factory=dict)  # field -> values rewritten
    files_rewritten: int = 0
    objects_deleted: int = 0
    versions_deleted: int = 0

    def add(self, other: Erased) -> None:
        self.rows_deleted += other.rows_deleted
        for k, v in other.fields.items():
            self.fields[k] = self.fields.get(k, 0) + v
        self.files_rewritten += other.files_rewritten
        self.objects_deleted += other.objects_deleted
        self.versions_deleted += other.versions_deleted

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows_deleted": self.rows_deleted, "fields": dict(self.fields)}
        if self.files_rewritten:
            out["files_rewritten"] = self.files_rewritten
        if self.objects_deleted or self.versions_deleted:
            out["objects_deleted"] = self.objects_deleted
            out["versions_deleted"] = self.versions_deleted
        return out

    @property
    def total(self) -> int:
        return self.rows_deleted + sum(self.fields.values()) + self.objects_deleted


@dataclass(frozen=True)
class LiveProblem:
    collection: str
    field: str
    message: str
    severity: str = "error"


@dataclass
class Sample:
    """A bounded look at one collection (or table the map does not name)."""

    collection: str
    columns: list[str]
    rows: list[Row]
    mapped: bool
    total_rows: int | None = None


@dataclass(frozen=True)
class DueBatch:
    """One retention batch: rows (or files) whose timestamp is before the cutoff."""

    keys: list[Any]  # primary keys, or file paths
    oldest: dt.datetime | None
    newest: dt.datetime | None


class Connector(Protocol):
    system: SystemMap

    def find(self, collection: CollectionMap, lookup: Lookup) -> list[Row]: ...

    def erase(self, collection: CollectionMap, lookup: Lookup) -> Erased: ...

    def check_live(self) -> list[LiveProblem]: ...

    def close(self) -> None: ...
