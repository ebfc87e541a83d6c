"""The human-readable notice, rendered from the declaration (HTML or Markdown).

Everything the notice says comes from the declaration: the per-category table is computed from
purposes, recipients and retention rules, so the text cannot promise something the enforcing
parts do not do. Wording for enumerated values lives in `data/wording.yaml`.

The notice is rendered in one of the languages the product speaks (`i18n.LANGUAGES`): the
product's sentences (templates and this module) through the gettext catalog, the wording
file's values through the same catalog, dates through Babel. The organization's own texts come
from the declaration's `translations:` block (policy/translations.localize); a text it did not
translate is shown as written and, in HTML, marked with its language (`<span lang="en">`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from honorbound import i18n
from honorbound.policy.schema import (
    Category,
    Declaration,
    Purpose,
    Recipient,
    RecipientType,
    RetentionRule,
    RetentionTrigger,
    parse_duration,
)
from honorbound.policy.taxonomy import data_categories
from honorbound.policy.translations import localize

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
    # An empty value (`not_stated: ""`) says nothing; gettext("") would be the catalog header.
    return i18n.gettext(lang, text) if text and group in i18n.WORDED_GROUPS else text


@dataclass(frozen=True)
class Words:
    """The product's sentences of the notice in one language, filled with the declaration's
    texts. Called as `_`, so `make i18n` extracts each literal. In HTML (`html=True`) the
    result is markup: the filled-in texts are escaped, and an organization's text left
    untranslated keeps its language mark (translations.Foreign); otherwise plain text."""

    lang: str = i18n.DEFAULT
    html: bool = False

    def __call__(self, message: str, **fields: object) -> str:
        return self.fill(i18n.gettext(self.lang, message), **fields)

    def ngettext(self, singular: str, plural: str, n: int, **fields: object) -> str:
        return self.fill(i18n.ngettext(self.lang, singular, plural, n), num=n, **fields)

    def fill(self, text: str, **fields: object) -> str:
        if self.html:
            return Markup(escape(text)) % fields if fields else Markup(escape(text))
        return text % fields if fields else text

    def _parts(self, items: list[str]) -> list[str]:
        return [str(escape(i)) for i in items] if self.html else list(items)

    def _wrap(self, text: str) -> str:
        return Markup(text) if self.html else text

    def listing(self, items: list[str]) -> str:
        """`a, b and c` / `a, b y c`."""
        return self._wrap(i18n.join(self._parts(items), self.lang))

    def alternatives(self, items: list[str]) -> str:
        """`a, b, or c` / `a, b o c`."""
        parts = self._parts(items)
        text = ", or ".join(parts) if self.lang == i18n.DEFAULT else i18n.join_or(parts, self.lang)
        return self._wrap(text)

    def joined(self, separator: str, items: list[str]) -> str:
        """Texts one after the other (`; `, a space), each escaped in HTML."""
        return self._wrap(separator.join(self._parts(items)))


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
        choices = Words(lang).alternatives(phrases)
        text = i18n.gettext(lang, "{choices}, whichever comes first").format(choices=choices)
    return text[0].upper() + text[1:]


def retention_text(rule: RetentionRule, _: Words) -> str:
    """The organization's description of a rule (in the reader's language where translated),
    else the rule in words."""
    return rule.description or _.fill(describe_rule(rule, _.lang))


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


def _targeted(_: Words, targeted: list[str], shared: list[str]) -> str:
    if targeted and shared:
        return _(
            "We use this information for targeted advertising (%(purposes)s) and share it for "
            "that purpose with %(recipients)s.",
            purposes=_.listing(targeted),
            recipients=_.listing(shared),
        )
    if targeted:
        return _(
            "We use this information for targeted advertising (%(purposes)s).",
            purposes=_.listing(targeted),
        )
    if shared:
        return _(
            "We use this information for targeted advertising and share it for that purpose "
            "with %(recipients)s.",
            recipients=_.listing(shared),
        )
    return _(
        "We do not use this information for targeted advertising or share it for targeted "
        "advertising purposes."
    )


def _other_disclosures(_: Words, others: list[Recipient], purposes: list[Purpose]) -> str:
    if not others:
        return _("We do not disclose this information to others.")
    declared = {p.id for p in purposes}
    items = []
    for r in others:
        why = _.listing([p.name for p in purposes if p.id in r.purposes])
        if declared & set(r.purposes):
            items.append(
                _(
                    "%(recipient)s (%(purposes)s), only with your consent",
                    recipient=r.name,
                    purposes=why,
                )
                if r.consent_required
                else _.fill("%(recipient)s (%(purposes)s)", recipient=r.name, purposes=why)
            )
        else:
            items.append(
                _("%(recipient)s, only with your consent", recipient=r.name)
                if r.consent_required
                else _.fill("%(recipient)s", recipient=r.name)
            )
    return _.fill("%(items)s.", items=_.joined("; ", items))


def _retention(d: Declaration, cat: Category, _: Words) -> list[str]:
    per_subject: dict[str, str] = {}
    for subject in d.subject_ids(cat.subjects):
        rules = d.retention_rules_for(cat.key, subject)
        per_subject[subject] = _.joined(" ", [retention_text(r, _) for r in rules])
    if len(set(per_subject.values())) <= 1:
        return list(dict.fromkeys(per_subject.values()))
    return [
        _.fill("%(subjects)s: %(rule)s", subjects=_subject_name(d, sid), rule=text)
        for sid, text in per_subject.items()
    ]


def category_rows(
    d: Declaration, lang: str = i18n.DEFAULT, *, html: bool = False
) -> list[CategoryRow]:
    """The notice's table, one row per category, its sentences in `lang`; the declaration's
    own texts as `d` has them (see policy/translations.localize). With `html`, the sentences
    are markup keeping the language mark of untranslated texts (see `Words`)."""
    _ = Words(lang, html)
    rows = []
    for cat in d.categories:
        purposes = d.purposes_for(cat.key)
        recipients = d.recipients_for(cat.key)
        profiling = [p.name for p in purposes if p.profiling]
        sold = [r.name for r in recipients if r.sale]
        rows.append(
            CategoryRow(
                category=cat,
                title=category_title(cat, lang),
                examples=cat.examples or cat.includes or [cat.key],
                purposes=[p.name for p in purposes],
                profiling=(
                    _(
                        "We use this information for profiling: %(purposes)s.",
                        purposes=_.listing(profiling),
                    )
                    if profiling
                    else _(
                        "We do not use this information for profiling in furtherance of "
                        "decisions that produce legal or similarly significant effects."
                    )
                ),
                targeted_advertising=_targeted(
                    _,
                    [p.name for p in purposes if p.targeted_advertising],
                    [r.name for r in recipients if r.sharing],
                ),
                sale=(
                    _("We sell this information to %(recipients)s.", recipients=_.listing(sold))
                    if sold
                    else _("We do not sell this information.")
                ),
                other_disclosures=_other_disclosures(
                    _, [r for r in recipients if not (r.sale or r.sharing)], purposes
                ),
                retention=_retention(d, cat, _),
                sources=_.listing([word("sources", s.value, lang) for s in cat.sources]),
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


def jurisdiction_names(
    codes: list[str], state_names: Mapping[str, str] | None = None, lang: str = i18n.DEFAULT
) -> str:
    """`["US-CA", "US-CO"]` -> `California and Colorado` with the runtime's rules' state names
    (`JurisdictionRules.state_names`), `US` and `all` in words in `lang`; unknown codes stay
    as written. The portal's notice and the rendered one both say where rights apply so."""
    names = {
        "all": i18n.gettext(lang, "any place"),
        "US": i18n.gettext(lang, "the United States"),
        **(state_names or {}),
    }
    return i18n.join([names.get(code, code) for code in codes], lang)


