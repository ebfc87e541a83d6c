"""Every page moved from a hand-written catch to the one handler (issue 18 step 5, web half):
bad input is posted through the real ASGI app once in English and once in Spanish, and the
answer keeps what the page showed before: the status, the page itself (the form shown again,
or the console's not-found page; never the site's error page unless that is what the page
did), the field marked, and the sentence in the page's language. The expected words are
written here, not read from the catalog or from the code under test."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.test_form_errors import _admin, _token

EN = {"Accept-Language": "en-US,en;q=0.9"}
ES = {"Accept-Language": "es-MX,es;q=0.9"}
ERROR_PAGE = 'id="error-message"'  # the site's error page (error.html)
NOT_FOUND = {"en": "Not found", "es": "No encontrado"}  # console/not_found.html's heading


@pytest.fixture
def admin(client: TestClient, runtime: Runtime, tenant: Tenant) -> str:
    """An administrator signed in; the form token of the session."""
    return _admin(client, runtime, tenant)


def _both(client: TestClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """The same request in English and in Spanish: {"en": answer, "es": answer}."""
    return {
        lang: client.request(method, url, headers=headers, **kwargs)
        for lang, headers in (("en", EN), ("es", ES))
    }


def _says(answers: dict[str, Any], status: int, marker: str, words: dict[str, str]) -> None:
    """Each answer has the status, the page's marker (its form's error paragraph, a heading)
    and the sentence in its language; none is the site's error page."""
    for lang, answer in answers.items():
        text = html.unescape(answer.text)
        assert answer.status_code == status, (lang, answer.status_code, text[-600:])
        assert answer.headers["content-type"].startswith("text/html"), lang
        assert answer.headers.get("content-language") == lang, lang
        assert ERROR_PAGE not in text, lang
        assert marker in text, (lang, marker)
        assert words[lang] in text, (lang, words[lang], text[-1500:])


def _says_error_page(answers: dict[str, Any], status: int, title: dict[str, str]) -> None:
    """The console's error page (what the page answered before too), titled in its language."""
    for lang, answer in answers.items():
        text = html.unescape(answer.text)
        assert answer.status_code == status, lang
        assert answer.headers.get("content-language") == lang, lang
        assert ERROR_PAGE in text and f"<h1>{title[lang]}</h1>" in text, (lang, text[-800:])


# -- console pages ------------------------------------------------------------------------------
def test_an_unknown_conversation_intent(client: TestClient, admin: str) -> None:
    answers = _both(client, "POST", "/console/conversation-intents/424242",
                    data={"decision": "dismiss", "csrf_token": admin})  # fmt: skip
    _says(answers, 404, 'id="form-error"', {
        "en": "There is no such request said in a conversation.",
        "es": "No existe esa solicitud dicha en una conversación.",
    })  # fmt: skip


def test_shine_the_light_with_an_unreadable_identity(client: TestClient, admin: str) -> None:
    answers = _both(client, "POST", "/console/reports/shine-the-light",
                    data={"identity": "nobody@", "csrf_token": admin})  # fmt: skip
    _says(answers, 422, 'id="form-error"', {
        "en": "That is not an email address or a phone number we can read: check it and try "
        "again.",
        "es": "No es un correo electrónico ni un número de teléfono que podamos leer: revíselo "
        "e intente de nuevo.",
    })  # fmt: skip


def test_a_scrub_file_without_an_identity_column_in_both_languages(
    client: TestClient, admin: str
) -> None:
    answers = {
        lang: client.post(
            "/console/scrub",
            data={"purpose": "marketing", "channel": "voice", "csrf_token": admin},
            files={"campaign": ("calls.csv", b"name,city\nA,B\n", "text/csv")},
            headers=headers,
        )
        for lang, headers in (("en", EN), ("es", ES))
    }
    _says(answers, 422, 'id="form-error"', {
        "en": "The file's first line needs an 'identity' (or 'phone' or 'email') column naming "
        "who to contact.",
        "es": "La primera línea del archivo necesita una columna «identity» (o «phone» o «email») "
        "que indique a quién contactar.",
    })  # fmt: skip
    # The domain's own sentence (it names the temporary file) is not what the page shows.
    assert all("list.csv" not in a.text and "campaign:" not in a.text for a in answers.values())


