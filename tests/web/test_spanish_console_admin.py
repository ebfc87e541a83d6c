"""The console's administration and reporting pages in Spanish (issue 15): clients, a client,
all my clients, staff accounts, reports, breach response and an incident, laws and
obligations; their refusals; the staff invitation mail; and the plural forms of counts.

Each page is checked by the independent oracle (tests/web/spanish_oracle.py: the templates' and
the console code's msgids, extracted here by Babel, none left verbatim on a Spanish page), and
the same page in English trips it (the oracle can fail). The mail is read from the loopback SMTP
server; the plural sentences are written out here, not derived from the catalog."""

from __future__ import annotations

import re

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.models import Membership, User
from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.audit import Actor
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.smtp import SmtpSink
from tests.web.spanish_oracle import PO, english_left

ES = {"Accept-Language": "es-MX,es;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
PASSWORD = "a long staff passphrase 15"


@pytest.fixture
def org(rt: Runtime) -> Tenant:
    tenant = make_tenant(rt, "callco-es")
    adopt_example(rt, tenant.id)
    return tenant


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[-1500:]
    return match.group(1)


def _sign_in(rt: Runtime, org: Tenant, api: TestClient, username: str, role: Role) -> str:
    with rt.db.session() as session:
        create_user(session, username, PASSWORD, "", Actor("test", "system"), org.id, role)
    token = _csrf(api.get("/login", headers=ES).text)
    answer = api.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        headers=ES,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-800:]
    return _csrf(api.get("/console/staff", headers=ES).text)


def _spanish(api: TestClient, path: str, status: int = 200, **post: str) -> str:
    """The page in Spanish with no English product string; in English, the oracle trips."""
    send = (lambda h: api.post(path, data=post, headers=h)) if post else (
        lambda h: api.get(path, headers=h)
    )  # fmt: skip
    response = send(ES)
    assert response.status_code == status, (path, response.status_code, response.text[-600:])
    assert response.headers["content-language"] == "es", path
    assert english_left(response.text, console=True) == [], path
    english = send(EN)
    assert english.headers["content-language"] == "en", path
    assert english_left(english.text.replace('<html lang="en"', '<html lang="es"'), console=True)
    return response.text


def test_the_administration_and_reporting_pages_in_spanish(
    rt: Runtime, org: Tenant, api: TestClient
) -> None:
    resident(rt, org.id, "OR")
    incident = api.post(
        "/v1/breach/incidents",
        headers=org.headers(Role.PRIVACY_OFFICER),
        json={"title": "Lost laptop", "discovered_at": "2026-11-02T15:00:00Z",
              "owner": "Privacy Office"},
    ).json()["id"]  # fmt: skip
    api.post(
        f"/v1/breach/incidents/{incident}/selection",
        headers=org.headers(Role.PRIVACY_OFFICER),
        json={"systems": ["web_form"]},
    )
    token = _sign_in(rt, org, api, "admin-es", Role.ADMIN)

    staff = _spanish(api, "/console/staff")
    assert "Cuentas del personal" in staff and "Enviar la invitación" in staff
    # A refused invitation: the domain's reason, in Spanish, and nothing written.
    refused = _spanish(
        api, "/console/staff/invite", 422, email="not-an-address", role="agent",
        display_name="", language="es", csrf_token=token,
    )  # fmt: skip
    assert "Escriba la dirección de correo electrónico de trabajo" in refused
    _spanish(api, "/console/staff/invite", 422, email="x@example.com", role="boss",
             csrf_token=token)  # fmt: skip
    _spanish(api, "/console/clients")
    _spanish(api, "/console/clients", 422, slug="A", name="", privacy_contact="",
             csrf_token=token)  # fmt: skip
    onboarded = api.post(
        "/console/clients",
        data={"slug": "acme-es", "name": "Acme", "privacy_contact": "privacy@acme.example",
              "notice": "", "csrf_token": token},
        headers=ES, follow_redirects=False,
    )  # fmt: skip
    assert onboarded.status_code == 303, onboarded.text[-600:]
    client_page = onboarded.headers["location"]
    page = _spanish(api, client_page)
    assert "Cliente incorporado" in page and '<h1 lang="en">Acme</h1>' in page
    client_id = client_page.split("/")[3].split("?")[0]
    _spanish(api, f"/console/clients/{client_id}/keys", 422, name="", role="client",
             csrf_token=token)  # fmt: skip
    _spanish(api, f"/console/clients/{client_id}/offboard", 422, confirm="nope",
             csrf_token=token)  # fmt: skip
    _spanish(api, "/console/all-clients")
    _spanish(api, "/console/all-clients?overdue=1")
    reports = _spanish(api, "/console/reports?year=2026")
    assert "del 1 de enero de 2026 al 31 de diciembre de 2026" in reports
    _spanish(api, "/console/breach")
    detail = _spanish(api, f"/console/breach/{incident}")
    assert "Incidente" in detail and '<span lang="en">Lost laptop</span>' in detail
    laws = _spanish(api, "/console/obligations")
    assert "Leyes estatales" in laws


