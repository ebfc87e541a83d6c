"""A privacy officer's records work in Spanish, in Chromium: the policy versions and what
changed between two, the data map, the disclosure ledger filtered by basis, a legal hold placed
(a refusal first) and released, and a campaign list scrubbed, all by the pages' Spanish labels.
Each page is checked by the independent oracle (tests/web/spanish_oracle.py); the results
against the database rows and the downloaded ZIP (other paths than the page). Screenshots of
each page at 1280 and 390 px go to test-output/screenshots/spanish-records/ (looked at by hand;
docs/web.md says what was checked)."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.retention.models import LegalHold
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import SCREENSHOTS, LiveServer, add_staff, adopt
from tests.web.spanish_oracle import english_left
from tests.web.test_spanish_console_browser import SPANISH, _sign_in_in_spanish
from tests.web.test_spanish_console_records import CC1_TEXT, _records, _second_version

pytestmark = pytest.mark.browser
ACTOR = Actor("test", "system")


def _shots() -> Path:
    folder = Path(os.environ.get("HONORBOUND_SHOTS") or SCREENSHOTS / "spanish-records")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _spanish(page: Any, name: str) -> None:
    """The page says it is Spanish, the oracle finds no English product string on it, and it
    is photographed at both widths."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    assert english_left(page.content(), console=True) == [], page.url
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(_shots() / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _holds(runtime: Runtime) -> list[LegalHold]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(LegalHold).order_by(LegalHold.id)))
        session.expunge_all()
    return rows


def test_a_privacy_officer_works_the_records_pages_in_spanish(
    new_page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    adopt(runtime, tenant.id, CC1_TEXT)
    _second_version(runtime, tenant)
    left = person()
    _records(runtime, tenant, left.email)
    with runtime.db.session() as session:
        ledger.record(
            session,
            tenant.id,
            identify(runtime.keys, tenant.id, left.email),
            "marketing",
            "email",
            "opt_out",
            "web_form",
            ACTOR,
        )
    officer = add_staff(runtime, tenant, "officer-rec", Role.PRIVACY_OFFICER)
    base = live_server.url
    page = new_page(**SPANISH)
    _sign_in_in_spanish(page, base, officer.username, officer.password)

    # Policy versions -> what changed in version 2.
    page.get_by_role("link", name="Versiones de la política").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Versiones de la política")
    _spanish(page, "policy")
    page.get_by_role("link", name="Cambios desde la versión 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Versión 1 → 2")
    assert "Importante" in page.locator("#changes").inner_text()
    _spanish(page, "policy-diff")

    # The data map: the longer period in words, in Spanish.
    page.get_by_role("link", name="Mapa de datos").click()
    assert "7 años" in page.locator("table.datamap").inner_text()
    _spanish(page, "data-map")

    # The disclosure ledger, filtered by a basis chosen by its Spanish name.
    page.get_by_role("link", name="Divulgaciones").click()
    page.get_by_label("Fundamento").select_option(label="venta")
    page.get_by_role("button", name="Filtrar").click()
    assert "No hay divulgaciones registradas." in page.locator("#disclosures").inner_text()
    _spanish(page, "disclosures-sale")
    page.get_by_label("Fundamento").select_option(label="proveedor de servicios")
    page.get_by_role("button", name="Filtrar").click()
    rows = page.locator("#disclosures tbody tr")
    expect(rows).to_have_count(2)
    assert "agregado" in page.locator("#disclosures").inner_text()
    _spanish(page, "disclosures")

    # Retention: a hold without its owner is refused in plain Spanish, then placed, released.
    page.get_by_role("link", name="Conservación").click()
    before = len(_holds(runtime))
    page.get_by_label("Motivo", exact=True).fill("retención por litigio, caso 24-118")
    page.get_by_label("Responsable (quién responde por ella)").fill(" ")
    page.get_by_role("button", name="Establecer la retención").click()
    expect(page.locator("#form-error")).to_have_text("Diga quién responde por esta retención.")
    assert len(_holds(runtime)) == before
    _spanish(page, "retention-refused")
    page.get_by_label("Motivo", exact=True).fill("retención por litigio, caso 24-118")
    page.get_by_label("Responsable (quién responde por ella)").fill("Legal")
    page.get_by_label("Categoría (opcional, p. ej., user.contact)").fill("user.contact")
    page.get_by_role("button", name="Establecer la retención").click()
    placed = _holds(runtime)[-1]
    assert (placed.reason, placed.owner, placed.category) == (
        "retención por litigio, caso 24-118",
        "Legal",
        "user.contact",
    )
    assert placed.released_at is None
    _spanish(page, "retention")
    page.locator(f"#release-{placed.id}").fill("caso resuelto")
    page.get_by_role("button", name=f"Levantar la retención {placed.id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conservación")
    released = _holds(runtime)[-1]
    assert released.released_at is not None and released.release_reason == "caso resuelto"

    # The campaign scrub: the list uploaded by the Spanish labels, the ZIP read back.
    page.get_by_role("link", name="Depuración de campañas").click()
    _spanish(page, "scrub")
    page.get_by_label("Finalidad").select_option(label="marketing")
    page.get_by_label("Canal").select_option(label="correo electrónico")
    stays = person()
    page.get_by_label("Lista de la campaña").set_input_files(
        {
            "name": "primavera.csv",
            "mimeType": "text/csv",
            "buffer": f"email\n{stays.email}\n{left.email}\n".encode(),
        }
    )
    with page.expect_download() as info:
        page.get_by_role("button", name="Depurar la lista").click()
    path = tmp_path / "scrubbed.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        summary = archive.read("summary.txt").decode()
        blocked = list(csv.DictReader(io.StringIO(archive.read("blocked.csv").decode())))
    [row] = [r for r in blocked if r["email"] == left.email]
    assert row["reasons"] == "opted_out"  # the code, as the ledger's opt-out makes it
    assert "se excluyó (opted_out): 1" in summary and "Bloqueados: 1" in summary
    page.get_by_label("Lista de la campaña").set_input_files(
        {"name": "mala.csv", "mimeType": "text/csv", "buffer": b"nombre\nx\n"}
    )
    page.get_by_role("button", name="Depurar la lista").click()
    assert "La primera línea del archivo" in page.locator("#form-error").inner_text()
    _spanish(page, "scrub-refused")

    # Shine the Light for the person the ledger names (no direct-marketing disclosure), and the
    # list of requests said in conversations (nothing waits).
    page.get_by_role("link", name="Informes").click()
    page.goto(f"{base}/console/reports/shine-the-light")
    _spanish(page, "shine-the-light")
    page.get_by_label("Correo electrónico o número de teléfono").fill(left.email)
    page.get_by_role("button", name="Mostrar la respuesta").click()
    assert "No divulgamos su información personal" in page.locator("#stl-note").inner_text()
    assert left.email not in page.content()
    _spanish(page, "shine-the-light-answer")
    page.get_by_role("link", name="Dicho en conversaciones").click()
    assert "No hay nada pendiente." in page.locator("#intents").inner_text()
    _spanish(page, "intents")
