"""The portal's notice page (/p/<slug>) and the rendered notice (the public API route) say the
same thing about each category in Spanish: the same retention sentences and the same sources.
One concept, one place: both come from policy/render.py; this test reads the two pages as a
browser gets them (HTML parsed here) and compares them, category by category."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import DECLARATION, adopt

CC1 = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"
ES = {"Accept-Language": "es"}


class _Cells(HTMLParser):
    """Text of table cells, per table row, with the `<li>`/`<br>` pieces kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, list[str]]] = []
        self._cell: str | None = None
        self._th = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.rows.append({})
        elif tag == "th" and self.rows:
            self._cell, self._th = "th", ""
        elif tag == "td" and self.rows:
            self._cell = values.get("data-label") or self._th
            self.rows[-1][self._cell] = [""]
        elif tag in ("li", "br") and self._cell and self._cell != "th":
            self.rows[-1][self._cell].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            if tag == "th" and self.rows:
                self.rows[-1].setdefault("th", []).append(self._th.strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell == "th":
            self._th += data
        elif self._cell:
            self.rows[-1][self._cell][-1] += data


def _pieces(cells: list[str]) -> set[str]:
    return {" ".join(c.split()) for c in cells if c.strip()}


@pytest.mark.parametrize("source", [CC1, DECLARATION], ids=["cc1-translated", "untranslated"])
def test_portal_and_rendered_notice_share_retention_and_sources(
    client: TestClient, runtime: Runtime, tenant: Tenant, source: Path
) -> None:
    adopt(runtime, tenant.id, source.read_text("utf-8"))
    portal = _Cells()
    portal.feed(client.get(f"/p/{tenant.slug}", headers=ES).text)
    rendered = _Cells()
    page = client.get(f"/v1/public/orgs/{tenant.slug}/notice", params={"lang": "es"})
    assert page.status_code == 200
    rendered.feed(page.text)
    # The portal: one row per category, retention in "Cuánto tiempo la conservamos".
    portal_rows = [r for r in portal.rows if "Cuánto tiempo la conservamos" in r]
    # The rendered notice: one table per category; its retention and source rows.
    retention = [
        _pieces(r["Plazo de conservación"]) for r in rendered.rows if "Plazo de conservación" in r
    ]
    sources = [" ".join(r["Origen"][0].split()) for r in rendered.rows if "Origen" in r]
    assert len(portal_rows) == len(retention) > 0
    # Both list the categories in the declaration's order (the rendered notice puts the
    # sensitive ones after the others; compare as sets of (retention, sources) pairs).
    portal_pairs = {
        (frozenset(_pieces(r["Cuánto tiempo la conservamos"])), " ".join(r["th"][0].split()))
        for r in portal_rows
    }
    for texts, source_sentence in zip(retention, sources, strict=True):
        assert source_sentence.startswith("Recopilada ")
        said = source_sentence.removeprefix("Recopilada ").split(".")[0]
        assert any(
            frozenset(texts) == held and said in heading for held, heading in portal_pairs
        ), (texts, said)
