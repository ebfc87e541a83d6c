"""The staff console walked in Spanish in Chromium: an agent's desk during a call (a browser
that asks for Spanish), and a privacy officer's work on the request the agent logged (an
English browser that switches to Spanish with the console's language switch, and keeps it from
page to page). Every step a person does is done on the page, by its Spanish labels; each page
is checked by the independent oracle (tests/web/spanish_oracle.py), and the results against
the database rows (another path than the page)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import LiveServer, add_staff, adopt
from tests.web.spanish_oracle import english_left

pytestmark = pytest.mark.browser

SPANISH = {"locale": "es-MX", "extra_http_headers": {"Accept-Language": "es-MX,es;q=0.9"}}


def _spanish(page: Any) -> None:
    """The page says it is Spanish and the oracle finds no English product string on it."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    assert english_left(page.content(), console=True) == [], page.url


def _sign_in_in_spanish(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    _spanish(page)
    page.get_by_label("Nombre de usuario").fill(username)
    page.get_by_label("Contraseña").fill("not the password")
    page.get_by_role("button", name="Iniciar sesión").click()
    assert "Usuario o contraseña incorrectos." in page.get_by_role("alert").inner_text()
    _spanish(page)
    page.get_by_label("Nombre de usuario").fill(username)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/console")
    _spanish(page)


def _agent_logs_a_call(page: Any, base: str, email: str) -> str:
    page.get_by_role("link", name="Mesa del agente").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mesa del agente")
    _spanish(page)
    page.get_by_label("Correo electrónico o número de teléfono que da la persona que llama").fill(
        "12"
    )
    page.get_by_role("button", name="Buscar", exact=True).click()
    error = page.locator("#form-error").inner_text()
    assert "No pudimos leer «12» como correo electrónico" in error
    _spanish(page)
    page.get_by_label("Correo electrónico o número de teléfono que da la persona que llama").fill(
        email
    )
    page.get_by_role("button", name="Buscar", exact=True).click()
    assert "No hay nadie registrado" in page.locator("#caller-unknown").inner_text()
    _spanish(page)

    # An opt-out of texts said on the call: the choice missing first (kept, explained).
    page.get_by_label("Canal").select_option("sms")
    page.get_by_role("button", name="Registrar la elección").click()
    assert "se excluye o da su consentimiento" in page.locator("#choice-error").inner_text()
    assert page.get_by_label("Canal").input_value() == "sms"
    _spanish(page)
    page.get_by_label("se excluye").check()
    page.get_by_label("Referencia (identificador de la llamada").fill("CALL-4410")
    page.get_by_role("button", name="Registrar la elección").click()
    recorded = page.locator("#recorded").inner_text()
    assert "Registrado: exclusión de todo en mensaje de texto" in recorded
    assert "recibido por llamada telefónica" in recorded
    _spanish(page)

    # A request to delete made on the call: the state missing first.
    page.get_by_label("La persona que llama pide").select_option("delete")
    page.get_by_role("button", name="Anotar la solicitud").click()
    assert "Elija el estado donde vive" in page.locator("#request-error").inner_text()
    _spanish(page)
    page.get_by_label("Estado donde vive la persona que llama").select_option("CA")
    page.get_by_role("button", name="Anotar la solicitud").click()
    logged = page.locator("#logged").inner_text()
    assert "Lea la referencia a la persona que llama." in logged
    _spanish(page)
    return str(page.locator("#logged-reference").inner_text())


def test_an_agent_and_a_privacy_officer_work_a_call_in_spanish(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    base = live_server.url
    caller = person()
    agent = add_staff(runtime, tenant, "agent5", Role.AGENT)
    officer = add_staff(runtime, tenant, "officer5", Role.PRIVACY_OFFICER)

    desk = new_page(**SPANISH)
    _sign_in_in_spanish(desk, base, agent.username, agent.password)
    reference = _agent_logs_a_call(desk, base, caller.email)

    with runtime.db.session() as session:
        [event] = session.scalars(
            select(ConsentEvent).where(ConsentEvent.organization_id == tenant.id)
        ).all()
        row = session.scalar(select(RightsRequest).where(RightsRequest.reference == reference))
    assert (event.action, event.channel, event.source) == ("opt_out", "sms", "phone_call")
    assert ":CALL-4410:" in (event.external_ref or "")
    assert row is not None and row.type == "delete" and row.jurisdiction == "CA"
    assert row.manner == "phone" and row.verified_at is None

    # The officer's browser asks for English; the switch turns the console Spanish and the
    # choice sticks from page to page (a cookie), whatever the browser asks for.
    work = new_page(extra_http_headers={"Accept-Language": "en-US,en;q=0.9"})
    work.goto(f"{base}/login")
    work.get_by_label("Username").fill(officer.username)
    work.get_by_label("Password").fill(officer.password)
    work.get_by_role("button", name="Sign in").click()
    work.wait_for_url(f"{base}/console")
    assert work.locator("html").get_attribute("lang") == "en"
    work.get_by_role("link", name="Requests", exact=True).click()
    work.locator("#language-es").click()
    work.wait_for_url(f"{base}/console/requests")
    _spanish(work)
    expect(work.get_by_role("heading", level=1)).to_have_text("Solicitudes de derechos")

    work.get_by_label("Asignada a").select_option("nobody")
    work.get_by_role("button", name="Filtrar").click()
    _spanish(work)
    work.get_by_role("link", name=reference).click()
    expect(work.get_by_role("heading", level=1)).to_have_text(f"Solicitud {reference}")
    assert work.locator("#status").inner_text() in ("en verificación", "recibida")
    _spanish(work)
    work.get_by_label("Asignar a").select_option(label=f"{officer.username} (yo)")
    work.get_by_role("button", name="Asignar", exact=True).click()
    expect(work.locator("#assignee")).to_have_text(officer.username)
    _spanish(work)
    assert "asignada" in work.locator("#timeline").inner_text()

    # Verified by hand: the officer called the number on file back.
    work.get_by_label("Datos que cotejó con nuestros registros").fill("2")
    work.get_by_label("Cómo verificó su identidad").fill("Devolví la llamada al número registrado")
    work.get_by_role("button", name="Marcar como verificada").click()
    timeline = work.locator("#timeline").inner_text()
    assert "verificada a mano" in timeline and "2 datos" in timeline
    assert "Marcar como verificada" not in work.content()
    _spanish(work)

    # The mail the request sent, read in the outbox (logged), in Spanish pages.
    work.get_by_role("link", name="Bandeja de salida").click()
    _spanish(work)
    work.locator("table a").first.click()
    _spanish(work)
    work.get_by_role("button", name="Leer el mensaje").click()  # no reason: not sent
    assert work.locator("#message").count() == 0
    work.get_by_label("Por qué necesita leerlo").select_option("consumer_question")
    work.get_by_role("button", name="Leer el mensaje").click()
    expect(work.locator("#message")).to_be_visible()
    _spanish(work)

    work.get_by_role("link", name="Panel").click()
    _spanish(work)
    with runtime.db.session() as session:
        after = session.scalar(select(RightsRequest).where(RightsRequest.reference == reference))
    assert after is not None and after.verified_at is not None
    assert after.verification_points == 2 and after.assigned_user_id is not None
