"""The dataset map of a connected system: a Fides dataset (fideslang `Dataset`) plus what
Honorbound needs to reach and keep it, under the dataset's free `meta.honorbound` key.

A map file is the Fides resource file shape, so an existing Fides user's datasets load as they
are (add `meta.honorbound.connection`):

    dataset:
      - fides_key: crm
        name: CRM (PostgreSQL)
        data_subjects: [customer]
        meta:
          honorbound:
            subject_type: customer            # the notice's subject type, for retention rules
            connection: {type: sql, url_env: CRM_DATABASE_URL}
            collections:
              customer: {retention_field: updated_at}
        collections:
          - name: customer
            fides_meta: {masking_strategy_override: {strategy: delete}}   # erasure deletes rows
            fields:
              - name: id
                fides_meta: {primary_key: true}
              - name: email
                data_categories: [user.contact.email]
                fides_meta: {identity: email}
          - name: orders
            fields:
              - name: customer_id
                fides_meta:
                  references: [{dataset: crm, field: customer.id, direction: from}]
              - name: note
                data_categories: [user.contact_center.chat_log]
                fides_meta: {masking_strategy_override: {strategy: null_rewrite}}

Standard Fides parts used: `data_categories` (the notice's taxonomy), `fides_meta.identity`
(where a person is looked up), `fides_meta.references` (how collections reach each other;
`direction: to` means this field's values find rows of the referenced field, `from` the
reverse, none both ways), `fides_meta.primary_key`, field `masking_strategy_override`
(`null_rewrite`, `string_rewrite`, `hmac`) and collection `masking_strategy_override:
{strategy: delete}` (delete the row). Everything Honorbound adds sits under `meta.honorbound`,
which Fides ignores, so a map written back out (`dump_maps`) still loads in Fides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from fideslang.models import Dataset
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from honorbound.policy.loader import translate_errors
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.yamlsource import LineMap, load_yaml

ConnectorType = Literal["sql", "files", "webhook", "manual"]
FileFormat = Literal["jsonl", "csv", "parquet", "recording"]
RetentionTrigger = Literal["after_collection", "after_last_activity"]

# Fides identity names and the vault's identity kinds they carry.
IDENTITY_KINDS = {
    "email": "email",
    "phone": "phone",
    "phone_number": "phone",
    "account_id": "account_id",
    "customer_id": "account_id",
    "external_id": "external_id",
    "device_id": "device_id",
    "cookie_id": "cookie_id",
}

# A recording collection's retention field may be the object's modification time.
MODIFIED = "modified"

# A `{field}` in a file path pattern: the path holds that field's value.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretRef(_Meta):
    """Where a secret is read at run time: an environment variable or a file (mode 0600)."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` (a variable name) or `file` (a path)")
        return self


class ConnectionSpec(_Meta):
    type: ConnectorType = Field(description="sql, files, webhook or manual")
    url: str | None = Field(
        default=None,
        description="Where the system is, without secrets: a SQLAlchemy URL without password, "
        "an fsspec URL (file:///srv/exports, s3://bucket/prefix, sftp://host/path), the "
        "webhook endpoint. `${NAME}` is replaced by an environment variable.",
    )
    url_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the whole URL (it may hold a password).",
    )
    url_file: str | None = Field(default=None, description="File holding the whole URL.")
    secret: SecretRef | None = Field(
        default=None, description="webhook: the shared HMAC-SHA256 signing secret"
    )
    options: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="files: fsspec storage options that are not secret"
    )
    secret_options: dict[str, SecretRef] = Field(
        default_factory=dict, description="files: fsspec storage options read from env/file"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10, description="webhook: attempts after the first")
    owner: str | None = Field(default=None, max_length=200, description="manual: who does it")
    deadline_days: int = Field(default=10, ge=1, le=45, description="manual: days to finish")
    versioned: bool | None = Field(
        default=None,
        description="files: delete every version of an object (default: asked of the store)",
    )


