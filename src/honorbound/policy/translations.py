"""The organization's own texts in the reader's language: the declaration's `translations:`
block (`translations: {es: {purposes: {research: {name: ...}}}}`, schema.LanguageTexts).

Only what the organization wrote is translated here (titles, descriptions, statements, notice
sections, examples); the product's own words go through the gettext catalogs (honorbound.i18n).
A text the organization did not translate is shown as written, as a `Foreign` string that
renders marked with its language (`<span lang="en">`), never machine-translated.

`problems()` is what `policy check` says about the block: a language the product does not
speak, an id the declaration does not have, a translation of a text the declaration does not
have (errors), and every text left untranslated, named by its path (warnings).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from honorbound import i18n
from honorbound.policy.schema import DEFAULT_TITLE, Declaration, LanguageTexts
from honorbound.policy.yamlsource import did_you_mean

Path = tuple[str | int, ...]
Text = str | list[str]


class Foreign(str):
    """A text shown in a page of another language, as written: HTML marks its language."""

    lang: str

    def __new__(cls, text: str, lang: str) -> Foreign:
        obj = super().__new__(cls, text)
        obj.lang = lang
        return obj

    def __html__(self) -> str:
        return f'<span lang="{html.escape(self.lang)}">{html.escape(str(self))}</span>'


@dataclass(frozen=True)
class Own:
    """One text of the organization: where it goes in a translations block, where it is
    written in the declaration, and what it says."""

    path: Path  # in the block: ("purposes", "research", "name")
    source: Path  # in the declaration: ("purposes", 1, "name")
    text: Text


# Lists of items with an id, and the fields of each item the organization writes.
_KEYED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("subjects", "id", ("name", "description")),
    ("categories", "key", ("label", "examples", "source_note", "note")),
    ("purposes", "id", ("name", "description")),
    ("recipients", "id", ("name", "description")),
    ("retention", "id", ("description",)),
    ("rights", "id", ("instructions", "verification")),
)
# Single objects and their texts.
_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("organization", ("name", "legal_name")),
    ("contact", ("postal_address", "privacy_officer")),
    ("commitments", ("statement",)),
    ("children", ("statement",)),
    ("call_monitoring", ("statement",)),
    ("cookies", ("statement", "choices")),
    ("email_lists", ("statement",)),
    ("security", ("statement",)),
    ("breach", ("statement",)),
    ("changes", ("statement",)),
)
_NAMES = {
    "subjects": "subject type",
    "categories": "category",
    "purposes": "purpose",
    "recipients": "recipient",
    "retention": "retention rule",
    "rights": "rights offer",
    "sections": "section",
}


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def own_texts(d: Declaration) -> list[Own]:
    """Every text the organization wrote in the declaration, in its order."""
    out: list[Own] = []
    for field in ("title", "introduction"):
        value = getattr(d, field)
        if _present(value) and field in d.model_fields_set:  # not the product's default title
            out.append(Own((field,), (field,), value))
    for part, fields in _PARTS:
        model = getattr(d, part)
        for f in fields:
            value = getattr(model, f, None) if model is not None else None
            if value is not None and _present(value):
                out.append(Own((part, f), (part, f), value))
    for group, id_field, fields in _KEYED:
        for i, item in enumerate(getattr(d, group)):
            for f in fields:
                value = getattr(item, f)
                if _present(value):
                    out.append(Own((group, getattr(item, id_field), f), (group, i, f), value))
    for i, section in enumerate(d.sections):
        out.append(
            Own(("sections", section.title, "title"), ("sections", i, "title"), section.title)
        )
        out.append(Own(("sections", section.title, "text"), ("sections", i, "text"), section.text))
    return out


def given(texts: LanguageTexts) -> dict[Path, Text]:
    """The texts of one language's block, by path."""
    out: dict[Path, Text] = {}
    for name, value in texts:
        if value is None:
            continue
        if isinstance(value, str):
            out[(name,)] = value
        elif isinstance(value, BaseModel):
            for f, v in value:
                if v is not None:
                    out[(name, f)] = v
        else:  # a mapping id -> texts
            for key, model in value.items():
                for f, v in model:
                    if v is not None:
                        out[(name, key, f)] = v
    return out


