"""The portal in Spanish, in a real Chromium: a browser that prefers Spanish walks a deletion
request end to end (the Spanish mail read from the loopback SMTP server, the reference and the
"my requests" status in Spanish), and the language switch works on every portal page.

The expected Spanish is written out here, not read from the catalog, so a lost or wrong
translation fails these tests."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from honorbound.audit import Actor
from honorbound.consent import links
from honorbound.consent.identity import identify
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import make_tenant
from tests.support.people import person
from tests.web.conftest import SCREENSHOTS, MailedServer, adopt, link_token, mail_text
from tests.web.spanish_oracle import english_left

pytestmark = pytest.mark.browser
SPANISH_DAY = re.compile(
    r"\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
    r"noviembre|diciembre) de \d{4}"
)


def _known_subject(server: MailedServer, org_id: int, someone: Any) -> None:
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    with server.runtime.db.session() as session:
        upsert_subject(
            session,
            server.runtime.vault_keys,
            org_id,
            [
                IdentityInput(IdentityKind.EMAIL, someone.email),
                IdentityInput(IdentityKind.PHONE, someone.phone),
            ],
            Actor("test", "system"),
            rules,
            birth_date=dt.date.fromisoformat(someone.birth_date),
        )


def _spanish_page(new_page: Any) -> Any:
    return new_page(
        locale="es-MX", extra_http_headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    )


def test_a_spanish_speaker_makes_a_deletion_request_end_to_end(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    adopt(server.runtime, tenant.id)
    someone = person()
    _known_subject(server, tenant.id, someone)
    page = _spanish_page(new_page)

    page.goto(f"{base}/p/{tenant.slug}")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() != ""
    assert "Qué recopilamos" in page.locator("#collect").inner_text()
    # the notice's enumerated words (policy/data/wording.yaml) in Spanish too
    assert "Recopilada directamente de usted" in page.locator("table.datamap").inner_text()
    rights = page.locator("#rights + section").inner_text()
    assert "eliminar sus datos personales" in rights
    assert "Donde usted vive: Estados Unidos." in rights
    assert "Cómo: por correo electrónico, mediante nuestro formulario web." in rights
    page.get_by_role("link", name="Hacer una solicitud de privacidad").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Hacer una solicitud de privacidad"
    page.get_by_label("Quiero").select_option("delete")
    page.get_by_label("Estado donde vive", exact=True).select_option("CA")
    page.get_by_label("Correo electrónico").fill(someone.email)
    page.get_by_role("button", name="Enviar solicitud").click()
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Confirme su solicitud de eliminación"
    )
    page.get_by_role("button", name="Sí, enviar mi solicitud de eliminación").click()
    assert (
        "tramitamos todas las solicitudes de la misma manera"
        in page.locator("#accepted").inner_text()
    )
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"R-[A-Z0-9]{12}", reference)

    [ack] = server.smtp.wait_for(1)
    assert str(ack["Subject"]).endswith(f"recibimos su solicitud de privacidad {reference}")
    body = mail_text(ack)
    assert (
        f"Recibimos su solicitud para eliminar su información personal (referencia {reference})."
        in body
    )
    assert "Cómo funciona la verificación" in body
    assert "Cuándo esperar una respuesta: a más tardar el " in body
    assert SPANISH_DAY.search(body), body
    assert "We received" not in body

    page.goto(f"{base}/p/{tenant.slug}/requests/verify?token={link_token(ack, 'verify')}")
    assert page.get_by_role("heading", level=1).inner_text() == "Confirme su solicitud"
    assert reference == page.locator("#reference").inner_text()
    page.get_by_label("Número de teléfono que tenemos de usted").fill(someone.phone)
    page.get_by_label("Fecha de nacimiento (AAAA-MM-DD)").fill(someone.birth_date)
    if page.get_by_label("Su nombre completo").count():
        page.get_by_label("Su nombre completo").fill(f"{someone.first_name} {someone.last_name}")
        page.get_by_label("Firmo esta declaración").check()
    page.get_by_role("button", name="Confirmar mi solicitud").click()
    assert "su solicitud está confirmada" in page.locator("#verified").inner_text()

    page.goto(base + page.locator("#status-link").get_attribute("href"))
    assert page.get_by_role("heading", level=1).inner_text() == "Mis solicitudes"
    assert page.locator("#status-reference").inner_text() == reference
    assert page.locator("#status-value").inner_text() == "Completada"
    assert "Eliminamos su información personal." in page.locator("#timeline").inner_text()
    assert SPANISH_DAY.search(page.locator("#status").inner_text())

    done = server.smtp.wait_for(2)[1]
    assert str(done["Subject"]).endswith(f"su información fue eliminada ({reference})")
    assert "Eliminamos la información personal que teníamos sobre usted" in mail_text(done)


def _pages(server: MailedServer, new_page: Any) -> tuple[str, list[str]]:
    """Every page of the portal a person can open with a GET, in English."""
    base = server.url
    tenant = make_tenant(server.runtime, "acme")
    bare = make_tenant(server.runtime, "bare")  # no notice adopted
    adopt(server.runtime, tenant.id)
    someone = person()
    _known_subject(server, tenant.id, someone)
    page = new_page()
    page.goto(f"{base}/p/{tenant.slug}/requests/new")
    page.get_by_label("I want to").select_option("access_categories")
    page.get_by_label("State where you live", exact=True).select_option("CA")
    page.get_by_label("Email address").fill(someone.email)
    page.get_by_role("button", name="Send request").click()
    [ack] = server.smtp.wait_for(1)
    verify = f"/p/{tenant.slug}/requests/verify?token={link_token(ack, 'verify')}"
    page.goto(base + verify)
    page.get_by_label("Phone number we have for you").fill(someone.phone)
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill(someone.birth_date)
    page.get_by_role("button", name="Confirm my request").click()
    status = page.locator("#status-link").get_attribute("href")
    preference = links.issue(
        server.runtime.keys,
        tenant.id,
        identify(server.runtime.keys, tenant.id, someone.email),
        "preferences",
    )
    return base, [
        f"/p/{tenant.slug}",
        f"/p/{tenant.slug}/versions/1",
        f"/p/{tenant.slug}/choices",
        f"/p/{tenant.slug}/requests/new",
        f"/p/{tenant.slug}/requests/status",
        f"/p/{tenant.slug}/requests/code",
        verify,  # now used: the link-problem page
        status,
        f"/p/{tenant.slug}/preferences/{preference}",
        f"/p/{bare.slug}",
        f"/p/{tenant.slug}/no-such-page",
    ]


# The page heading in each language: the oracle, written out here.
HEADINGS = {
    "Privacy notice": "Aviso de privacidad",
    "Your privacy choices": "Sus opciones de privacidad",
    "Make a privacy request": "Hacer una solicitud de privacidad",
    "My requests": "Mis solicitudes",
    "Confirm with a code": "Confirmar con un código",
    "This link cannot be used": "Este enlace no se puede usar",
    "Your contact preferences": "Sus preferencias de contacto",
    "Page not found": "Página no encontrada",
}


def test_the_language_switch_is_on_every_portal_page_and_comes_back_to_it(
    new_page: Any, mailed_server: MailedServer
) -> None:
    base, paths = _pages(mailed_server, new_page)
    page = new_page()  # an English browser: its own cookie jar
    for path in paths:
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == "en", path
        english = page.get_by_role("heading", level=1).inner_text()
        page.locator("#language-es").click()
        # Back on the same page, now in Spanish, the switch offering English again.
        assert page.url.split("?")[0] == (base + path).split("?")[0], path
        assert page.locator("html").get_attribute("lang") == "es", path
        assert "Portal de privacidad" in page.locator("footer").inner_text(), path
        spanish = page.get_by_role("heading", level=1).inner_text()
        # The test declaration has no title of its own: the product's "Privacy notice" is used.
        assert spanish == HEADINGS[english], (path, spanish)
        if page.locator("#collect").count():
            assert page.locator("#collect").inner_text() == "Qué recopilamos", path
        if "/preferences/" in path:
            assert page.get_by_label("Ofertas y novedades por correo electrónico").count() == 1
        page.locator("#language-en").click()
        assert page.locator("html").get_attribute("lang") == "en", path
        assert page.get_by_role("heading", level=1).inner_text() == english, path


CC1 = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"


def _no_english(page: Any, where: str) -> None:
    """The independent oracle on the page as the browser has it (tests/web/spanish_oracle)."""
    assert page.locator("html").get_attribute("lang") == "es", where
    assert english_left(page.content()) == [], where


def _shots(page: Any, name: str) -> None:
    """Full-page screenshots at 1280 and 390 px wide (test-output/screenshots/spanish-*)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"spanish-{name}-{width}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, (name, width, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_demo_notice_walked_in_spanish_chosen_by_the_browser_and_by_the_switch(
    new_page: Any, mailed_server: MailedServer
) -> None:
    """The demo's declaration (translated): a Spanish browser reads the notice in Spanish; an
    English browser switches to Spanish, asks which categories are held, confirms from the
    Spanish mail and sees the status, every page passing the oracle."""
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "cc1")
    adopt(server.runtime, tenant.id, CC1.read_text())
    someone = person()
    _known_subject(server, tenant.id, someone)

    by_header = _spanish_page(new_page)
    by_header.goto(f"{base}/p/{tenant.slug}")
    _no_english(by_header, "notice (Accept-Language)")
    assert by_header.get_by_role("heading", level=1).inner_text() == (
        "Aviso de privacidad de Contact Center 1 para los Estados Unidos"
    )
    table = by_header.locator("table.datamap").inner_text()
    assert "Identificadores" in table and "Encargados del tratamiento" in table
    assert "hasta que el usuario elimina su cuenta" in table
    assert "Vigente desde el 23 de julio de 2024" in by_header.locator(".meta").inner_text()
    assert "Términos del servicio" in by_header.locator("main").inner_text()
    _shots(by_header, "notice")

    page = new_page(extra_http_headers={"Accept-Language": "en-US,en;q=0.9"})
    page.goto(f"{base}/p/{tenant.slug}")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Effective July 23, 2024" in page.locator(".meta").inner_text()
    page.locator("#language-es").click()
    _no_english(page, "notice (switch)")
    page.get_by_role("link", name="Hacer una solicitud de privacidad").click()
    _no_english(page, "request form")
    page.get_by_label("Quiero").select_option("access_categories")
    page.get_by_label("Estado donde vive", exact=True).select_option("CA")
    page.get_by_label("Correo electrónico").fill(someone.email)
    _shots(page, "request-form")
    page.get_by_role("button", name="Enviar solicitud").click()
    _no_english(page, "accepted")
    reference = page.locator("#reference").inner_text()
    _shots(page, "accepted")

    [ack] = server.smtp.wait_for(1)
    assert "Recibimos su solicitud" in mail_text(ack) and "We received" not in mail_text(ack)
    page.goto(f"{base}/p/{tenant.slug}/requests/verify?token={link_token(ack, 'verify')}")
    _no_english(page, "verify")
    page.get_by_label("Número de teléfono que tenemos de usted").fill(someone.phone)
    page.get_by_label("Fecha de nacimiento (AAAA-MM-DD)").fill(someone.birth_date)
    _shots(page, "verify")
    page.get_by_role("button", name="Confirmar mi solicitud").click()
    _no_english(page, "verified")
    assert "su solicitud está confirmada" in page.locator("#verified").inner_text()

    page.goto(base + page.locator("#status-link").get_attribute("href"))
    _no_english(page, "status")
    assert page.locator("#status-reference").inner_text() == reference
    assert page.locator("#status-value").inner_text() == "Completada"
    assert SPANISH_DAY.search(page.locator("#status").inner_text())
    _shots(page, "status")
