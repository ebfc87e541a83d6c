"""`make i18n`: extract the consumer-facing strings (babel.cfg says where) and merge them into
each language's catalog, keeping the translations already written. A new string gets an empty
msgstr, which the catalog test (tests/foundation/test_i18n_catalog.py) refuses until it is
translated; a string no longer in the sources leaves the catalog."""

from __future__ import annotations

from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from honorbound.i18n import DEFAULT, LANGUAGES, WORDED_GROUPS, catalog_path

ROOT = Path(__file__).resolve().parents[3]
WORDING = "src/honorbound/policy/data/wording.yaml"
REQUEST_TYPES = "src/honorbound/rights/data/requests.yaml"
# `_`/`N_` take the message first; `i18n.gettext(lang, message)` second (one-argument
# `gettext` is what Jinja's {% trans %} blocks yield).
KEYWORDS = parse_keywords(
    ["_", "N_", "gettext", "gettext:2,2t", "ngettext:1,2", "ngettext:2,3,4t", "N_plural:1,2"]
)


def extract(root: Path = ROOT) -> Catalog:
    """Every marked string of the sources, as a template catalog."""
    with (root / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    template = Catalog(project="honorbound")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    # The enumerated words of the notice page live in a data file, not in code.
    words = yaml.safe_load((root / WORDING).read_text("utf-8"))
    for group in WORDED_GROUPS:
        for key, text in words[group].items():
            template.add(text, None, [(f"{WORDING}:{group}.{key}", 0)])
    # What each request type asks for, in words (its row's `label`): the portal's choices and
    # the mails. Read from the file itself, like the wording above.
    rows = yaml.safe_load((root / REQUEST_TYPES).read_text("utf-8"))["types"]
    for key, row in rows.items():
        template.add(row["label"], None, [(f"{REQUEST_TYPES}:types.{key}.label", 0)])
    # The taxonomy's category names (a declaration's category without a label shows its name).
    from honorbound.policy.taxonomy import data_categories

    for key, entry in data_categories().items():
        template.add(entry.name, None, [(f"taxonomy:{key}", 0)])
    return template


def _translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    forms = [string] if isinstance(string, str) else list(string or [])
    return bool(forms) and all(forms)


def update(root: Path = ROOT) -> dict[str, int]:
    """Merge the extracted strings into each catalog; the count of untranslated per language."""
    template = extract(root)
    untranslated = {}
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        path = catalog_path(lang)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, sort_output=True, width=100)
        untranslated[lang] = sum(1 for m in catalog if m.id and not _translated(m.string))
    return untranslated


if __name__ == "__main__":
    for lang, count in update().items():
        print(f"{lang}: {count} string(s) to translate")
