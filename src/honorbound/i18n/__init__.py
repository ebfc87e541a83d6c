"""The languages the consumer-facing product speaks: the portal's pages, the consumer's mail and
the rendered notice. English is the source language (the strings in code and templates); each
other language has a gettext catalog, `locales/<lang>/LC_MESSAGES/messages.po`, read (and
compiled in memory) when first used, so a checkout runs without a build step. `make i18n`
extracts the strings again (pybabel) and merges them into the catalogs.

A string missing from a catalog shows in English (gettext's fallback); a test fails when a
portal template string has no Spanish translation.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
# Each language by its own name (what the language switch shows).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
# The groups of policy/data/wording.yaml the portal's notice page shows in the page's language:
# their values are catalog strings (`make i18n` reads them from the data file).
WORDED_GROUPS = ("sources", "recipient_types", "rights", "methods", "triggers", "triggers_zero")
MAX_ACCEPT_LANGUAGE = 500  # characters of the header read; the rest is ignored


class Marked(str):
    """A marked message with its fields: reads as the English text; `translate` fills the
    fields into the message's translation."""

    message: str
    fields: dict[str, object]
    plural: str | None = None  # a count's message (N_plural): the plural form in English

    def __new__(cls, message: str, fields: dict[str, object], plural: str | None = None) -> Marked:
        english = message if plural is None else ngettext(DEFAULT, message, plural, _num(fields))
        obj = super().__new__(cls, english.format(**fields))
        obj.message = message
        obj.fields = fields
        obj.plural = plural
        return obj


def _num(fields: dict[str, object]) -> int:
    num = fields["num"]
    assert isinstance(num, int), "a plural message counts with an int `num`"
    return num


def N_(message: str, **fields: object) -> str:
    """Marks a string for the catalogs where it is defined; it is translated where shown
    (`translate`). With fields, `message` has `{name}` placeholders filled with them."""
    return Marked(message, fields) if fields else message


def N_plural(singular: str, plural: str, num: int, **fields: object) -> str:
    """Marks a message about a count of `num` things (`{num}` in both forms): shown in the form
    the language's plural rule (the catalog's Plural-Forms, Babel's CLDR rules) picks for
    `num`: "1 day left", "2 days left"; "1 día", "2 días"."""
    return Marked(singular, {"num": num, **fields}, plural)


def translate(lang: str, message: str) -> str:
    """A message made in code (marked with N_ or N_plural), in `lang`: its fields filled in
    after."""
    if isinstance(message, Marked):
        fields = {
            k: translate(lang, v) if isinstance(v, Marked) else v for k, v in message.fields.items()
        }
        if message.plural is not None:
            text = ngettext(lang, message.message, message.plural, _num(message.fields))
            return text.format(**fields)
        return gettext(lang, message.message).format(**fields)
    return gettext(lang, message)


def message_of(error: BaseException) -> str:
    """The message an error was raised with, still marked (N_) so `translate` can show it in
    another language; `str(error)` would drop the mark."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, str) else str(error)


def catalog_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of `lang` (English, or an unknown language: the source strings)."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return _gettext.NullTranslations()
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def supported(lang: str | None) -> str | None:
    """`lang` if the product speaks it ("es-MX" -> "es"), else None."""
    if not lang:
        return None
    base = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The language to answer in from an Accept-Language header (RFC 9110 12.5.4): the
    supported language with the highest q, the first listed on a tie; English otherwise."""
    best, best_q = DEFAULT, -1.0
    for part in (header or "")[:MAX_ACCEPT_LANGUAGE].split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = supported(tag)
        if lang is None or q <= 0 or not 0 <= q <= 1:
            continue
        if q > best_q:
            best, best_q = lang, q
    return best


# The conventions numbers and dates are written in: the product's readers live in the United
# States, so Spanish follows US Spanish (1,024.5), not Spain's (1.024,5).
FORMAT_LOCALES = {"en": "en_US", "es": "es_US"}


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(FORMAT_LOCALES.get(lang, FORMAT_LOCALES[DEFAULT]))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def format_day(value: dt.date | dt.datetime, lang: str) -> str:
    """A date in words: "December 3, 2026", "3 de diciembre de 2026"."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return str(_format_date(day, format="long", locale=_locale(lang)))


def format_month_day(value: dt.date, lang: str) -> str:
    """A short day and month, as a chart's axis shows it: "Oct 19", "19 oct"."""
    return str(format_skeleton("MMMd", value, locale=_locale(lang)))


def format_number(value: int | float, lang: str) -> str:
    """A number with the separators of the language as written in the US: 1,234.5 in both."""
    return str(format_decimal(value, locale=_locale(lang)))


def join(items: list[str], lang: str) -> str:
    """A list in words: "a, b and c" / "a, b y c" (English without the serial comma, as the
    rendered notice writes it)."""
    if len(items) < 2:
        return "".join(items)
    if lang == DEFAULT or lang not in LANGUAGES:
        return ", ".join(items[:-1]) + " and " + items[-1]
    return str(format_list(items, locale=_locale(lang)))


def join_or(items: list[str], lang: str) -> str:
    """Alternatives in words: "a, b or c" / "a, b o c"."""
    if len(items) < 2:
        return "".join(items)
    return str(format_list(items, style="or", locale=_locale(lang)))