def test_the_invitation_mail_speaks_the_language_chosen_for_the_invitee(
    rt: Runtime, org: Tenant, api: TestClient, smtp: SmtpSink
) -> None:
    """The form's language (default: the inviter's page language) sets the mail's subject, body
    and Content-Language; a language the product does not speak is refused, nobody created."""
    token = _sign_in(rt, org, api, "admin-mail", Role.ADMIN)
    page = api.get("/console/staff", headers=ES).text
    assert re.search(r'<option value="es" lang="es" selected>Español</option>', page)

    def invite(email: str, headers: dict[str, str], **extra: str) -> int:
        form = {"email": email, "role": "privacy_officer", "display_name": "", **extra}
        answer = api.post("/console/staff/invite", data={**form, "csrf_token": token},
                          headers=headers)  # fmt: skip
        return answer.status_code

    assert invite("ines@example.com", ES) == 200  # no language sent: the page's, Spanish
    assert invite("ed@example.com", EN) == 200  # the page's, English
    assert invite("ana@example.com", EN, language="es") == 200  # chosen on an English page
    assert invite("bad@example.com", ES, language="xx") == 422
    mails = {m["To"]: m for m in smtp.wait_for(3)}
    assert set(mails) == {"ines@example.com", "ed@example.com", "ana@example.com"}
    for spanish in ("ines@example.com", "ana@example.com"):
        mail = mails[spanish]
        assert mail["Subject"] == "Su cuenta en la consola de privacidad de Org callco-es"
        body = str(mail.get_body(preferencelist=("plain",)).get_content())
        assert "con el rol de Responsable de privacidad" in body
        assert "el enlace funciona una vez, durante 7 días" in body
        assert mail["Content-Language"] == "es"
    english = mails["ed@example.com"]
    assert english["Subject"] == "Your account at Org callco-es's privacy console"
    assert "as Privacy officer" in str(english.get_body(preferencelist=("plain",)).get_content())
    assert english["Content-Language"] == "en"
    refused = api.post(
        "/console/staff/invite",
        data={"email": "bad@example.com", "role": "agent", "language": "xx", "csrf_token": token},
        headers=ES,
    ).text
    assert "Elija de la lista el idioma de la invitación." in refused
    with rt.db.session() as session:
        bad = session.scalar(select(User).where(User.username == "bad@example.com"))
        roles = dict(
            session.execute(
                select(User.username, Membership.role).join(
                    Membership, Membership.user_id == User.id
                )
            ).all()
        )
    assert bad is None
    assert roles["ines@example.com"] == roles["ana@example.com"] == "privacy_officer"


# --- plurals ---------------------------------------------------------------------------------