Severity = Literal["error", "warning"]


def problems(d: Declaration) -> Iterator[tuple[Severity, Path, str]]:
    """What `policy check` reports about the translations block: (severity, path, message);
    the path is where to point in the file."""
    if not d.translations:
        return
    mine = {o.path: o for o in own_texts(d)}
    ids: dict[str, list[str]] = {
        group: [str(getattr(item, id_field)) for item in getattr(d, group)]
        for group, id_field, _ in _KEYED
    }
    ids["sections"] = [s.title for s in d.sections]
    for lang, texts in d.translations.items():
        where: Path = ("translations", lang)
        if lang not in i18n.LANGUAGES:
            yield (
                "error",
                where,
                f"translations: '{lang}' is not a language the portal speaks; "
                f"use one of {', '.join(k for k in i18n.LANGUAGES if k != d.language)}",
            )
            continue
        if lang == d.language:
            yield (
                "error",
                where,
                f"translations: '{lang}' is the language the declaration is written in; "
                "translate into another language",
            )
            continue
        block = given(texts)
        for path, text in block.items():
            at = (*where, *path)
            dotted = "translations." + ".".join(str(p) for p in (lang, *path))
            if len(path) == 3 and path[0] in ids and path[1] not in ids[str(path[0])]:
                yield (
                    "error",
                    at[:-1],
                    f"{dotted}: the declaration has no {_NAMES[str(path[0])]} '{path[1]}'"
                    f"{did_you_mean(str(path[1]), ids[str(path[0])])}",
                )
                continue
            english = mine.get(path)
            if english is None:
                yield (
                    "error",
                    at,
                    f"{dotted}: the declaration has no text here to translate; "
                    "write it in the declaration first",
                )
            elif isinstance(english.text, list) and (
                not isinstance(text, list) or len(text) != len(english.text)
            ):
                yield (
                    "error",
                    at,
                    f"{dotted}: give {len(english.text)} example(s), one per example "
                    "of the declaration, in the same order",
                )
            elif not (text if isinstance(text, str) else all(t.strip() for t in text)):
                yield ("error", at, f"{dotted}: the translation is empty")
        for path, own in mine.items():
            if path not in block:
                dotted = "translations." + ".".join(str(p) for p in (lang, *path))
                yield (
                    "warning",
                    own.source,
                    f"{dotted} is missing: the notice in '{lang}' shows this text as written "
                    f"(in '{d.language}'), marked as such",
                )


def _pick(block: dict[Path, Text], path: Path, english: Any, source_lang: str) -> Any:
    if english is None:
        return None
    text = block.get(path)
    if text is not None and (not isinstance(english, list) or len(text) == len(english)):
        return text
    if isinstance(english, list):
        return [Foreign(e, source_lang) for e in english]
    return Foreign(english, source_lang)


def localize(d: Declaration, lang: str) -> Declaration:
    """The declaration with the organization's texts in `lang` where it translated them, and
    the rest as `Foreign` strings (shown marked). The same object when `lang` is the
    declaration's own language. Ids, keys and every promise stay as they are."""
    if lang == d.language:
        return d
    texts = d.translations.get(lang)
    block = given(texts) if texts is not None else {}

    def pick(path: Path, english: Any) -> Any:
        return _pick(block, path, english, d.language)

    changes: dict[str, Any] = {
        "title": pick(("title",), d.title)
        if "title" in d.model_fields_set
        else i18n.gettext(lang, DEFAULT_TITLE),
        "introduction": pick(("introduction",), d.introduction),
    }
    for part, fields in _PARTS:
        model = getattr(d, part)
        if model is not None:
            changes[part] = model.model_copy(
                update={f: pick((part, f), getattr(model, f)) for f in fields}
            )
    for group, id_field, fields in _KEYED:
        changes[group] = [
            item.model_copy(
                update={
                    f: pick((group, getattr(item, id_field), f), getattr(item, f)) for f in fields
                }
            )
            for item in getattr(d, group)
        ]
    changes["sections"] = [
        s.model_copy(
            update={
                "title": pick(("sections", s.title, "title"), s.title),
                "text": pick(("sections", s.title, "text"), s.text),
            }
        )
        for s in d.sections
    ]
    return d.model_copy(update=changes)
