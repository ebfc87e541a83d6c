"""The Spanish portal against the independent oracle (tests/web/spanish_oracle.py): no msgid
of the portal templates verbatim on a Spanish page outside `lang="en"`. The demo's declaration
(examples/policies/contact-center-1-2024.yaml, translated) and the test declaration (not
translated: its texts must come out marked) are both tried."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from honorbound.runtime import Runtime
from tests.conftest import Tenant, make_tenant
from tests.web.conftest import DECLARATION, adopt
from tests.web.spanish_oracle import english_left, fragments, spanish_text, template_msgids

CC1 = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"
ES = {"Accept-Language": "es-MX,es;q=0.9"}


def _paths(slug: str, bare: str) -> list[str]:
    return [
        f"/p/{slug}",
        f"/p/{slug}/versions/1",
        f"/p/{slug}/choices",
        f"/p/{slug}/requests/new",
        f"/p/{slug}/requests/status",
        f"/p/{slug}/requests/code",
        f"/p/{slug}/requests/verify?token=not-a-token",
        f"/p/{slug}/no-such-page",
        f"/p/{bare}",
    ]


def test_the_oracle_reads_the_templates_and_sees_english() -> None:
    ids = template_msgids()
    assert "Make a privacy request" in ids and "Your privacy choices" in ids and len(ids) > 150
    assert fragments("Effective %(day)s; version %(number)s.") == ["Effective"]
    html = (
        '<html lang="es"><p>Hacer una solicitud</p><p lang="en">Make a privacy request</p></html>'
    )
    assert english_left(html) == []
    assert "Make a privacy request" not in spanish_text(html)
    assert english_left('<html lang="es"><h1>Make a privacy request</h1></html>') == [
        "Make a privacy request"
    ]
    assert "Your privacy choices" in english_left(
        '<html lang="es"><a aria-label="Your privacy choices">x</a></html>'
    )


@pytest.mark.parametrize("declaration", ["demo", "untranslated"])
def test_no_english_product_string_on_a_spanish_page(
    client: TestClient, runtime: Runtime, tenant: Tenant, declaration: str
) -> None:
    adopt(runtime, tenant.id, CC1.read_text() if declaration == "demo" else DECLARATION.read_text())
    bare = make_tenant(runtime, "bare")
    for path in _paths(tenant.slug, bare.slug):
        response = client.get(path, headers=ES)
        assert response.headers["content-language"] == "es", path
        assert english_left(response.text) == [], path
        # the same page in English trips the oracle: it can fail
        english = client.get(path, headers={"Accept-Language": "en"}).text
        assert english_left(english.replace('<html lang="en"', '<html lang="es"')), path


def test_the_demo_notice_in_spanish_has_no_english_left_at_all(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The translated demo declaration: nothing on its Spanish notice is marked English but
    the switch's own name."""
    adopt(runtime, tenant.id, CC1.read_text())
    html = client.get(f"/p/{tenant.slug}", headers=ES).text
    marked = re.findall(r'<(\w+)[^>]*\slang="en"[^>]*>([^<]*)', html)
    assert marked == [("a", "English")], marked


# --- The console in Spanish -------------------------------------------------------------------