class CollectionSpec(_Meta):
    table: str | None = Field(default=None, description="sql: the table, if not the name")
    path: str | None = Field(
        default=None,
        description="files: glob under the URL; `{field}` stands for a field's value",
    )
    format: FileFormat | None = None
    retention_field: str | None = Field(
        default=None, description="the timestamp retention periods run from"
    )
    retention_trigger: RetentionTrigger = "after_collection"


class HonorboundMeta(_Meta):
    connection: ConnectionSpec
    subject_type: str | None = None
    collections: dict[str, CollectionSpec] = Field(default_factory=dict)


StrategyName = Literal["delete", "null_rewrite", "string_rewrite", "hmac", "keep"]
FIELD_STRATEGIES = ("null_rewrite", "string_rewrite", "hmac")


@dataclass(frozen=True)
class Strategy:
    name: StrategyName
    rewrite_value: str = "***"


@dataclass(frozen=True)
class Reference:
    system: str
    collection: str
    field: str
    direction: Literal["to", "from"] | None


@dataclass(frozen=True)
class FieldMap:
    name: str
    categories: tuple[str, ...]
    identity: str | None  # the vault identity kind (email, phone, ...), if an identity field
    primary_key: bool
    references: tuple[Reference, ...]
    strategy: Strategy | None  # None: not personal, or the collection deletes rows
    read_only: bool = False

    @property
    def personal(self) -> bool:
        return any(c.startswith("user.") for c in self.categories)


@dataclass(frozen=True)
class CollectionMap:
    system: str
    name: str
    fields: tuple[FieldMap, ...]
    delete_rows: bool
    table: str
    path: str | None
    format: FileFormat | None
    retention_field: str | None
    retention_trigger: RetentionTrigger

    def field(self, name: str) -> FieldMap | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def primary_key(self) -> FieldMap | None:
        return next((f for f in self.fields if f.primary_key), None)

    @property
    def categories(self) -> list[str]:
        return sorted({c for f in self.fields for c in f.categories})

    @property
    def path_fields(self) -> list[str]:
        return PLACEHOLDER.findall(self.path or "")


@dataclass(frozen=True)
class SystemMap:
    key: str
    name: str
    connection: ConnectionSpec
    subject_type: str | None
    collections: tuple[CollectionMap, ...]
    dataset: Dataset = field(repr=False, compare=False)
    index: int = 0  # position in the file, for line numbers

    @property
    def type(self) -> ConnectorType:
        return self.connection.type

    def collection(self, name: str) -> CollectionMap | None:
        return next((c for c in self.collections if c.name == name), None)


def _strategy(raw: Any) -> Strategy | None:
    if raw is None:
        return None
    name = getattr(raw.strategy, "value", raw.strategy)
    config = raw.configuration or {}
    return Strategy(name, str(config.get("rewrite_value", "***")))


def _build(dataset: Dataset, meta: HonorboundMeta, index: int) -> SystemMap:
    collections = []
    for coll in dataset.collections:
        spec = meta.collections.get(coll.name, CollectionSpec())
        override = coll.fides_meta.masking_strategy_override if coll.fides_meta else None
        delete_rows = override is not None and getattr(override.strategy, "value", "") == "delete"
        fields = []
        for f in coll.fields:
            fm = f.fides_meta
            refs = []
            for ref in (fm.references or []) if fm else []:
                coll_name, _, field_name = ref.field.partition(".")
                refs.append(
                    Reference(
                        str(ref.dataset),
                        coll_name,
                        field_name,
                        ref.direction.value if ref.direction else None,
                    )
                )
            categories = tuple(
                dict.fromkeys([*(coll.data_categories or []), *(f.data_categories or [])])
            )
            identity = IDENTITY_KINDS.get(fm.identity, fm.identity) if fm and fm.identity else None
            strategy = _strategy(fm.masking_strategy_override) if fm else None
            fields.append(
                FieldMap(
                    name=f.name,
                    categories=categories,
                    identity=identity,
                    primary_key=bool(fm and fm.primary_key),
                    references=tuple(refs),
                    strategy=strategy,
                    read_only=bool(fm and fm.read_only),
                )
            )
        collections.append(
            CollectionMap(
                system=dataset.fides_key,
                name=coll.name,
                fields=tuple(fields),
                delete_rows=delete_rows,
                table=spec.table or coll.name,
                path=spec.path,
                format=spec.format,
                retention_field=spec.retention_field,
                retention_trigger=spec.retention_trigger,
            )
        )
    return SystemMap(
        key=dataset.fides_key,
        name=dataset.name or dataset.fides_key,
        connection=meta.connection,
        subject_type=meta.subject_type or next(iter(dataset.data_subjects or []), None),
        collections=tuple(collections),
        dataset=dataset,
        index=index,
    )


