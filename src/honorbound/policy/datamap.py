"""The declaration as a matrix: for each data category, the purposes that use it, the
recipients that receive it and the retention that ends it; and several declarations side by
side (a BPO's clients). Shared by the console's data maps, the public notice page, the API
(`/v1/clients/data-map`) and the CLI (`honorbound clients data-map`) through
`honorbound.bpo.datamap`."""

from __future__ import annotations

from dataclasses import dataclass

from honorbound import i18n
from honorbound.i18n import N_
from honorbound.policy.render import category_title, describe_rule
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


def retention_text(rule: RetentionRule, lang: str = i18n.DEFAULT) -> str:
    """The rule's id (the declaration's code, as staff write it) and what it says, in words
    in `lang` ("6 years after ..."); the ISO periods stay in the declaration's text."""
    return f"{rule.id}: {describe_rule(rule, lang)}"


def matrix(declaration: Declaration, lang: str = i18n.DEFAULT) -> list[Row]:
    """One row per category; the product's words (taxonomy names, retention) in `lang`, the
    declaration's own texts as `declaration` has them (policy.translations.localize)."""
    rows = []
    for cat in declaration.categories:
        rows.append(
            Row(
                key=cat.key,
                title=category_title(cat, lang),
                sensitive=cat.sensitive,
                sources=[s.value.replace("_", " ") for s in cat.sources],
                purposes=[p.name for p in declaration.purposes if _covers(p.categories, cat.key)],
                recipients=[r for r in declaration.recipients if _covers(r.categories, cat.key)],
                retention=[
                    retention_text(rule, lang)
                    for rule in declaration.retention
                    if _covers(rule.categories, cat.key)
                ],
            )
        )
    return rows


# -- several notices side by side (a BPO's clients) ---------------------------------------------
ASPECTS = ("purposes", "recipients", "retention")
NOT_DECLARED = N_("not in this notice")
NONE_DECLARED = N_("none")
PRODUCT_WORDS = frozenset(
    {NOT_DECLARED, NONE_DECLARED}
)  # shown translated; the rest is the notice's


@dataclass(frozen=True)
class Cell:
    text: str  # what this notice says for the category and aspect; NOT_DECLARED when absent
    differs: bool  # not every compared notice says the same
    values: tuple[str, ...] | None = None  # the same, one entry per value; None: absent


@dataclass(frozen=True)
class ComparedRow:
    key: str
    title: str
    aspect: str  # one of ASPECTS
    cells: list[Cell]  # one per notice, in the order given


def _aspect_values(row: Row | None, aspect: str) -> tuple[str, ...] | None:
    if row is None:
        return None
    if aspect == "recipients":
        return tuple(sorted(f"{r.name} ({r.type.value.replace('_', ' ')})" for r in row.recipients))
    return tuple(sorted(getattr(row, aspect)))


def _text(values: tuple[str, ...] | None) -> str:
    if values is None:
        return NOT_DECLARED
    return "; ".join(values) or NONE_DECLARED


def side_by_side(declarations: list[Declaration | None]) -> list[ComparedRow]:
    """The notices' data maps aligned by category (the union of their categories, by key):
    for each category and aspect (purposes, recipients, retention) what each notice says, and
    whether they differ. A notice without the category, or no notice at all, says
    NOT_DECLARED, which differs from any notice that declares it."""
    maps = [{r.key: r for r in matrix(d)} if d is not None else {} for d in declarations]
    titles: dict[str, str] = {}
    for found in maps:
        for key, row in found.items():
            titles.setdefault(key, row.title)
    compared = []
    for key in sorted(titles):
        for aspect in ASPECTS:
            values = [_aspect_values(found.get(key), aspect) for found in maps]
            differs = len(set(values)) > 1
            cells = [Cell(_text(v), differs, v) for v in values]
            compared.append(ComparedRow(key, titles[key], aspect, cells))
    return compared
