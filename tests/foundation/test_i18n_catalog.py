"""The Spanish catalog covers every string the consumer meets: each msgid Babel extracts from
the portal's templates and the consumer-facing code (babel.cfg) has a Spanish msgstr with the
same placeholders, and the catalog the runtime compiles answers in Spanish."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from honorbound import i18n
from honorbound.i18n.extract import extract

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


@pytest.fixture(scope="module")
def template() -> Catalog:
    return extract(ROOT)


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    # The file on disk, read here by Babel, not through honorbound.i18n.
    with (ROOT / "src/honorbound/i18n/locales/es/LC_MESSAGES/messages.po").open("rb") as handle:
        return read_po(handle, locale="es")


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def test_extraction_finds_the_portal_the_mail_and_the_notice(template: Catalog) -> None:
    """The oracle for "every marked string" is the extractor; make sure it reaches each part
    (a babel.cfg or keyword mistake would otherwise make an empty list pass)."""
    sources = {loc[0] for message in template for loc in message.locations}
    for expected in (
        "src/honorbound/web/templates/portal/layout.html",
        "src/honorbound/web/templates/portal/request_new.html",
        "src/honorbound/web/templates/portal/request_status.html",
        "src/honorbound/web/templates/portal/notice.html",
        "src/honorbound/web/templates/portal/choices.html",
        "src/honorbound/rights/messages.py",
        "src/honorbound/web/portal/requests.py",
    ):
        assert expected in {s.replace("\\", "/") for s in sources}, expected
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    # one of each kind of mark: a {% trans %} block, i18n.gettext(lang, ...), N_ and _()
    assert "Privacy portal of %(name)s, served by Honorbound." in ids
    assert "Tick at least one of the choices below." in ids
    assert "delete your personal information" in ids
    assert "{org}: we received your privacy request {reference}" in ids
    assert "delete your personal data" in ids  # policy/data/wording.yaml, shown on the notice


def test_every_marked_string_has_a_spanish_translation(template: Catalog, spanish: Catalog) -> None:
    missing = []
    for message in template:
        if not message.id:
            continue
        found = spanish.get(message.id)
        forms = _forms(found.string) if found is not None else []
        if found is None or not forms or not all(f.strip() for f in forms) or found.fuzzy:
            missing.append(message.id)
    assert not missing, f"{len(missing)} string(s) without Spanish: {missing[:5]}"


def test_translations_keep_the_placeholders(spanish: Catalog) -> None:
    wrong = []
    for message in spanish:
        if not message.id:
            continue
        ids = _forms(message.id)
        for form in _forms(message.string):
            if sorted(PLACEHOLDER.findall(form)) != sorted(PLACEHOLDER.findall(ids[-1])):
                wrong.append(message.id)
    assert not wrong, wrong[:5]


def test_the_runtime_answers_in_spanish() -> None:
    assert i18n.gettext("es", "Make a privacy request") == "Hacer una solicitud de privacidad"
    assert i18n.gettext("en", "Make a privacy request") == "Make a privacy request"
    assert i18n.ngettext(
        "es", "Saved: %(count)s change recorded.", "Saved: %(count)s changes recorded.", 2
    ) == ("Guardado: se registraron %(count)s cambios.")


def test_spanish_numbers_and_dates_follow_us_spanish() -> None:
    """US Spanish writes 1,024 (Spain would write 1.024, which reads as a decimal here)."""
    assert i18n.format_number(1024, "es") == "1,024"
    assert i18n.format_number(1024, "en") == "1,024"
    assert i18n.format_day(dt.date(2026, 12, 3), "es") == "3 de diciembre de 2026"
    assert i18n.format_day(dt.date(2026, 12, 3), "en") == "December 3, 2026"