_JINJA = re.compile(r"\{%-? *trans\b.*?endtrans *-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_RAW = re.compile(r"<(code|style|script|pre)\b.*?</\1>", re.DOTALL)
# What a page may write as is, in any language.
_AS_IS = {"UTC", "Honorbound", "SHA-256", "#"}


def _literal_words(template: Path) -> list[str]:
    """The text a template writes outside any Jinja expression or tag: English left in the file
    (read with regular expressions here, not through Jinja or Babel)."""
    text = _RAW.sub(" ", _JINJA.sub(" ", template.read_text("utf-8")))
    text = re.sub(r"<[^>]*>", " ", text).replace("&mdash;", " ").replace("&hellip;", " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text) if w not in _AS_IS]


def test_every_console_page_shown_in_spanish_has_no_english_left_in_its_template() -> None:
    """A console template is rendered in the staff member's language unless it is on the
    English-only list; a template off the list must hold no literal English, and a template on
    it must still have some (or it belongs off the list)."""
    from honorbound.web.rendering import ENGLISH_ONLY

    templates = Path(__file__).parents[2] / "src" / "honorbound" / "web" / "templates"
    pages = [*sorted((templates / "console").glob("*.html")), *templates.glob("login*.html")]
    pages.extend([templates / "invite.html", templates / "datamap_table.html"])
    assert len(pages) > 25
    for page in pages:
        name = str(page.relative_to(templates))
        words = _literal_words(page)
        if name in ENGLISH_ONLY:
            assert words, f"{name} has no English left: take it off rendering.ENGLISH_ONLY"
        else:
            assert words == [], (name, words[:20])


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[-1500:]
    return match.group(1)


def _sign_in(client: TestClient, username: str, password: str) -> str:
    token = _csrf(client.get("/login", headers=ES).text)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=ES,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-800:]
    return _csrf(client.get("/console/desk", headers=ES).text)


def _spanish(client: TestClient, path: str, **post: str) -> str:
    response = client.post(path, data=post, headers=ES) if post else client.get(path, headers=ES)
    assert response.headers["content-language"] == "es", path
    assert english_left(response.text, console=True) == [], (path, response.status_code)
    # the same page in English trips the oracle: it can fail
    english = client.post(path, data=post) if post else client.get(path)
    assert english_left(english.text.replace('<html lang="en"', '<html lang="es"'), console=True)
    return response.text


def test_no_english_product_string_on_a_spanish_console_page(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The pages agents and privacy officers use most, their refusals and form errors, in
    Spanish by the browser's Accept-Language (English alongside: the oracle can fail)."""
    from faker import Faker

    from honorbound.accounts.roles import Role
    from tests.web.conftest import add_staff

    adopt(runtime, tenant.id, CC1.read_text())
    fake = Faker()
    caller = fake.email()
    _spanish(client, "/login")
    agent = add_staff(runtime, tenant, "agent3", Role.AGENT)
    token = _sign_in(client, agent.username, agent.password)
    _spanish(client, "/console/desk")
    _spanish(client, "/console/desk", identity="12", csrf_token=token)  # refused: plain words
    found = _spanish(client, "/console/desk", identity=caller, csrf_token=token)
    assert "No hay nadie registrado con esta identidad" in found
    form = {"identity": caller, "call_started": "", "csrf_token": token}
    _spanish(client, "/console/desk/choice", **form, action="maybe", source="phone_call")
    _spanish(client, "/console/desk/choice", **form, action="opt_out", source="phone_call")
    logged = _spanish(client, "/console/desk/request", **form, type="delete", jurisdiction="CA")
    reference = re.search(r'id="logged-reference">([^<]+)<', logged)
    assert reference, logged[-2000:]
    _spanish(client, "/console/desk/request", **form, type="", jurisdiction="CA")
    _spanish(client, "/console/audit")  # an agent may not: the refusal page
    client.post("/logout", data={"csrf_token": token})

    officer = add_staff(runtime, tenant, "officer3", Role.PRIVACY_OFFICER)
    _sign_in(client, officer.username, officer.password)
    _spanish(client, "/console")
    _spanish(client, "/console/requests")
    _spanish(client, "/console/requests?show=all&type=nap")  # refused filter
    queue = _spanish(client, "/console/requests?show=all")
    request_id = re.search(r'href="/console/requests/(\d+)">' + reference.group(1), queue)
    assert request_id, queue[-2000:]
    _spanish(client, f"/console/requests/{request_id.group(1)}")
    _spanish(client, "/console/requests/99999")  # not found
    _spanish(client, "/console/outbox")
    _spanish(client, "/console/outbox/1")
    _spanish(client, "/console/audit")
    _spanish(client, "/console/consent")
    ledger_token = _csrf(client.get("/console/consent", headers=ES).text)
    _spanish(client, "/console/consent", identity=caller, csrf_token=ledger_token)
    _spanish(
        client,
        "/console/consent/opt-out",
        identity=caller,
        source="letter",
        received_on="yesterday",
        csrf_token=ledger_token,
    )  # refused date
    officer_token = _csrf(client.get("/console/subjects", headers=ES).text)
    _spanish(client, "/console/subjects")
    _spanish(client, "/console/subjects", identity=" ", csrf_token=officer_token)
    _spanish(client, "/console/subjects", identity=fake.email(), csrf_token=officer_token)
    subject_id = _a_subject(runtime, tenant.id, fake.email())
    _spanish(client, f"/console/subjects/{subject_id}")
    reveal = f"/console/subjects/{subject_id}/reveal"
    _spanish(client, reveal, object_type="identity", csrf_token=officer_token)  # no reason


def _a_subject(runtime: Runtime, organization_id: int, email: str) -> int:
    from honorbound.audit import Actor
    from honorbound.vault.identities import IdentityKind
    from honorbound.vault.rules import CategoryRule, CollectionRules
    from honorbound.vault.subjects import IdentityInput, upsert_subject

    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    with runtime.db.session() as session:
        subject = upsert_subject(
            session,
            runtime.vault_keys,
            organization_id,
            [IdentityInput(IdentityKind.EMAIL, email)],
            Actor("test", "system"),
            rules,
        )
    return subject.subject.id


def test_the_console_switch_goes_back_to_console_pages_only(client: TestClient) -> None:
    for target, expected in (
        ("/console/requests?show=all", "/console/requests?show=all"),
        ("/login/code", "/login/code"),
        ("https://elsewhere.example/console", "/console"),
        ("//elsewhere.example/console", "/console"),
        ("/p/acme", "/console"),
        ("/consoles", "/console"),
    ):
        answer = client.get(
            "/console/language", params={"to": "es", "next": target}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == expected, target
        assert "honorbound_lang=es" in answer.headers["set-cookie"]
    unknown = client.get("/console/language?to=xx&next=/console", follow_redirects=False)
    assert "honorbound_lang=en" in unknown.headers["set-cookie"]
    # the cookie wins over the browser's language on the next page (the jar is emptied first:
    # the answer above left its own honorbound_lang=en there, for the test server's domain,
    # and a second cookie of the same name set here would not replace it in newer httpx)
    client.cookies.clear()
    client.cookies.set("honorbound_lang", "es")
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert page.headers["content-language"] == "es" and "Iniciar sesión" in page.text


ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
SPANISH_MONTHS = (
    "ene",
    "feb",
    "mar",
    "abr",
    "may",
    "jun",
    "jul",
    "ago",
    "sept",
    "oct",
    "nov",
    "dic",
)


def test_the_dashboard_charts_name_the_weeks_in_the_page_language(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The charts' week labels ("Oct 19") are dates, not catalog strings: the oracle cannot
    see them, so the months are checked against lists written here."""
    from honorbound.accounts.roles import Role
    from tests.web.conftest import add_staff

    adopt(runtime, tenant.id, CC1.read_text())
    officer = add_staff(runtime, tenant, "officer4", Role.PRIVACY_OFFICER)
    _sign_in(client, officer.username, officer.password)
    spanish = client.get("/console", headers=ES).text
    english = client.get("/console").text
    day_first = re.compile(r">(\d{1,2}) (" + "|".join(SPANISH_MONTHS) + r")\.?<")
    month_first = re.compile(r">(" + "|".join(ENGLISH_MONTHS) + r") (\d{1,2})<")
    assert len(day_first.findall(spanish)) >= 8 and not month_first.findall(spanish)
    assert len(month_first.findall(english)) >= 8 and not day_first.findall(english)
