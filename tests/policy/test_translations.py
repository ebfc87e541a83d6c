"""The declaration's `translations:` block: checked at adoption (unknown language, unknown id,
a translation of a text the declaration lacks, a wrong number of examples are errors; every
text left out is a warning naming its path), and shown on the portal's Spanish notice, with
what was not translated marked `lang="en"` and the English page unchanged.

Expected wording is written out here, not read from the catalog or from the module."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from honorbound.policy.check import check_text, errors
from honorbound.policy.render import describe_rule
from honorbound.policy.schema import RetentionRule
from tests.web.conftest import adopt

BASE = (Path(__file__).parents[1] / "web" / "declaration.yaml").read_text()
CC1 = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"

PARTIAL = """
translations:
  es:
    introduction: Este aviso explica cómo tratamos la información personal.
    purposes:
      customer_service: {name: Responder a sus preguntas}
    categories:
      user.contact.email: {label: Dirección de correo electrónico}
"""


def _messages(text: str) -> list[str]:
    return [f"{p.severity}:{p.line}:{p.message}" for p in check_text(text, "d.yaml")]


def test_a_partial_block_adopts_with_one_warning_per_missing_text() -> None:
    found = [m for m in _messages(BASE + PARTIAL) if "translations." in m]
    assert all(m.startswith("warning:") for m in found), found
    missing = sorted(re.search(r"(translations\.\S+) is missing", m).group(1) for m in found)  # type: ignore[union-attr]
    assert missing == [
        "translations.es.categories.user.biometric.health.label",
        "translations.es.categories.user.contact.phone_number.label",
        "translations.es.organization.legal_name",
        "translations.es.organization.name",
        "translations.es.purposes.marketing.name",
        "translations.es.recipients.crm.name",
        "translations.es.subjects.customer.name",
    ]
    # each warning points at the English text it is about
    line = next(m for m in found if ".purposes.marketing.name" in m).split(":")[1]
    assert BASE.splitlines()[int(line) - 1].strip() == "name: Telling you about offers"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "translations:\n  fr:\n    title: Avis\n",
            "translations: 'fr' is not a language the portal speaks; use one of es",
        ),
        (
            "translations:\n  en:\n    title: Notice\n",
            "translations: 'en' is the language the declaration is written in",
        ),
        (
            "translations:\n  es:\n    purposes:\n      custmer_service: {name: Atención}\n",
            "translations.es.purposes.custmer_service.name: the declaration has no purpose "
            "'custmer_service'; did you mean 'customer_service'?",
        ),
        (
            "translations:\n  es:\n    purposes:\n      marketing: {description: Ofertas}\n",
            "translations.es.purposes.marketing.description: the declaration has no text here",
        ),
        (
            "translations:\n  es:\n    sections:\n      Terms: {title: Términos}\n",
            "translations.es.sections.Terms.title: the declaration has no section 'Terms'",
        ),
        (
            "translations:\n  es:\n    cookies: {statement: Cookies}\n",
            "translations.es.cookies.statement: the declaration has no text here",
        ),
        (
            "translations:\n  es:\n    purposes:\n      marketing: {nmae: Ofertas}\n",
            "nmae",
        ),
    ],
)
def test_a_wrong_block_is_refused_naming_the_path(block: str, expected: str) -> None:
    found = [m for m in _messages(BASE + block) if m.startswith("error:")]
    assert any(expected in m for m in found), found


def test_a_declared_title_left_untranslated_stays_out_of_markup_in_the_title(
    client, runtime, tenant
) -> None:  # type: ignore[no-untyped-def]
    adopt(runtime, tenant.id, "title: Acme notice\n" + BASE + PARTIAL)
    es = client.get(f"/p/{tenant.slug}", headers={"Accept-Language": "es"}).text
    assert re.search(r"<title>Acme notice [^<]*</title>", es)
    assert '<h1><span lang="en">Acme notice</span></h1>' in es


def test_examples_must_match_one_for_one() -> None:
    text = BASE.replace(
        "    label: Email address", "    label: Email address\n    examples: [work, home]"
    )
    block = (
        "translations:\n  es:\n    categories:\n      user.contact.email: {examples: [trabajo]}\n"
    )
    assert any("give 2 example(s)" in m for m in _messages(text + block) if m.startswith("error:"))


def test_the_demo_declaration_is_wholly_translated() -> None:
    problems = check_text(CC1.read_text(), str(CC1))
    assert not errors(problems)
    assert [str(p) for p in problems if "translations." in p.message] == []


def test_retention_sentences_in_both_languages() -> None:
    rule = RetentionRule.model_validate(
        {
            "id": "r",
            "categories": "all",
            "triggers": [
                {"trigger": "after_last_activity", "period": "P6Y"},
                {"trigger": "after_account_closure", "period": "P1Y6M"},
            ],
        }
    )
    assert describe_rule(rule) == (
        "6 years after your last activity with us, or 1 year and 6 months after you close "
        "your account, whichever comes first"
    )
    assert describe_rule(rule, "es") == (
        "6 años después de su última actividad con nosotros o 1 año y 6 meses después de que "
        "cierre su cuenta, lo que ocurra primero"
    )


class _Marked(HTMLParser):
    """Text by the language the nearest `lang` attribute gives it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.by_lang: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "meta", "link", "input", "img"):
            return
        lang = dict(attrs).get("lang") or (self.stack[-1][1] if self.stack else "?")
        self.stack.append((tag, lang or "?"))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack:
            self.by_lang.setdefault(self.stack[-1][1], []).append(data.strip())


def _texts(html: str) -> dict[str, list[str]]:
    parser = _Marked()
    parser.feed(html)
    return parser.by_lang


def test_the_spanish_notice_marks_what_was_not_translated(client, runtime, tenant) -> None:  # type: ignore[no-untyped-def]
    adopt(runtime, tenant.id, BASE + PARTIAL)
    es = client.get(f"/p/{tenant.slug}", headers={"Accept-Language": "es"})
    texts = _texts(es.text)
    assert "Este aviso explica cómo tratamos la información personal." in texts["es"]
    assert "Responder a sus preguntas" in texts["es"]
    assert "Dirección de correo electrónico" in texts["es"]
    # not translated: shown as written, inside an element marked English
    for english in ("Telling you about offers", "Phone number", "Our CRM provider"):
        assert english in texts["en"], english
        assert english not in texts["es"], english
    assert "3 años después de su última actividad con nosotros" in texts["es"]
    assert "Vigente desde el 1 de enero de 2026; versión 1." in " ".join(texts["es"])
    # the product's default title is the product's words, in Spanish
    assert re.search(r"<title>Aviso de privacidad &mdash;|<title>Aviso de privacidad —", es.text)

    en = client.get(f"/p/{tenant.slug}", headers={"Accept-Language": "en"})
    assert 'lang="en"><span' not in en.text and "<span lang=" not in en.text
    assert "Effective January 1, 2026; version 1." in en.text
    assert "3 years after your last activity with us" in en.text
    assert "Este aviso" not in en.text
