"""`honorbound systems check`: a dataset map checked before anything uses it.

Errors make the map unusable: bad shape, a category not in the taxonomy, a reference to a field
that is not declared, a strategy that does not exist, a password written in the map, a
collection no identity reaches (nobody could ever be found in it, so a deletion would silently
skip it). Live checks (against the running system, unless `offline`) add a missing table or
column as errors and a lookup field without an index as a warning: a request would read the
whole table each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.taxonomy import data_categories
from honorbound.policy.yamlsource import LineMap, did_you_mean, load_yaml
from honorbound.systems import graph
from honorbound.systems.connectors import ConnectorSettings, open_connector
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import (
    FIELD_STRATEGIES,
    IDENTITY_KINDS,
    MODIFIED,
    SystemMap,
    parse_maps,
)
from honorbound.systems.secrets import password_in

P = tuple[str | int, ...]


@dataclass
class _Locator:
    """Paths into the file as written (fideslang sorts collections and fields by name)."""

    raw: Any
    lines: LineMap

    def dataset(self, system: SystemMap) -> P:
        return ("dataset", system.index)

    def collection(self, system: SystemMap, name: str) -> P:
        base = self.dataset(system)
        for j, c in enumerate(self.raw["dataset"][system.index].get("collections") or []):
            if isinstance(c, dict) and c.get("name") == name:
                return (*base, "collections", j)
        return base

    def field(self, system: SystemMap, collection: str, name: str) -> P:
        base = self.collection(system, collection)
        node = self.raw
        for part in base:
            node = node[part]
        for k, f in enumerate(node.get("fields") or [] if isinstance(node, dict) else []):
            if isinstance(f, dict) and f.get("name") == name:
                return (*base, "fields", k)
        return base

    def meta(self, system: SystemMap, *rest: str | int) -> P:
        return (*self.dataset(system), "meta", "honorbound", *rest)

    def problem(self, path: P, message: str, severity: str = "error") -> Problem:
        return self.lines.problem(path, message, severity)


def check_text(
    text: str,
    file: str = "<map>",
    known: list[SystemMap] | None = None,
    live: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every problem in a map file, sorted by line. `known` are systems already connected
    (references may point at them); `live` also checks the running systems."""
    try:
        systems, lines = parse_maps(text, file)
    except DeclarationError as exc:
        return sorted(exc.problems, key=lambda p: p.line)
    raw, _ = load_yaml(text, file)
    locate = _Locator(raw, lines)
    problems = list(_static(systems, known or [], locate))
    if live and not any(p.severity == "error" for p in problems):
        problems.extend(_live(systems, known or [], locate, environ))
    return sorted(problems, key=lambda p: (p.line, p.message))


