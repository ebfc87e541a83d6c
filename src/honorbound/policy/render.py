"""The human-readable notice, rendered from the declaration (HTML or Markdown).

Everything the notice says comes from the declaration: the per-category table is computed from
purposes, recipients and retention rules, so the text cannot promise something the enforcing
parts do not do. Wording for enumerated values lives in `data/wording.yaml`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from honorbound import i18n
from honorbound.policy.schema import (
    Category,
    Declaration,
    RecipientType,
    RetentionRule,
    RetentionTrigger,
    parse_duration,
)
from honorbound.policy.taxonomy import data_categories

Format = Literal["html", "md"]
FORMATS: tuple[Format, ...] = ("html", "md")


@cache
def wording() -> dict[str, dict[str, str]]:
    text = resources.files("honorbound.policy").joinpath("data/wording.yaml").read_text("utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


def word(group: str, key: str, lang: str = i18n.DEFAULT) -> str:
    """The data file's words for `key`; in `lang` for the groups in i18n.WORDED_GROUPS."""
    text = wording()[group].get(key, key.replace("_", " "))
    return i18n.gettext(lang, text) if group in i18n.WORDED_GROUPS else text


# Literal calls, so `make i18n` extracts each plural pair.
_UNITS: tuple[Callable[[str, int], str], ...] = (
    lambda lang, n: i18n.ngettext(lang, "%(num)d year", "%(num)d years", n),
    lambda lang, n: i18n.ngettext(lang, "%(num)d month", "%(num)d months", n),
    lambda lang, n: i18n.ngettext(lang, "%(num)d week", "%(num)d weeks", n),
    lambda lang, n: i18n.ngettext(lang, "%(num)d day", "%(num)d days", n),
)


def humanize_period(period: str, lang: str = i18n.DEFAULT) -> str:
    """`P6Y` -> `6 years`, `P1Y6M` -> `1 year and 6 months`, `P0D` -> `no time`; in `lang`."""
    parts = [
        unit(lang, value) % {"num": value}
        for value, unit in zip(parse_duration(period), _UNITS, strict=True)
        if value
    ]
    if not parts:
        return i18n.gettext(lang, "no time")
    return i18n.join(parts, lang)


def describe_trigger(trig: RetentionTrigger, lang: str = i18n.DEFAULT) -> str:
    template = word("triggers_zero" if trig.period and _is_zero(trig.period) else "triggers",
                     trig.trigger.value, lang)  # fmt: skip
    return template.format(period=humanize_period(trig.period, lang) if trig.period else "")


def _is_zero(period: str) -> bool:
    return not any(parse_duration(period))


def describe_rule(rule: RetentionRule, lang: str = i18n.DEFAULT) -> str:
    """A retention rule in words: "6 years after your last activity with us" ("6 años
    después de su última actividad con nosotros")."""
    phrases = [describe_trigger(t, lang) for t in rule.triggers]
    if len(phrases) == 1:
        text = phrases[0]
    else:
        choices = ", or ".join(phrases) if lang == i18n.DEFAULT else i18n.join_or(phrases, lang)
        text = i18n.gettext(lang, "{choices}, whichever comes first").format(choices=choices)
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    title: str
    examples: list[str]
    purposes: list[str]
    profiling: str
    targeted_advertising: str
    sale: str
    other_disclosures: str
    retention: list[str]
    sources: str


def _list(items: list[str]) -> str:
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def category_rows(d: Declaration, lang: str = i18n.DEFAULT) -> list[CategoryRow]:
    """The notice's table, one row per category. Retention sentences, taxonomy names and
    sources are in `lang`; the declaration's own texts as `d` has them (see
    policy/translations.localize); the other sentences are English (the rendered file)."""
    rows = []
    for cat in d.categories:
        purposes = d.purposes_for(cat.key)
        recipients = d.recipients_for(cat.key)
        profiling = [p.name for p in purposes if p.profiling]
        targeted = [p.name for p in purposes if p.targeted_advertising]
        shared = [r.name for r in recipients if r.sharing]
        sold = [r.name for r in recipients if r.sale]
        others = [r for r in recipients if not (r.sale or r.sharing)]
        per_subject: dict[str, str] = {}
        for subject in d.subject_ids(cat.subjects):
            rules = d.retention_rules_for(cat.key, subject)
            per_subject[subject] = " ".join(r.description or describe_rule(r, lang) for r in rules)
        if len(set(per_subject.values())) <= 1:
            retention = list(set(per_subject.values()))
        else:
            retention = [f"{_subject_name(d, sid)}: {text}" for sid, text in per_subject.items()]
        declared = {p.id for p in purposes}
        rows.append(
            CategoryRow(
                category=cat,
                title=category_title(cat, lang),
                examples=cat.examples or cat.includes or [cat.key],
                purposes=[p.name for p in purposes],
                profiling=(
                    f"We use this information for profiling: {_list(profiling)}."
                    if profiling
                    else "We do not use this information for profiling in furtherance of "
                    "decisions that produce legal or similarly significant effects."
                ),
                targeted_advertising=(
                    "We use this information for targeted advertising"
                    + (f" ({_list(targeted)})" if targeted else "")
                    + (f" and share it for that purpose with {_list(shared)}" if shared else "")
                    + "."
                    if targeted or shared
                    else "We do not use this information for targeted advertising or share it "
                    "for targeted advertising purposes."
                ),
                sale=(
                    f"We sell this information to {_list(sold)}."
                    if sold
                    else "We do not sell this information."
                ),
                other_disclosures=(
                    "; ".join(
                        r.name
                        + (
                            f" ({_list([p.name for p in purposes if p.id in r.purposes])})"
                            if declared & set(r.purposes)
                            else ""
                        )
                        + (", only with your consent" if r.consent_required else "")
                        for r in others
                    )
                    + "."
                    if others
                    else "We do not disclose this information to others."
                ),
                retention=retention,
                sources=i18n.join([word("sources", s.value, lang) for s in cat.sources], lang),
            )
        )
    return rows