def _subject_name(d: Declaration, subject_id: str) -> str:
    subject = d.subject(subject_id)
    return subject.name if subject else subject_id


def _rule_scope(d: Declaration, rule: RetentionRule, _: Words) -> str:
    """Whose data of which categories a rule keeps, and for how long."""
    text = retention_text(rule, _)
    everyone = rule.subjects == "all"
    who = _.listing([_subject_name(d, s) for s in d.subject_ids(rule.subjects)])
    if rule.categories == "all":
        if everyone:
            return _("All categories of everyone: %(rule)s", rule=text)
        return _("All categories of %(subjects)s: %(rule)s", subjects=who, rule=text)
    cats = _.listing(
        [category_title(c, _.lang) if (c := d.category(k)) else k for k in rule.categories]
    )
    if everyone:
        return _("%(categories)s of everyone: %(rule)s", categories=cats, rule=text)
    return _("%(categories)s of %(subjects)s: %(rule)s", categories=cats, subjects=who, rule=text)


def _view(
    d: Declaration, notice_url: str | None, state_names: Mapping[str, str] | None, _: Words
) -> dict[str, Any]:
    lang = _.lang
    rows = category_rows(d, lang, html=_.html)
    by_type: dict[RecipientType, list[Any]] = {}
    for r in d.recipients:
        by_type.setdefault(r.type, []).append(r)
    return {
        "d": d,
        "lang": lang,
        "effective": i18n.format_day(d.effective_date, lang),
        "notice_url": notice_url,
        "rows": rows,
        "ordinary_rows": [r for r in rows if not r.category.sensitive],
        "sensitive_rows": [r for r in rows if r.category.sensitive],
        "recipient_groups": [
            (word("recipient_types", t.value, lang), rs) for t, rs in by_type.items()
        ],
        "word": lambda group, key: word(group, key, lang),
        "purpose_categories": lambda p: _.listing(
            [
                category_title(c, lang) if (c := d.category(k)) else k
                for k in d.category_keys(p.categories)
            ]
        ),
        "listing": _.listing,
        "jurisdictions": lambda codes: jurisdiction_names(codes, state_names, lang),
        "retention": [(rule, _rule_scope(d, rule, _)) for rule in d.retention],
        "offer_methods": lambda offer: [_method(d, m.value, _) for m in offer.methods],
        "change_methods": [word("change_methods", m.value, lang) for m in d.changes.methods],
    }