def check_file(
    path: str | Path,
    known: list[SystemMap] | None = None,
    live: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[Problem]:
    path = Path(path)
    return check_text(path.read_text(encoding="utf-8"), str(path), known, live, environ)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _static(systems: list[SystemMap], known: list[SystemMap], at: _Locator) -> list[Problem]:
    out: list[Problem] = []
    taxonomy = data_categories()
    mine = {s.key for s in systems}
    everything = systems + [k for k in known if k.key not in mine]
    fields_of = {
        (s.key, c.name, f.name) for s in everything for c in s.collections for f in c.fields
    }
    seen: set[str] = set()
    for s in systems:
        if s.key in seen:
            out.append(
                at.problem((*at.dataset(s), "fides_key"), f"dataset '{s.key}' appears twice")
            )
        seen.add(s.key)
        out.extend(_connection(s, at))
        for c in s.collections:
            cpath = at.collection(s, c.name)
            spec_path = at.meta(s, "collections", c.name)
            if s.type == "files":
                if not c.path or not c.format:
                    out.append(
                        at.problem(
                            spec_path if at.lines.has(spec_path) else cpath,
                            f"collection '{c.name}' of a files system needs `path` and `format` "
                            f"under meta.honorbound.collections.{c.name}",
                        )
                    )
                for name in c.path_fields:
                    if c.field(name) is None:
                        out.append(
                            at.problem(
                                spec_path,
                                f"the path names {{{name}}}, which is not a field of "
                                f"collection '{c.name}'",
                            )
                        )
            if c.retention_field is not None:
                is_time = c.format == "recording" and c.retention_field == MODIFIED
                if c.field(c.retention_field) is None and not is_time:
                    out.append(
                        at.problem(
                            (*spec_path, "retention_field"),
                            f"retention field '{c.retention_field}' is not a field of "
                            f"collection '{c.name}'"
                            f"{did_you_mean(c.retention_field, [f.name for f in c.fields])}",
                        )
                    )
                if s.type == "sql" and c.primary_key is None:
                    out.append(
                        at.problem(
                            cpath,
                            f"collection '{c.name}' has a retention field but no primary key "
                            "field (`fides_meta: {primary_key: true}`): the sweep works in key "
                            "order, in batches",
                        )
                    )
            for f in c.fields:
                fpath = at.field(s, c.name, f.name)
                for cat in f.categories:
                    if cat not in taxonomy:
                        out.append(
                            at.problem(
                                (*fpath, "data_categories"),
                                f"category '{cat}' is not in the taxonomy"
                                f"{did_you_mean(cat, taxonomy)}",
                            )
                        )
                if f.identity and f.identity not in IDENTITY_KINDS.values():
                    out.append(
                        at.problem(
                            (*fpath, "fides_meta", "identity"),
                            f"identity '{f.identity}' is not one a request carries; use one of "
                            f"{', '.join(sorted(IDENTITY_KINDS))}",
                        )
                    )
                if f.strategy is not None and f.strategy.name not in FIELD_STRATEGIES:
                    hint = (
                        "; `delete` is set on the collection (it deletes the row)"
                        if f.strategy.name == "delete"
                        else did_you_mean(f.strategy.name, FIELD_STRATEGIES)
                    )
                    out.append(
                        at.problem(
                            (*fpath, "fides_meta", "masking_strategy_override"),
                            f"strategy '{f.strategy.name}' is not one of "
                            f"{', '.join(FIELD_STRATEGIES)}{hint}",
                        )
                    )
                for ref in f.references:
                    if (ref.system, ref.collection, ref.field) not in fields_of:
                        out.append(
                            at.problem(
                                (*fpath, "fides_meta", "references"),
                                f"reference to '{ref.system}.{ref.collection}.{ref.field}', "
                                "which no connected map declares (dataset: <fides_key>, field: "
                                "<collection>.<field>)",
                            )
                        )
    for s in systems:
        for coll in s.dataset.collections:
            for fld in coll.fields:
                if fld.fields:
                    out.append(
                        at.problem(
                            at.field(s, coll.name, fld.name),
                            f"field '{coll.name}.{fld.name}' has nested fields, which the "
                            f"{s.type} connector does not reach; declare them flat",
                        )
                    )
    paths = graph.reachable(everything)
    for s in systems:
        for c in s.collections:
            if (s.key, c.name) not in paths:
                out.append(
                    at.problem(
                        at.collection(s, c.name),
                        f"collection '{s.key}.{c.name}' cannot be reached from any identity: "
                        "give one of its fields `fides_meta.identity`, or a reference to a "
                        "collection that can be reached",
                    )
                )
    return out


def _connection(s: SystemMap, at: _Locator) -> list[Problem]:
    out: list[Problem] = []
    spec = s.connection
    where = at.meta(s, "connection")
    given = [n for n in ("url", "url_env", "url_file") if getattr(spec, n)]
    if spec.url and password_in(spec.url):
        out.append(
            at.problem(
                (*where, "url"),
                "the URL holds a password in clear; put the whole URL in an environment "
                "variable (`url_env`) or a file (`url_file`), or write ${VARIABLE} for the "
                "password",
            )
        )
    if len(given) > 1:
        out.append(
            at.problem(where, f"give one of url, url_env, url_file (not {', '.join(given)})")
        )
    if s.type != "manual" and not given:
        out.append(at.problem(where, f"a {s.type} system needs `url`, `url_env` or `url_file`"))
    if s.type == "webhook" and spec.secret is None:
        out.append(
            at.problem(where, "a webhook system needs `secret: {env: NAME}` or `{file: PATH}`")
        )
    if s.type == "manual" and not spec.owner:
        out.append(at.problem(where, "a manual system needs `owner`: who does the work"))
    for name, value in spec.options.items():
        secretish = any(w in name.lower() for w in ("secret", "password", "token", "key"))
        if secretish and isinstance(value, str) and name != "key_filename":
            out.append(
                at.problem(
                    (*where, "options", name),
                    f"option '{name}' looks like a secret; move it to `secret_options` "
                    "(env or file)",
                )
            )
    return out


def _live(
    systems: list[SystemMap],
    known: list[SystemMap],
    at: _Locator,
    environ: Mapping[str, str] | None,
) -> list[Problem]:
    out: list[Problem] = []
    lookups = graph.lookup_fields(systems + known)
    for s in systems:
        if s.type in ("manual", "webhook"):
            continue
        mine = {c: fields for (sk, c), fields in lookups.items() if sk == s.key}
        try:
            connector = open_connector(s, ConnectorSettings(), environ)
            try:
                found = connector.check_live(mine)
            finally:
                connector.close()
        except SystemsError as exc:
            out.append(at.problem(at.meta(s, "connection"), str(exc)))
            continue
        for p in found:
            path = (
                at.field(s, p.collection, p.field)
                if p.field and any(f.name == p.field for c in s.collections for f in c.fields)
                else at.collection(s, p.collection)
            )
            out.append(at.problem(path, f"system '{s.key}': {p.message}", p.severity))
    return out