def effective_strategy(collection: CollectionMap, f: FieldMap) -> Strategy:
    """What erasure does to a field: the collection deletes its rows, or the field's own
    strategy, or `null_rewrite` for personal fields; keys and non-personal fields are kept."""
    if collection.delete_rows:
        return Strategy("delete")
    if f.strategy is not None:
        return f.strategy
    if f.primary_key or f.references or f.read_only or not f.personal:
        return Strategy("keep")
    return Strategy("null_rewrite")


def parse_maps(text: str, file: str = "<map>") -> tuple[list[SystemMap], LineMap]:
    """Read a map file; raise `DeclarationError` listing every shape problem as FILE:LINE."""
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), list):
        raise DeclarationError(
            [Problem(file, 1, "a map file is a YAML mapping with `dataset:`, a list of datasets")]
        )
    problems: list[Problem] = []
    systems: list[SystemMap] = []
    for i, raw in enumerate(data["dataset"]):
        base = ("dataset", i)
        if not isinstance(raw, dict):
            problems.append(lines.problem(base, "each dataset is a mapping with `fides_key:`"))
            continue
        try:
            dataset = Dataset.model_validate(raw)
        except ValidationError as exc:
            for p in translate_errors(exc, raw, _Shifted(lines, base), Dataset):
                problems.append(p)
            continue
        meta_raw = (
            (raw.get("meta") or {}).get("honorbound") if isinstance(raw.get("meta"), dict) else None
        )
        if meta_raw is None:
            problems.append(
                lines.problem(
                    base + ("fides_key",),
                    f"dataset '{dataset.fides_key}' has no `meta.honorbound.connection`; say "
                    "how Honorbound reaches it (type: sql, files, webhook or manual)",
                )
            )
            continue
        try:
            meta = HonorboundMeta.model_validate(meta_raw)
        except ValidationError as exc:
            problems.extend(
                translate_errors(
                    exc, meta_raw, _Shifted(lines, (*base, "meta", "honorbound")), HonorboundMeta
                )
            )
            continue
        systems.append(_build(dataset, meta, i))
    if problems:
        raise DeclarationError(problems)
    return systems, lines


class _Shifted(LineMap):
    """A line map seen from inside one dataset (pydantic reports paths from the model root)."""

    def __init__(self, lines: LineMap, prefix: tuple[str | int, ...]) -> None:
        super().__init__(lines.file, lines.lines, lines.files)
        self.prefix = prefix

    def problem(self, path: Any, message: str, severity: str = "error") -> Problem:
        return super().problem((*self.prefix, *path), message, severity)


def load_text(text: str, file: str = "<map>") -> list[SystemMap]:
    return parse_maps(text, file)[0]


def dump_maps(systems: list[SystemMap]) -> str:
    """The Fides dataset YAML of `systems` (Honorbound's parts stay under `meta.honorbound`)."""
    out = []
    for s in systems:
        doc = s.dataset.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        doc["fides_key"] = s.dataset.fides_key
        doc["collections"] = s.dataset.model_dump(mode="json", exclude_none=True)["collections"]
        out.append(doc)
    return yaml.safe_dump({"dataset": out}, sort_keys=False, allow_unicode=True)


def dataset_document(
    key: str,
    name: str,
    connection: dict[str, Any],
    collections: list[dict[str, Any]],
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A map document (for `scan --propose`): validated by `parse_maps` when read back."""
    meta: dict[str, Any] = {"connection": connection}
    if extras:
        meta.update(extras)
    return {
        "fides_key": key,
        "name": name,
        "meta": {"honorbound": meta},
        "collections": collections,
    }
