"""The rendered notice: every section of the declaration, and the per-category table."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from honorbound.policy.loader import load_declaration
from honorbound.policy.render import category_rows, humanize_period, render

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "policies").glob("*.yaml"))
CC1 = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"
ROW_HEADERS = [
    "Examples and purpose for collection",
    "Profiling",
    "Targeted advertising",
    "Sale",
    "Other disclosures",
    "Retention period",
]


class _Tables(HTMLParser):
    """Collects each category table as {row header: cell text}, and the h2 headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, str]] = {}
        self.headings: list[str] = []
        self._table: dict[str, str] | None = None
        self._caption = ""
        self._where = ""
        self._header = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = {}
        if tag in ("caption", "th", "td", "h2"):
            self._where = tag
            if tag == "td":
                assert self._table is not None
                self._table[self._header] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table is not None:
            self.tables[self._caption] = self._table
            self._table = None
        if tag == self._where:
            self._where = ""

    def handle_data(self, data: str) -> None:
        if self._where == "caption":
            self._caption = data.removeprefix("Category: ")
        elif self._where == "th":
            self._header = data
        elif self._where == "td" and self._table is not None:
            self._table[self._header] += data
        elif self._where == "h2":
            self.headings.append(data)


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def test_cc1_html_has_every_category_with_the_full_table() -> None:
    d = load_declaration(CC1)
    parsed = _parse(render(d, "html"))
    # Ordinary categories first, then the sensitive ones, each in declaration order.
    assert list(parsed.tables) == [c.label for c in d.categories if not c.sensitive] + [
        c.label for c in d.categories if c.sensitive
    ]
    assert len(parsed.tables) == 12
    for name, table in parsed.tables.items():
        for header in ROW_HEADERS:
            assert table.get(header, "").strip(), (name, header)
    identifiers = parsed.tables["Identifiers"]
    assert "social security number" in identifiers["Examples and purpose for collection"]
    assert "Providing contracted services" in identifiers["Examples and purpose for collection"]
    assert identifiers["Sale"] == "We do not sell this information."
    assert "Processors" in identifiers["Other disclosures"]
    assert "dormant for six years" in identifiers["Retention period"]
    health = parsed.tables["Health Data"]
    assert "diagnosis" in health["Examples and purpose for collection"]
    # Sensitive data goes to processors only for the sensitive purposes, never for analytics.
    assert "Google" not in health["Other disclosures"]
    assert "Google" in parsed.tables["Internet/Electronic Activity"]["Other disclosures"]


def test_cc1_html_has_every_section_of_the_notice() -> None:
    d = load_declaration(CC1)
    parsed = _parse(render(d, "html"))
    for heading in [
        "Who this notice covers",
        "Personal data we collect",
        "How we use personal data",
        "Who receives personal data",
        "How long we keep personal data",
        "Your rights and choices",
        "Cookies and similar technologies",
        "Children",
        "Security",
        "Data breaches",
        "De-identified data",
        "International visitors",
        "Third-party content",
        "Changes to this notice",
        "Contact us",
    ]:
        assert heading in parsed.headings, heading
    html = render(d, "html")
    assert "Privacy Rights Request" in html
    assert "children under 16" in html
    assert "within 45 days" in html
    assert "3115 N Wilke Road" in html
    assert "We do not sell personal data." in html


def test_html_escapes_declaration_text() -> None:
    text = CC1.read_text(encoding="utf-8").replace(
        "title: Contact Center 1 US Privacy Notice", "title: Notice <script>alert(1)</script>"
    )
    from honorbound.policy.loader import parse_declaration

    d, _ = parse_declaration(text)
    html = render(d, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_cc1_markdown_has_a_table_per_category() -> None:
    d = load_declaration(CC1)
    md = render(d, "md")
    for row in category_rows(d):
        assert f"| Category: {row.title} | |" in md
    for header in ROW_HEADERS:
        assert md.count(f"| {header} |") == 12
    assert "\n\n\n" not in md


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_every_example_renders(path: Path, fmt: str) -> None:
    d = load_declaration(path)
    text = render(d, fmt)  # type: ignore[arg-type]
    assert d.organization.name in text
    for cat in d.categories:
        assert (cat.label or "") in text
    for purpose in d.purposes:
        assert purpose.name in text


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format 'pdf' is not supported"):
        render(load_declaration(CC1), "pdf")  # type: ignore[arg-type]


def test_periods_read_as_words() -> None:
    assert humanize_period("P6Y") == "6 years"
    assert humanize_period("P1Y6M") == "1 year and 6 months"
    assert humanize_period("P1Y2M3D") == "1 year, 2 months and 3 days"
    assert humanize_period("P0D") == "no time"
