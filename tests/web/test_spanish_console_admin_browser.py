"""A BPO administrator's round of the console in Spanish, in Chromium: the clients list, onboarding
a client, inviting its first user and issuing its key, the staff accounts, the reports and a
breach incident. Each step is done on the page by its Spanish labels; each page is checked by
the independent oracle (tests/web/spanish_oracle.py), and what the pages did or showed against
the database rows (another path than the page). Each page is photographed at 1280 and 390 px
(test-output/screenshots/review/es-admin-*.png) for a person to look at."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from honorbound.accounts.models import ApiKey, Membership, Organization, User
from honorbound.accounts.roles import Role
from honorbound.breach.models import Incident
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example
from tests.web.conftest import SCREENSHOTS, LiveServer, add_staff
from tests.web.spanish_oracle import english_left

pytestmark = pytest.mark.browser

SPANISH = {"locale": "es-MX", "extra_http_headers": {"Accept-Language": "es-MX,es;q=0.9"}}


def _spanish(page: Any, shot: str) -> None:
    """The page says it is Spanish, the oracle finds no English product string on it, and it is
    photographed at both widths (nothing may scroll sideways at 390 px)."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    assert english_left(page.content(), console=True) == [], page.url
    folder = SCREENSHOTS / "review"
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"es-admin-{shot}-{width}.png"), full_page=True)
        scroll = int(page.evaluate("() => document.documentElement.scrollWidth"))
        assert scroll <= width + 1, (shot, width, scroll)
    page.set_viewport_size({"width": 1280, "height": 900})


def _incident(page: Any, base: str, tenant: Tenant) -> int:
    """An incident with one affected Oregon resident selected, through the API."""
    headers = tenant.headers(Role.PRIVACY_OFFICER)
    made = page.request.post(
        f"{base}/v1/breach/incidents",
        headers=headers,
        data={"title": "Lost laptop", "discovered_at": "2026-11-02T15:00:00Z",
              "owner": "Privacy Office"},
    )  # fmt: skip
    assert made.status == 201, made.text()
    incident = int(made.json()["id"])
    chosen = page.request.post(
        f"{base}/v1/breach/incidents/{incident}/selection",
        headers=headers,
        data={"systems": ["web_form"]},
    )
    assert chosen.ok, chosen.text()
    return incident


def test_a_bpo_administrator_works_the_console_in_spanish(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt_example(runtime, tenant.id)
    resident(runtime, tenant.id, "OR")
    base = live_server.url
    admin = add_staff(runtime, tenant, "admin-es", Role.ADMIN)
    page = new_page(**SPANISH)
    incident = _incident(page, base, tenant)
    made = page.request.post(
        f"{base}/v1/requests",
        headers=tenant.headers(),
        data={"type": "delete", "jurisdiction": "CA", "email": "p1@example.test",
              "manner": "phone"},
    )  # fmt: skip
    assert made.status == 201, made.text()

    page.goto(f"{base}/login")
    page.get_by_label("Nombre de usuario").fill(admin.username)
    page.get_by_label("Contraseña").fill(admin.password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/console")

    # The clients list: a refused onboarding first (the domain's reason, in Spanish).
    page.get_by_role("link", name="Clientes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clientes")
    _spanish(page, "clients")
    page.get_by_label("Identificador (slug").fill("A")
    page.get_by_label("Nombre del cliente").fill("Acme Seguros")
    page.get_by_label("Contacto de privacidad del responsable").fill("privacy@acme.example")
    page.get_by_role("button", name="Incorporar el cliente").click()
    assert "El identificador debe tener de 2 a 63" in page.locator("#clients-error").inner_text()
    assert page.get_by_label("Nombre del cliente").input_value() == "Acme Seguros"  # kept
    _spanish(page, "clients-refused")
    page.get_by_label("Identificador (slug").fill("acme-seguros")
    page.get_by_role("button", name="Incorporar el cliente").click()
    expect(page.locator("#onboarded")).to_contain_text("Cliente incorporado")
    expect(page.locator("#client-state")).to_have_text("activo")
    _spanish(page, "client")

    # Its first user, invited in Spanish (the page's language, preselected), and its key.
    page.get_by_label("Correo electrónico de trabajo").fill("ines@acme.example")
    page.locator("#invite-role").select_option(label="Agente")  # the key's role is "Rol" too
    assert page.get_by_label("Idioma del correo de invitación").input_value() == "es"
    page.get_by_role("button", name="Enviar la invitación").click()
    expect(page.locator("#invite-sent")).to_contain_text("Invitación enviada a")
    member = page.locator('#client-members tr[data-user="ines@acme.example"]')
    expect(member).to_contain_text("Agente")
    expect(member).to_contain_text("invitado")
    _spanish(page, "client-invited")
    page.get_by_label("Para qué es la clave").fill("CRM")
    page.get_by_role("button", name="Emitir la clave").click()
    expect(page.locator("#key-issued")).to_contain_text("Solo se muestra ahora")
    _spanish(page, "client-key")
    with runtime.db.session() as session:
        client = session.scalar(select(Organization).where(Organization.slug == "acme-seguros"))
        assert client is not None and client.operated_by_id == tenant.id
        role = session.scalar(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.username == "ines@acme.example", Membership.organization_id == client.id)
        )
        keys = session.scalars(select(ApiKey).where(ApiKey.organization_id == client.id)).all()
    assert role == "agent"
    assert [(k.name, k.role) for k in keys] == [("CRM", "client")]

    # The staff accounts: the administrator's own row, and a refusal in Spanish.
    page.get_by_role("link", name="Cuentas del personal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cuentas del personal")
    expect(page.locator('#members tr[data-user="admin-es"]')).to_contain_text("(usted)")
    expect(page.locator('#members tr[data-user="admin-es"]')).to_contain_text("Administrador")
    page.evaluate("() => document.querySelector('#invite-email').type = 'text'")
    page.get_by_label("Correo electrónico de trabajo").fill("no es un correo")
    page.get_by_role("button", name="Enviar la invitación").click()
    assert "Escriba la dirección de correo electrónico" in page.get_by_role("alert").inner_text()
    _spanish(page, "staff")

    # The reports: this year's received deletions, as the database counts them.
    page.get_by_role("link", name="Informes", exact=True).click()
    year = dt.datetime.now(dt.UTC).year
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        f"Métricas de solicitudes de privacidad, {year}"
    )
    _spanish(page, "reports")
    row = page.locator("#metrics tbody tr", has_text="eliminar")
    shown = int(row.locator("td").nth(1).inner_text())
    with runtime.db.session() as session:
        deletes = session.scalar(
            select(func.count())
            .select_from(RightsRequest)
            .where(RightsRequest.organization_id == tenant.id, RightsRequest.type == "delete")
        )
    assert shown == deletes == 1

    # A breach incident: its status and the people affected, as the database holds them.
    page.get_by_role("link", name="Respuesta a brechas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Respuesta a brechas")
    _spanish(page, "breach")
    page.locator("#clocks").get_by_role("link", name=f"{incident}: Lost laptop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Incidente {incident}: Lost laptop")
    expect(page.locator("#status")).to_have_text("abierto")
    _spanish(page, "incident")
    with runtime.db.session() as session:
        row_incident = session.get(Incident, incident)
        assert row_incident is not None and row_incident.status == "open"
    assert int(page.locator("#affected").inner_text()) == 1

    # Laws and obligations, and the cross-client desk.
    page.get_by_role("link", name="Leyes y obligaciones").click()
    _spanish(page, "obligations")
    page.get_by_role("link", name="Todos mis clientes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Todos mis clientes")
    _spanish(page, "all-clients")
