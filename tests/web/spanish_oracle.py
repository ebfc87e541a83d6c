"""An independent oracle for the Spanish portal and console: no English product string on a
Spanish page.

The English strings are the msgids of the portal's templates, extracted here with Babel's
Jinja extractor straight from the template files (not through honorbound.i18n or its
`make i18n` extractor, and not from the catalog the app loads). A Spanish page fails when any of
them appears verbatim in its text outside an element marked `lang="en"` (the organization's own
untranslated words, the switch's "English"; `lang=""`, a text in an unknown language such as a
consumer's mail shown in the outbox), unless the string is the same in both languages
(its msgstr in the Spanish .po file, read here with Babel, equals the msgid).

For the console (`console=True`) the English strings are also the msgids of the console's and
the sign-in pages' templates (and the data map's table) and the messages marked in the console's
Python code (Babel's own Python extractor over those files: web/console/*.py, web/login.py, the
outbox's reasons, the Shine the Light answer, what changed between two declarations).

For the rendered notice (`notice_msgids()`: `policy render`, the API's notice) the English
strings are the msgids of the notice's two templates and of policy/render.py, and every value of
the wording file (policy/data/wording.yaml, read here as YAML), which the notice shows.

Placeholders (`%(name)s`) split a msgid into fragments; a fragment counts when it has at least
two words or eight letters (a lone "Email" or "Name" is too weak to tell a language by), and is
matched on word boundaries, case-sensitively, in the page's visible text, its <title>, and its
aria-label, placeholder and alt attributes. A `<code>` element is not text to read: it shows a
machine identifier as it is (a message kind such as `rights.completed`, a setting's name).
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import yaml
from babel.messages.extract import extract_from_file
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "honorbound" / "web" / "templates"
PORTAL_TEMPLATES = [
    *sorted((TEMPLATES / "portal").glob("*.html")),
    TEMPLATES / "base.html",
    TEMPLATES / "error.html",
    TEMPLATES / "fields.html",
]
CONSOLE_TEMPLATES = [
    *sorted((TEMPLATES / "console").glob("*.html")),
    *sorted(TEMPLATES.glob("login*.html")),
    TEMPLATES / "invite.html",
    TEMPLATES / "datamap_table.html",
]
SRC = ROOT / "src" / "honorbound"
CONSOLE_CODE = [
    *sorted((SRC / "web" / "console").glob("*.py")),
    SRC / "web" / "login.py",
    SRC / "web" / "charts.py",
    SRC / "notify" / "outbox.py",
    SRC / "accounts" / "twofactor.py",
    SRC / "disclosures" / "reports.py",
    SRC / "policy" / "diff.py",
]
NOTICE_TEMPLATES = [
    SRC / "policy" / "templates" / "notice.html",
    SRC / "policy" / "templates" / "notice.md.txt",
]
NOTICE_CODE = [SRC / "policy" / "render.py"]
WORDING = SRC / "policy" / "data" / "wording.yaml"
PO = ROOT / "src" / "honorbound" / "i18n" / "locales" / "es" / "LC_MESSAGES" / "messages.po"
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}")
# `_`, `N_` and one-argument `gettext` (Jinja's {% trans %}) take the message first;
# `i18n.gettext(lang, message)` second.
_KEYWORDS = parse_keywords(
    ["_", "N_", "gettext", "gettext:2,2t", "ngettext:1,2", "ngettext:2,3,4t", "N_plural:1,2"]
)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_VOID = {"br", "meta", "link", "input", "img", "hr", "source", "wbr", "area", "col"}
_ATTRS = ("aria-label", "placeholder", "alt")


def _extract(paths: list[Path], method: str) -> set[str]:
    found: set[str] = set()
    options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
    for path in paths:
        if not path.exists():
            continue
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=_KEYWORDS, options=options
        ):
            for text in (message,) if isinstance(message, str) else message:
                if text:
                    found.add(text)
    return found


@cache
def template_msgids() -> tuple[str, ...]:
    """Every msgid (singular and plural) of the portal templates."""
    return tuple(sorted(_extract(PORTAL_TEMPLATES, "jinja2")))


@cache
def console_msgids() -> tuple[str, ...]:
    """The portal's msgids, and the console's templates' and code's."""
    found = set(template_msgids()) | _extract(CONSOLE_TEMPLATES, "jinja2")
    return tuple(sorted(found | _extract(CONSOLE_CODE, "python")))


@cache
def notice_msgids() -> tuple[str, ...]:
    """The rendered notice's English: its templates' and render.py's msgids, the wording file's
    values."""
    found = _extract(NOTICE_TEMPLATES, "jinja2") | _extract(NOTICE_CODE, "python")
    words = yaml.safe_load(WORDING.read_text("utf-8"))
    found |= {text for group in words.values() for text in group.values() if text}
    return tuple(sorted(found))


@cache
def _same_in_spanish() -> frozenset[str]:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    same = set()
    for m in catalog:
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for i, msgid in enumerate(ids):
            if msgid and strings and msgid in strings[min(i, len(strings) - 1) :]:
                same.add(msgid)
    return frozenset(same)


def fragments(msgid: str) -> list[str]:
    """The literal pieces of a msgid worth looking for on a page."""
    text = _SPACE.sub(" ", _TAG.sub(" ", msgid.replace("&mdash;", "—")))
    pieces = [p.strip(" .,:;()—-") for p in _PLACEHOLDER.split(text)]
    return [p for p in pieces if len(p.split()) >= 2 or len(p) >= 8]


class _Spanish(HTMLParser):
    """The text of a page outside elements marked with another language than the page's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []
        self.page_lang = ""
        self.parts: list[str] = []
        self.skip = 0

    def _lang(self) -> str:
        return self.stack[-1][1] if self.stack else self.page_lang

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.page_lang = values.get("lang") or ""
        # lang="" says "unknown language" (HTML): not the page's either.
        lang = values["lang"] or "" if "lang" in values else self._lang()
        if lang == self.page_lang:
            self.parts.extend(str(values[a]) for a in _ATTRS if values.get(a))
        if tag in ("script", "style", "code"):
            self.skip += 1
        if tag not in _VOID:
            self.stack.append((tag, lang))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if (values["lang"] or "" if "lang" in values else self._lang()) == self.page_lang:
            self.parts.extend(str(values[a]) for a in _ATTRS if values.get(a))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.skip = max(0, self.skip - 1)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self.skip and self._lang() == self.page_lang:
            self.parts.append(data)


def spanish_text(html: str) -> str:
    """The page's own-language text (visible text, title, labels) in one line."""
    parser = _Spanish()
    parser.feed(html)
    return _SPACE.sub(" ", " ".join(parser.parts))


def english_left(
    html: str, console: bool = False, msgids: tuple[str, ...] | None = None, text: str | None = None
) -> list[str]:
    """The template msgids (or `msgids`) found verbatim on a Spanish page outside `lang="en"`
    (or in `text`, already freed of other-language parts); [] is a pass."""
    text = spanish_text(html) if text is None else _SPACE.sub(" ", text)
    same = _same_in_spanish()
    left = []
    if msgids is None:
        msgids = console_msgids() if console else template_msgids()
    for msgid in msgids:
        if msgid in same:
            continue
        for piece in fragments(msgid):
            if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text):
                left.append(msgid)
                break
    return left
