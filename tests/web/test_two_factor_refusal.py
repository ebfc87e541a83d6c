"""Two-factor set-up through the real ASGI app: a wrong first code shows the set-up page again
(422), with the same key (the app may have scanned it already) and the refusal in the page's
language, through the one handler (`web/forms.shown_again`). The words are written here."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import add_staff
from tests.web.test_form_errors import _token

EN = {"Accept-Language": "en-US,en;q=0.9"}
ES = {"Accept-Language": "es-MX,es;q=0.9"}
REFUSED = {
    "en": "That code did not match. Enter the 6 digits your authenticator app shows now.",
    "es": "Ese código no coincide. Escriba los 6 dígitos que muestra ahora su aplicación de "
    "autenticación.",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"two_factor_roles": ["admin"]})


def _secret(text: str) -> str:
    match = re.search(r'id="totp-secret"[^>]*>\s*([A-Z2-7]+)\s*<', text)
    assert match, text[-1500:]
    return match.group(1)


def test_a_wrong_first_code_shows_the_same_key_again(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    login = add_staff(runtime, tenant, "tfadmin", Role.ADMIN)
    token = _token(client.get("/login").text)
    signed = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/login/two-factor"
    setup = client.get("/login/two-factor")
    secret = _secret(setup.text)
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    for lang, headers in (("en", EN), ("es", ES)):
        answer = client.post(
            "/login/two-factor",
            data={"code": wrong, "csrf_token": _token(setup.text)},
            headers=headers,
        )
        text = html.unescape(answer.text)
        assert answer.status_code == 422, (lang, text[-800:])
        assert answer.headers["content-language"] == lang
        assert 'id="error-message"' not in text  # the set-up page, not the error page
        assert REFUSED[lang] in text, (lang, text[-1500:])
        assert _secret(answer.text) == secret