def _method(d: Declaration, method: str, _: Words) -> str:
    text = word("methods", method, _.lang)
    contact = {
        "email": d.contact.email,
        "phone": d.contact.phone,
        "postal_mail": d.contact.postal_address,
        "web_form": d.contact.web_form,
    }.get(method)
    return _.fill("%(method)s (%(contact)s)", method=text, contact=contact) if contact else text


@cache
def _environment(fmt: Format, lang: str) -> Environment:
    """The templates with the catalog of `lang` (Jinja's i18n extension, new-style gettext: a
    filled-in value is escaped in HTML, the translated sentence is not)."""
    env = Environment(
        loader=PackageLoader("honorbound.policy", "templates"),
        autoescape=select_autoescape(["html"]) if fmt == "html" else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    # A text without its language mark, where markup cannot go (<title>).
    env.filters["text"] = str
    return env


def render(
    declaration: Declaration,
    fmt: Format = "html",
    notice_url: str | None = None,
    state_names: Mapping[str, str] | None = None,
    lang: str = i18n.DEFAULT,
) -> str:
    """The notice as a complete HTML page or a Markdown document, in `lang` (one of
    `i18n.LANGUAGES`; `i18n.offered` checks a reader's choice). `state_names` (the runtime's
    `rules.state_names`) spells out `US-CA` as California."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
    lang = i18n.offered(lang)
    name = "notice.html" if fmt == "html" else "notice.md.txt"
    view = _view(localize(declaration, lang), notice_url, state_names, Words(lang, fmt == "html"))
    text = _environment(fmt, lang).get_template(name).render(**view)
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
