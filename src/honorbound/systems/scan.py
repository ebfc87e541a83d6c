"""Notice drift: what the connected systems hold, against what their maps and the notice say.

Each system is sampled within bounds (the first `sample_rows` rows of every table, mapped or
not; at most `sample_bytes` of each file). Every sampled text value goes through
`honorbound.detect`; column names are matched against `data/classify.yaml`. A field is
classified into the categories its values or its name show. The report lists:

- undeclared fields: personal data in a field (or a whole table) the map does not declare;
- categories the notice does not declare at all (from the maps or from what was found);
- data older than its retention rule (the oldest timestamp, and how many rows are past it);
- identities that reach nothing (an identity field that is empty in the sample, a table that
  is empty, an identity a request carries that no system is searched by).

The report holds names, categories and counts, never a sampled value. `propose` turns the
sample into a dataset map for review (Fides YAML), with what was found as its categories.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import yaml
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.policy import store
from honorbound.policy.schema import Declaration
from honorbound.retention.rules import cutoff
from honorbound.systems import graph, registry
from honorbound.systems.classify import FieldScan, classifier, classify_rows, covers
from honorbound.systems.connectors import open_connector
from honorbound.systems.connectors.base import Sample
from honorbound.systems.context import SystemsContext
from honorbound.systems.errors import SystemsError
from honorbound.systems.maps import SystemMap
from honorbound.systems.models import DriftScan
from honorbound.systems.sweep import plan as retention_plan

REQUEST_IDENTITIES = ("email", "phone")


class Unreached(StrEnum):
    """Why an identity reaches nothing (`identities_reaching_nothing[].code`; `reason` is the
    English sentence)."""

    EMPTY_TABLE = "empty_table"
    NO_VALUE_SAMPLED = "no_value_sampled"
    NOT_SEARCHED = "not_searched"  # no connected system is searched by that identity


# The scan's own error when no declaration is adopted (`errors[].code`).
NO_DECLARATION = "no_declaration"


def _unreached(rows: int | None, kind: str) -> dict[str, str]:
    """Why an identity reaches nothing: the English sentence and its code. `rows` is how many
    rows of the table were sampled, None when no connected system is searched by `kind`."""
    if rows is None:
        code, reason = Unreached.NOT_SEARCHED, f"requests carry a {kind}, and no connected "
        reason += "system is searched by it"
    elif rows == 0:
        code, reason = Unreached.EMPTY_TABLE, "the table is empty"
    else:
        code, reason = Unreached.NO_VALUE_SAMPLED, f"no value in the {rows} sampled rows"
    return {"reason": reason, "code": code.value}


def classify(sample: Sample) -> list[FieldScan]:
    return classify_rows(sample.columns, sample.rows)


def scan(
    session: Session,
    ctx: SystemsContext,
    organization_id: int,
    *,
    sample_rows: int = 200,
    sample_bytes: int = 1024 * 1024,
    as_of: dt.datetime | None = None,
    store_report: bool = True,
) -> dict[str, Any]:
    started = utcnow()
    now = as_of or started
    systems = registry.connected(session, organization_id)
    adopted = store.current(session, organization_id)
    declaration = adopted.declaration if adopted else None
    report: dict[str, Any] = {
        "generated_at": started.isoformat(),
        "sample_rows": sample_rows,
        "sample_bytes": sample_bytes,
        "systems": [],
        "undeclared_fields": [],
        "categories_not_in_notice": [],
        "older_than_retention": [],
        "identities_reaching_nothing": [],
        "errors": [],
    }
    not_in_notice: dict[str, set[str]] = {}
    settings = ctx.connector_settings(organization_id)
    for s in systems:
        entry: dict[str, Any] = {"system": s.key, "name": s.name, "type": s.type, "collections": []}
        report["systems"].append(entry)
        for c in s.collections:
            for f in c.fields:
                for cat in f.categories:
                    if (
                        cat.startswith("user.")
                        and declaration is not None
                        and declaration.category(cat) is None
                    ):
                        not_in_notice.setdefault(cat, set()).add(f"{s.key}.{c.name}.{f.name}")
        if s.type in ("webhook", "manual"):
            entry["sampled"] = False
            entry["note"] = f"a {s.type} system is not sampled: its map is taken as declared"
            continue
        try:
            connector = open_connector(s, settings, ctx.environ)
            try:
                samples = (
                    connector.sample(sample_rows)
                    if s.type == "sql"
                    else connector.sample(sample_rows, sample_bytes)
                )
                _retention(report, connector, s, declaration, now)
            finally:
                connector.close()
        except SystemsError as exc:
            entry["error"] = str(exc)
            report["errors"].append({"system": s.key, "error": str(exc)})
            continue
        for sample in samples:
            collection = s.collection(sample.collection) if sample.mapped else None
            fields = classify(sample)
            out_fields = []
            for fs in fields:
                mapped_field = collection.field(fs.name) if collection else None
                fs.declared = list(mapped_field.categories) if mapped_field else []
                personal = [c for c in fs.categories if c.startswith("user.")]
                undeclared = [c for c in personal if not covers(fs.declared, c)]
                if undeclared:
                    report["undeclared_fields"].append(
                        {
                            "system": s.key,
                            "collection": sample.collection,
                            "table_mapped": sample.mapped,
                            "field": fs.name,
                            "field_mapped": mapped_field is not None,
                            "categories": undeclared,
                            "values_with_it": max([fs.found.get(c, 0) for c in undeclared] or [0]),
                            "sampled": fs.non_empty,
                            "by_name": fs.by_name in undeclared,
                        }
                    )
                for cat in personal:
                    if declaration is not None and declaration.category(cat) is None:
                        not_in_notice.setdefault(cat, set()).add(
                            f"{s.key}.{sample.collection}.{fs.name}"
                        )
                out_fields.append(
                    {
                        "field": fs.name,
                        "declared": fs.declared,
                        "found": fs.categories,
                        "sampled": fs.non_empty,
                    }
                )
            entry["collections"].append(
                {
                    "collection": sample.collection,
                    "mapped": sample.mapped,
                    "rows_sampled": len(sample.rows),
                    "fields": out_fields,
                }
            )
            if collection is not None:
                for f in collection.fields:
                    if not f.identity:
                        continue
                    filled = any(r.get(f.name) not in (None, "") for r in sample.rows)
                    if not filled:
                        report["identities_reaching_nothing"].append(
                            {
                                "system": s.key,
                                "collection": sample.collection,
                                "field": f.name,
                                "identity": f.identity,
                                **_unreached(len(sample.rows), f.identity),
                            }
                        )
    searched = {kind for _, kind in graph.identity_fields(systems)}
    for kind in REQUEST_IDENTITIES:
        if systems and kind not in searched:
            report["identities_reaching_nothing"].append(
                {
                    "system": None,
                    "collection": None,
                    "field": None,
                    "identity": kind,
                    **_unreached(None, kind),
                }
            )
    report["categories_not_in_notice"] = [
        {"category": c, "where": sorted(w)} for c, w in sorted(not_in_notice.items())
    ]
    if declaration is None:
        report["errors"].append(
            {
                "system": None,
                "error": "no declaration adopted: categories and retention were not compared",
                "code": NO_DECLARATION,
            }
        )
    finished = utcnow()
    report["finished_at"] = finished.isoformat()
    if store_report:
        row = DriftScan(
            organization_id=organization_id,
            started_at=started,
            finished_at=finished,
            report={k: v for k, v in report.items() if not k.startswith("_")},
        )
        session.add(row)
        session.flush()
        report["scan_id"] = row.id
    return report


def _retention(
    report: dict[str, Any],
    connector: Any,
    system: SystemMap,
    declaration: Declaration | None,
    now: dt.datetime,
) -> None:
    if declaration is None:
        return
    steps, _ = retention_plan(declaration, [system])
    for step in steps:
        collection = system.collection(step.collection)
        assert collection is not None
        limit = cutoff(now, step.period)
        if system.type == "sql":
            oldest, _total = connector.oldest(collection)
            older = connector.count_older(collection, limit) if oldest is not None else 0
        else:
            continue  # files: the sweep reads them; a scan stays within its byte bound
        oldest_aware = oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        if older:
            report["older_than_retention"].append(
                {
                    "system": system.key,
                    "collection": step.collection,
                    "fields": list(step.fields) or "rows",
                    "rule": step.rule_id,
                    "period": step.period,
                    "cutoff": limit.isoformat(),
                    "oldest": oldest_aware.isoformat() if oldest_aware else None,
                    "rows_older": older,
                }
            )


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if not k.startswith("_")}


def latest(session: Session, organization_id: int) -> DriftScan | None:
    from sqlalchemy import select

    return session.scalar(
        select(DriftScan)
        .where(DriftScan.organization_id == organization_id)
        .order_by(DriftScan.id.desc())
        .limit(1)
    )


def propose(report: dict[str, Any], systems: list[SystemMap]) -> str:
    """A map for review from a scan: every sampled table or file, its fields with the
    categories found (declared ones kept), identities guessed from names; connection and
    strategies copied from the current map. Fides dataset YAML."""
    by_key = {s.key: s for s in systems}
    datasets = []
    rules = classifier()
    for entry in report["systems"]:
        s = by_key.get(entry["system"])
        if s is None or not entry.get("collections"):
            continue
        collections = []
        for coll in entry["collections"]:
            mapped = s.collection(coll["collection"]) if coll["mapped"] else None
            fields = []
            for f in coll["fields"]:
                old = mapped.field(f["field"]) if mapped else None
                cats = sorted(set(f["declared"]) | {c for c in f["found"] if c.startswith("user.")})
                item: dict[str, Any] = {"name": f["field"]}
                item["data_categories"] = cats or ["system.operations"]
                meta: dict[str, Any] = {}
                if old is not None:
                    if old.identity:
                        meta["identity"] = old.identity
                    if old.primary_key:
                        meta["primary_key"] = True
                    if old.references:
                        meta["references"] = [
                            {
                                "dataset": r.system,
                                "field": f"{r.collection}.{r.field}",
                                **({"direction": r.direction} if r.direction else {}),
                            }
                            for r in old.references
                        ]
                    if old.strategy is not None:
                        meta["masking_strategy_override"] = {"strategy": old.strategy.name}
                else:
                    hint = next(
                        (r for r in rules.names if r.pattern.search(f["field"].lower())), None
                    )
                    if hint and hint.identity:
                        meta["identity"] = hint.identity
                if meta:
                    item["fides_meta"] = meta
                fields.append(item)
            doc: dict[str, Any] = {"name": coll["collection"], "fields": fields}
            if mapped is not None and mapped.delete_rows:
                doc["fides_meta"] = {"masking_strategy_override": {"strategy": "delete"}}
            collections.append(doc)
        meta_h: dict[str, Any] = {"connection": s.connection.model_dump(exclude_defaults=True)}
        if s.subject_type:
            meta_h["subject_type"] = s.subject_type
        specs = {
            c.name: {
                k: v
                for k, v in {
                    "table": c.table if c.table != c.name else None,
                    "path": c.path,
                    "format": c.format,
                    "retention_field": c.retention_field,
                }.items()
                if v
            }
            for c in s.collections
        }
        specs = {k: v for k, v in specs.items() if v}
        if specs:
            meta_h["collections"] = specs
        datasets.append(
            {
                "fides_key": s.key,
                "name": s.name,
                "description": f"Proposed from a drift scan on {report['generated_at'][:10]}; "
                "review every category before connecting it.",
                "meta": {"honorbound": meta_h},
                "collections": collections,
            }
        )
    return yaml.safe_dump({"dataset": datasets}, sort_keys=False, allow_unicode=True)
