"""Every table of every page template sits in a `.table-wrap` (it scrolls inside it at 390 px
instead of the page). Read from the template files with an HTML parser, a path independent of
the browser's measure (tests/web/test_responsive_browser.py, test_screenshots_browser.py)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import honorbound.web

TEMPLATES = Path(honorbound.web.__file__).parent / "templates"


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.bare: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "table":
            parent = self.stack[-1] if self.stack else ("", "")
            if parent[0] != "div" or "table-wrap" not in parent[1].split():
                self.bare.append(self.getpos()[0])
        if tag not in {"input", "br", "img", "meta", "link", "hr", "col", "source"}:
            self.stack.append((tag, classes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def test_every_table_is_in_a_scrolling_wrapper() -> None:
    bare = {}
    for template in sorted(TEMPLATES.rglob("*.html")):
        parser = _Tables()
        parser.feed(template.read_text(encoding="utf-8"))
        if parser.bare:
            bare[str(template.relative_to(TEMPLATES))] = parser.bare
    assert bare == {}, f"tables outside a .table-wrap (template: lines): {bare}"