# What a reader expects for 0, 1 and 2, written out (not computed from the catalog).
PLURALS = [
    # (marked in code or template, count, Spanish, English)
    ("marked", 0, "quedan 0 días", "0 days left"),  # time_left says "due today" for 0
    ("left", 1, "queda 1 día", "1 day left"),
    ("left", 2, "quedan 2 días", "2 days left"),
    ("late", 1, "vencida hace 1 día", "1 day overdue"),
    ("late", 2, "vencida hace 2 días", "2 days overdue"),
    ("opt_outs", 0, "0 exclusiones registradas.", "0 opt-outs recorded."),
    ("opt_outs", 1, "1 exclusión registrada.", "1 opt-out recorded."),
    ("opt_outs", 2, "2 exclusiones registradas.", "2 opt-outs recorded."),
    ("details", 0, "0 datos", "0 details"),
    ("details", 1, "1 dato", "1 detail"),
    ("details", 2, "2 datos", "2 details"),
    ("broken", 0, "0 dañadas", "0 broken"),
    ("broken", 1, "1 dañada", "1 broken"),
    ("broken", 2, "2 dañadas", "2 broken"),
    ("overdue", 1, "1 vencida.", "1 overdue."),
    ("overdue", 2, "2 vencidas.", "2 overdue."),
]
TEMPLATES = {
    "opt_outs": '{{ ngettext("%(num)s opt-out recorded.", "%(num)s opt-outs recorded.", n) }}',
    "details": '{{ ngettext("%(num)s detail", "%(num)s details", n) }}',
    "broken": (
        "{% trans count=n %}{{ count }} broken{% pluralize %}{{ count }} broken{% endtrans %}"
    ),
    "overdue": '{{ ngettext("%(num)s overdue.", "%(num)s overdue.", n) }}',
}


@pytest.mark.parametrize(("what", "n", "spanish", "english"), PLURALS)
def test_counts_take_the_plural_form_of_the_language(
    what: str, n: int, spanish: str, english: str
) -> None:
    import datetime as dt

    from honorbound import i18n
    from honorbound.web import rendering
    from honorbound.web.console.requests import time_left

    if what == "marked":
        message = i18n.N_plural("{num} day left", "{num} days left", n)
        shown = {lang: i18n.translate(lang, message) for lang in ("es", "en")}
    elif what in ("left", "late"):
        now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
        due = now + dt.timedelta(days=n if what == "left" else -n)
        message, _ = time_left(due, now)
        shown = {lang: i18n.translate(lang, message) for lang in ("es", "en")}
    else:
        template = rendering.templates.env.from_string(TEMPLATES[what])
        shown = {}
        for lang in ("es", "en"):
            reset = rendering._LANG.set(lang)
            try:
                shown[lang] = template.render(n=n)
            finally:
                rendering._LANG.reset(reset)
    assert shown == {"es": spanish, "en": english}


def test_the_catalog_plural_rule_is_babels_for_spanish() -> None:
    """The catalog's Plural-Forms picks the form CLDR (through Babel) names for each count:
    "one" for 1 only, "other" for 0 and the rest."""
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    assert catalog.num_plurals == 2
    expression = catalog.plural_expr
    locale = Locale.parse("es")
    for n in range(0, 2001):
        picked = int(eval(expression, {"n": n}))  # noqa: S307 (the catalog's own C expression)
        assert picked == (0 if locale.plural_form(n) == "one" else 1), n


def test_the_dashboard_charts_name_request_types_in_the_page_language(
    rt: Runtime, org: Tenant, api: TestClient
) -> None:
    """The requests chart's series are request types: their legend (and each bar's title) in
    the page's words, the type's code nowhere as text."""
    for kind in ("delete", "opt_out_sale", "access_admt"):
        made = api.post(
            "/v1/requests",
            json={"type": kind, "jurisdiction": "CA", "email": f"{kind}@example.test",
                  "manner": "phone"},
            headers=org.headers(),
        )  # fmt: skip
        assert made.status_code == 201, made.text
    _sign_in(rt, org, api, "officer-chart", Role.PRIVACY_OFFICER)
    spanish = api.get("/console", headers=ES).text
    english = api.get("/console", headers=EN).text
    legend = re.compile(r"<text[^>]*>([^<]+)</text>")
    assert {"eliminar", "excluirse de la venta", "acceso a decisiones automatizadas"} <= set(
        legend.findall(spanish)
    )
    assert {"delete", "opt out sale", "access to automated decisions"} <= set(
        legend.findall(english)
    )
    assert not {"opt out sale", "access admt"} & set(legend.findall(spanish))
