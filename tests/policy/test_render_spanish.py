"""The stand-alone notice in Spanish: `policy render --lang es` and the API's notice routes.

The oracles do not reuse the renderer: the English left over is looked for with the msgids
Babel extracts from the notice's templates and render.py (tests/web/spanish_oracle.py); the
Markdown is parsed with markdown-it; the organization's own texts are read from the YAML file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.policy.loader import load_declaration, parse_declaration
from honorbound.policy.render import render
from tests.conftest import EXAMPLE_POLICIES, Tenant
from tests.web.spanish_oracle import english_left, notice_msgids, spanish_text

EXAMPLES = sorted(EXAMPLE_POLICIES.glob("*.yaml"))
CC1 = EXAMPLE_POLICIES / "contact-center-1-2024.yaml"
LIVEOPS = EXAMPLE_POLICIES / "liveops-2018.yaml"
# The table's row headers and the section headings, in Spanish, written here.
ROW_HEADERS_ES = [
    "Ejemplos y fines de la recopilación",
    "Origen",
    "Elaboración de perfiles",
    "Publicidad dirigida",
    "Venta",
    "Otras divulgaciones",
    "Plazo de conservación",
]
HEADINGS_ES = [
    "A quién se aplica este aviso",
    "Datos personales que recopilamos",
    "Cómo usamos los datos personales",
    "Quién recibe datos personales",
    "Cuánto tiempo conservamos los datos personales",
    "Sus derechos y opciones",
    "Menores de edad",
    "Cambios a este aviso",
    "Contáctenos",
]
MONTHS_ES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def _strings(node: Any) -> set[str]:
    """Every string value of a YAML document (the organization's texts, ids and codes)."""
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*map(_strings, node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*map(_strings, node)) if node else set()
    return set()


def _without_own_texts(text: str, path: Path) -> str:
    """The Markdown with every text of the declaration file removed (longest first), so what
    is left is the product's words (Markdown cannot mark a language)."""
    own = sorted(
        (s for s in _strings(yaml.safe_load(path.read_text("utf-8"))) if len(s) > 2),
        key=len,
        reverse=True,
    )
    for s in own:
        text = text.replace(s, " ")
    return text


def _tables(md: str) -> list[dict[str, str]]:
    """Each Markdown table as {first cell: second cell}, parsed by markdown-it."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    tables: list[dict[str, str]] = []
    row: list[str] = []
    for tok in tokens:
        if tok.type == "table_open":
            tables.append({})
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and tables and tok.map is not None and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close" and len(row) == 2:
            tables[-1][row[0]] = row[1]
    return tables


def _headings(md: str, level: str = "h2") -> list[str]:
    tokens = MarkdownIt("commonmark").parse(md)
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == level
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_seed_notice_in_spanish_html_leaves_no_english(path: Path) -> None:
    d = load_declaration(path)
    html = render(d, "html", lang="es")
    assert '<html lang="es">' in html
    assert english_left(html, msgids=notice_msgids()) == []
    text = spanish_text(html)
    for heading in ("Datos personales que recopilamos", "Sus derechos y opciones"):
        assert heading in text
    # The date in Spanish words, from the file's effective date.
    assert f"{d.effective_date.day} de {MONTHS_ES[d.effective_date.month - 1]} de" in text
    # Every category table has its rows, headed in Spanish.
    assert html.count('<table class="category"') == len(d.categories)
    for header in ROW_HEADERS_ES:
        assert html.count(f'<th scope="row">{header}</th>') == len(d.categories), header


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_seed_notice_in_spanish_markdown_parses_and_leaves_no_english(path: Path) -> None:
    d = load_declaration(path)
    md = render(d, "md", lang="es")
    tables = _tables(md)
    assert len(tables) == len(d.categories)
    for table in tables:
        assert [h for h in ROW_HEADERS_ES if h in table] == ROW_HEADERS_ES, table.keys()
        assert all(table[h].strip() for h in ROW_HEADERS_ES)
    headings = _headings(md)
    assert [h for h in HEADINGS_ES if h in headings] == HEADINGS_ES
    left = english_left("", msgids=notice_msgids(), text=_without_own_texts(md, path))
    assert left == []
    assert "\n\n\n" not in md


def test_untranslated_organization_texts_are_marked_english() -> None:
    """Liveops has no `translations:` block: its purpose names show as written, each inside an
    element marked lang="en"; none is in the page's Spanish text."""
    d = load_declaration(LIVEOPS)
    html = render(d, "html", lang="es")
    spanish = spanish_text(html)
    for purpose in d.purposes:
        assert f'<span lang="en">{purpose.name}</span>' in html.replace("&#39;", "'")
        assert purpose.name not in spanish, purpose.name
    assert d.organization.name not in spanish


def test_translated_organization_texts_are_used_unmarked() -> None:
    """CC1's `translations: es:` block: its Spanish names are the page's own text."""
    raw = yaml.safe_load(CC1.read_text("utf-8"))
    names = {k: v["name"] for k, v in raw["translations"]["es"]["purposes"].items() if "name" in v}
    assert names
    html = render(load_declaration(CC1), "html", lang="es")
    spanish = spanish_text(html)
    for name in names.values():
        assert name in spanish
    assert raw["translations"]["es"]["title"] in spanish
    # CC1 translates every text it has: nothing on its Spanish notice is marked English.
    assert 'lang="en"' not in html


def test_declaration_text_is_escaped_in_the_spanish_html() -> None:
    """A name with markup, untranslated (so marked) and filled into the table's sentences."""
    text = LIVEOPS.read_text("utf-8").replace(
        "name: Service providers", "name: Service <script>alert(1)</script> providers", 1
    )
    d, _ = parse_declaration(text)
    assert any("<script>" in r.name for r in d.recipients)
    html = render(d, "html", lang="es")
    assert "<script>" not in html
    assert '<span lang="en">Service &lt;script&gt;alert(1)&lt;/script&gt; providers</span>' in html


def test_counts_take_the_plural_form() -> None:
    text = CC1.read_text("utf-8")
    one_day = re.sub(r"response_days: \d+", "response_days: 1", text)
    one_day = re.sub(r"\n\s+extension_days: \d+", "", one_day)
    d, _ = parse_declaration(one_day)
    md = render(d, "md", lang="es")
    assert "Respondemos en un plazo de 1 día." in md
    assert "Respondemos en un plazo de 1 día." in render(d, "md", lang="es")
    assert "We respond within 1 day." in render(d, "md")
    many = parse_declaration(re.sub(r"\n\s+extension_days: \d+", "", text))[0]
    assert re.search(r"Respondemos en un plazo de \d+ días\.", render(many, "md", lang="es"))


def test_the_english_notice_is_unchanged_by_the_language_option() -> None:
    d = load_declaration(CC1)
    assert render(d, "html") == render(d, "html", lang="en")
    assert "Personal data we collect" in render(d, "md", lang="en")


def test_an_unknown_language_is_refused_naming_the_offered_ones() -> None:
    from honorbound.i18n import UnsupportedLanguage

    with pytest.raises(UnsupportedLanguage, match=r"'fr' is not a language .*use one of en, es"):
        render(load_declaration(CC1), "html", lang="fr")


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_cli_renders_spanish_markdown_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "aviso.md"
    result = runner.invoke(
        cli, ["policy", "render", str(LIVEOPS), "--lang", "es", "-f", "md", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    md = out.read_text("utf-8")
    assert "## Sus derechos y opciones" in md
    assert english_left("", msgids=notice_msgids(), text=_without_own_texts(md, LIVEOPS)) == []


@pytest.mark.parametrize("bad", ["fr", "es-MX", "", "x" * 5000, "e\x00s", "[bold]es"])
def test_cli_refuses_an_unknown_language_with_exit_2(
    runner: CliRunner, tmp_path: Path, bad: str
) -> None:
    out = tmp_path / "aviso.html"
    result = runner.invoke(cli, ["policy", "render", str(CC1), "--lang", bad, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "use one of en, es" in result.output
    assert len(result.output) < 400  # a long value is cut, not echoed whole
    assert not out.exists()  # nothing written


# -- the API -----------------------------------------------------------------------------------


def _adopt(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/policy/versions",
        content=CC1.read_bytes(),
        headers={**tenant.headers(), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text


def test_api_notice_in_spanish_by_query_and_by_accept_language(
    client: TestClient, tenant: Tenant
) -> None:
    _adopt(client, tenant)
    url = f"/v1/public/orgs/{tenant.slug}/notice"
    by_query = client.get(url, params={"lang": "es"})
    assert by_query.status_code == 200
    assert by_query.headers["content-language"] == "es"
    assert "accept-language" in by_query.headers["vary"].lower()
    assert '<html lang="es">' in by_query.text
    assert english_left(by_query.text, msgids=notice_msgids()) == []
    by_header = client.get(url, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert by_header.headers["content-language"] == "es" and by_header.text == by_query.text
    english = client.get(url, headers={"Accept-Language": "fr-FR, de;q=0.8"})
    assert (
        english.headers["content-language"] == "en" and "Personal data we collect" in english.text
    )
    assert english.headers["etag"] != by_query.headers["etag"]
    # ?lang= wins over the header.
    assert (
        client.get(url, params={"lang": "en"}, headers={"Accept-Language": "es"}).headers[
            "content-language"
        ]
        == "en"
    )
    md = client.get(url, params={"lang": "es", "format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.headers["content-language"] == "es" and "| Venta |" in md.text
    old = client.get(f"{url}/versions/1", headers={"Accept-Language": "es"})
    assert old.status_code == 200 and old.headers["content-language"] == "es"
    assert "23 de julio de 2024" in old.text


def test_api_notice_json_keeps_its_codes_whatever_the_language(
    client: TestClient, tenant: Tenant
) -> None:
    _adopt(client, tenant)
    url = f"/v1/public/orgs/{tenant.slug}/notice.json"
    plain = client.get(url).json()
    spanish = client.get(url, headers={"Accept-Language": "es"}).json()
    assert plain == spanish
    assert {c["key"] for c in plain["declaration"]["categories"]} >= {"user.health_and_medical"}


@pytest.mark.parametrize("bad", ["fr", "es-MX", "", "x" * 3000, "<b>es</b>"])
def test_api_refuses_an_unknown_language_naming_the_offered_ones(
    client: TestClient, tenant: Tenant, bad: str
) -> None:
    _adopt(client, tenant)
    for path in ("notice", "notice/versions/1"):
        response = client.get(f"/v1/public/orgs/{tenant.slug}/{path}", params={"lang": bad})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert "use one of en, es" in problem["detail"]
        assert problem["errors"][0]["field"] == "query.lang"
        assert len(response.text) < 1000
