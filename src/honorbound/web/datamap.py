"""The declaration as a matrix: for each data category, the purposes that use it, the
recipients that receive it and the retention that ends it. Shared by the console's data map
and the public notice page."""

from __future__ import annotations

from dataclasses import dataclass

from honorbound.policy.schema import Declaration, Recipient, RetentionRule, Selection
from honorbound.policy.taxonomy import is_within


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    sensitive: bool
    sources: list[str]
    purposes: list[str]
    recipients: list[Recipient]
    retention: list[str]


def _covers(selection: Selection, key: str) -> bool:
    if selection == "all":
        return True
    return any(is_within(key, k) or is_within(k, key) for k in selection)


def retention_text(rule: RetentionRule) -> str:
    parts = [
        f"{t.trigger.value.replace('_', ' ')}" + (f" ({t.period})" if t.period else "")
        for t in rule.triggers
    ]
    return (
        f"{rule.id}: "
        + ", or ".join(parts)
        + (" (whichever comes first)" if len(parts) > 1 else "")
    )


def matrix(declaration: Declaration) -> list[Row]:
    rows = []
    for cat in declaration.categories:
        rows.append(
            Row(
                key=cat.key,
                title=cat.title,
                sensitive=cat.sensitive,
                sources=[s.value.replace("_", " ") for s in cat.sources],
                purposes=[p.name for p in declaration.purposes if _covers(p.categories, cat.key)],
                recipients=[r for r in declaration.recipients if _covers(r.categories, cat.key)],
                retention=[
                    retention_text(rule)
                    for rule in declaration.retention
                    if _covers(rule.categories, cat.key)
                ],
            )
        )
    return rows