def category_title(cat: Category, lang: str = i18n.DEFAULT) -> str:
    """The declared label, else the taxonomy's name for the key (in `lang`: the taxonomy's
    names are catalog strings)."""
    if cat.label:
        return cat.label
    entry = data_categories().get(cat.key)
    return i18n.gettext(lang, entry.name) if entry else cat.key


def jurisdiction_names(codes: list[str], state_names: Mapping[str, str] | None = None) -> str:
    """`["US-CA", "US-CO"]` -> `California and Colorado` with the runtime's rules' state names
    (`JurisdictionRules.state_names`); unknown codes stay as written."""
    names = {"US": "the United States", **(state_names or {})}
    return _list([names.get(code, code) for code in codes])


def _subject_name(d: Declaration, subject_id: str) -> str:
    subject = d.subject(subject_id)
    return subject.name if subject else subject_id


def _rule_scope(d: Declaration, rule: RetentionRule) -> str:
    cats = (
        "all categories"
        if rule.categories == "all"
        else _list([category_title(c) if (c := d.category(k)) else k for k in rule.categories])
    )
    who = (
        "everyone"
        if rule.subjects == "all"
        else _list([_subject_name(d, s) for s in d.subject_ids(rule.subjects)])
    )
    return f"{cats.capitalize() if cats == 'all categories' else cats} of {who}: " + (
        rule.description or describe_rule(rule)
    )


def _view(
    d: Declaration, notice_url: str | None, state_names: Mapping[str, str] | None
) -> dict[str, Any]:
    rows = category_rows(d)
    by_type: dict[RecipientType, list[Any]] = {}
    for r in d.recipients:
        by_type.setdefault(r.type, []).append(r)
    return {
        "d": d,
        "notice_url": notice_url,
        "rows": rows,
        "ordinary_rows": [r for r in rows if not r.category.sensitive],
        "sensitive_rows": [r for r in rows if r.category.sensitive],
        "recipient_groups": [(word("recipient_types", t.value), rs) for t, rs in by_type.items()],
        "word": word,
        "purpose_categories": lambda p: _list(
            [
                category_title(c) if (c := d.category(k)) else k
                for k in d.category_keys(p.categories)
            ]
        ),
        "listing": _list,
        "jurisdictions": lambda codes: jurisdiction_names(codes, state_names),
        "retention": [(rule, _rule_scope(d, rule)) for rule in d.retention],
        "offer_methods": lambda offer: [_method(d, m.value) for m in offer.methods],
        "change_methods": [word("change_methods", m.value) for m in d.changes.methods],
    }


def _method(d: Declaration, method: str) -> str:
    text = word("methods", method)
    contact = {
        "email": d.contact.email,
        "phone": d.contact.phone,
        "postal_mail": d.contact.postal_address,
        "web_form": d.contact.web_form,
    }.get(method)
    return f"{text} ({contact})" if contact else text


@cache
def _environment(fmt: Format) -> Environment:
    return Environment(
        loader=PackageLoader("honorbound.policy", "templates"),
        autoescape=select_autoescape(["html"]) if fmt == "html" else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(
    declaration: Declaration,
    fmt: Format = "html",
    notice_url: str | None = None,
    state_names: Mapping[str, str] | None = None,
) -> str:
    """The notice as a complete HTML page or a Markdown document. `state_names` (the runtime's
    `rules.state_names`) spells out `US-CA` as California."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
    name = "notice.html" if fmt == "html" else "notice.md.txt"
    text = (
        _environment(fmt).get_template(name).render(**_view(declaration, notice_url, state_names))
    )
    return _tidy_markdown(text) if fmt == "md" else text


def _tidy_markdown(text: str) -> str:
    """One blank line around headings and tables, never two in a row."""
    out: list[str] = []
    for line in text.splitlines():
        previous = out[-1] if out else ""
        table_start = line.startswith("|") and not previous.startswith("|")
        starts_block = line.startswith("#") or table_start
        if (starts_block or (out and out[-1].startswith("#"))) and out and out[-1] != "":
            out.append("")
        if line.strip() == "" and (not out or out[-1] == ""):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip() + "\n"