def _onboard(client: TestClient, admin: str, slug: str = "acme") -> int:
    form = {"slug": slug, "name": "Client Acme", "privacy_contact": f"privacy@{slug}.example",
            "csrf_token": admin}  # fmt: skip
    answer = client.post("/console/clients", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[-800:]
    found = re.search(r"/console/clients/(\d+)", answer.headers["location"])
    assert found
    return int(found.group(1))


def test_the_clients_page_refusals(client: TestClient, admin: str) -> None:
    form = {"slug": "nameless", "name": "", "privacy_contact": "privacy@nameless.example",
            "csrf_token": admin}  # fmt: skip
    _says(_both(client, "POST", "/console/clients", data=form), 422, 'id="clients-error"',
          {"en": "Enter the client's name.", "es": "Escriba el nombre del cliente."})  # fmt: skip
    bad_notice = {**form, "name": "Client N", "notice": "organization: [unclosed\n"}
    _says(_both(client, "POST", "/console/clients", data=bad_notice), 422, 'value="Client N"',
          {"en": "The notice has errors: notice.yaml:2:",
           "es": "El aviso tiene errores: notice.yaml:2:"})  # fmt: skip
    client_id = _onboard(client, admin)
    offboard = {"confirm": "not-the-slug", "csrf_token": admin}
    _says(_both(client, "POST", f"/console/clients/{client_id}/offboard", data=offboard),
          422, 'id="client-error"', {
              "en": "Type the client's slug (acme) to confirm: offboarding erases its data.",
              "es": "Escriba el identificador del cliente (acme) para confirmar: darlo de baja "
              "borra sus datos.",
          })  # fmt: skip
    # The calling-hours message names its field itself: no second name in front of it.
    hours = {"start": "9am", "end": "17:00", "csrf_token": admin}
    answers = _both(client, "POST", f"/console/clients/{client_id}/hours", data=hours)
    words = "start must be a time as HH:MM (24-hour), e.g. 09:00"  # not marked: English in both
    _says(answers, 422, 'id="client-error"', {"en": words, "es": words})
    assert all("start: start" not in html.unescape(a.text) for a in answers.values())
    # A cursor the desk did not give: the console's error page with the page's title, in the
    # page's language; the desk's own sentence is not marked (English in both).
    answers = _both(client, "GET", "/console/all-clients?cursor=bm90LWEtY3Vyc29y")
    for lang, answer in answers.items():
        text = html.unescape(answer.text)
        assert answer.status_code == 422, lang
        assert answer.headers.get("content-language") == lang, lang
        title = {"en": "This page cannot be shown", "es": "No se puede mostrar esta página"}
        assert f"<h1>{title[lang]}</h1>" in text, lang
        assert "the page cursor is not one this desk gave; start again." in text, lang
    # Not one of the person's organizations: the same 403 page as before, in both languages.
    switch = _both(client, "POST", "/console/organization",
                   data={"organization_id": "999999", "csrf_token": admin})  # fmt: skip
    _says_error_page(switch, 403, {
        "en": "Not one of your organizations", "es": "No es una de sus organizaciones"
    })  # fmt: skip


def test_a_shared_number_refused(client: TestClient, admin: str) -> None:
    data = {"number": "not a number", "routing": "last_sender", "csrf_token": admin}
    answers = _both(client, "POST", "/console/sms-numbers", data=data)
    # The domain's sentence is not marked for translation: English on both pages, as before.
    words = "number must be a phone number (+12125550100) or a 5-6 digit short code."
    _says(answers, 422, 'id="number-error"', {"en": words, "es": words})


def test_a_staff_invitation_refused_in_both_languages(client: TestClient, admin: str) -> None:
    form = {"email": "nope", "role": "agent", "display_name": "Robin Q", "csrf_token": admin}
    answers = _both(client, "POST", "/console/staff/invite", data=form)
    _says(answers, 422, 'value="Robin Q"', {
        "en": "Enter the person's work email address, such as name@example.com.",
        "es": "Escriba la dirección de correo electrónico de trabajo de la persona, por ejemplo "
        "name@example.com.",
    })  # fmt: skip


def test_the_desk_refusals(client: TestClient, admin: str) -> None:
    lookup = {"identity": "nobody@", "csrf_token": admin}
    _says(_both(client, "POST", "/console/desk", data=lookup), 422, 'value="nobody@"', {
        "en": "We could not read “nobody@” as an email address or a phone number.",
        "es": "No pudimos leer «nobody@» como correo electrónico ni como número de teléfono.",
    })  # fmt: skip
    choice = {"identity": person().email, "action": "opt_out", "source": "phone_call",
              "purpose": "marketing", "channel": "all", "reference": "a b",
              "csrf_token": admin}  # fmt: skip
    _says(_both(client, "POST", "/console/desk/choice", data=choice), 422, 'value="a b"', {
        "en": "The reference is the call, ticket or letter id, with no spaces and no names",
        "es": "La referencia es el identificador de la llamada, del ticket o de la carta, sin "
        "espacios ni nombres",
    })  # fmt: skip


def test_not_found_pages_of_requests_subjects_and_messages(client: TestClient, admin: str) -> None:
    for method, url, data in (
        ("GET", "/console/requests/424242", None),
        ("POST", "/console/requests/424242/extend", {"reason": "more time", "csrf_token": admin}),
        ("POST", "/console/requests/424242/assign", {"assignee": "me", "csrf_token": admin}),
        ("GET", "/console/subjects/424242", None),
        ("POST", "/console/outbox/424242/read", {"reason": "support", "csrf_token": admin}),
    ):
        answers = _both(client, method, url, data=data)
        _says(answers, 404, "<h1>", NOT_FOUND)


def test_the_hold_forms_refusals(client: TestClient, admin: str) -> None:
    place = {"reason": "", "owner": "Legal", "csrf_token": admin}
    _says(_both(client, "POST", "/console/retention/holds", data=place), 422, "retention", {
        "en": "Say why the hold is placed, for example: litigation hold, case 24-117.",
        "es": "Diga por qué se establece la retención, por ejemplo: retención por litigio, caso "
        "24-117.",
    })  # fmt: skip
    release = {"reason": "case settled", "csrf_token": admin}
    answers = _both(client, "POST", "/console/retention/holds/424242/release", data=release)
    _says(answers, 404, "retention", {
        "en": "There is no legal hold with that number in your organization.",
        "es": "No hay ninguna retención legal con ese número en su organización.",
    })  # fmt: skip


def _marked(answers: dict[str, Any], field: str) -> None:
    """The refused field is marked for assistive technology on every answer."""
    for lang, answer in answers.items():
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', answer.text), lang


# -- portal pages -------------------------------------------------------------------------------
def test_portal_choices_with_an_unreadable_identity(client: TestClient, tenant: Tenant) -> None:
    url = f"/p/{tenant.slug}/choices"
    token = _token(client.get(url).text)
    data = {"csrf_token": token, "identity": "nobody@", "sale_sharing": "yes"}
    answers = _both(client, "POST", url, data=data)
    _says(answers, 422, 'value="nobody@"', {
        "en": "Check the email address or phone number: an email looks like name@example.com, a "
        "phone number has its area code.",
        "es": "Revise el correo electrónico o el número de teléfono: un correo se ve así: "
        "nombre@example.com; un número de teléfono lleva su código de área.",
    })  # fmt: skip
    _marked(answers, "identity")


def test_portal_status_with_a_wrong_code(client: TestClient, tenant: Tenant) -> None:
    url = f"/p/{tenant.slug}/requests/status"
    token = _token(client.get(f"{url}?reference=R-ABCD2345EFGH").text)
    data = {"csrf_token": token, "reference": "R-ABCD2345EFGH", "code": "123456"}
    answers = _both(client, "POST", url, data=data)
    _says(answers, 422, 'name="code"', {
        "en": "This code does not match this reference.",
        "es": "Este código no corresponde a esta referencia.",
    })  # fmt: skip
    _marked(answers, "code")


def test_portal_request_with_a_bad_email_marks_the_field(
    client: TestClient, tenant: Tenant
) -> None:
    url = f"/p/{tenant.slug}/requests"
    token = _token(client.get(f"{url}/new").text)
    data = {"csrf_token": token, "type": "delete", "jurisdiction": "CA", "confirmed": "yes",
            "email": "nobody@"}  # fmt: skip
    answers = _both(client, "POST", url, data=data)
    _says(answers, 422, 'value="nobody@"', {
        "en": "Check your email address: it should look like name@example.com.",
        "es": "Revise su correo electrónico: debe verse así: nombre@example.com.",
    })  # fmt: skip
    _marked(answers, "email")
