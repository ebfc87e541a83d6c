"""The console's records pages in Spanish: policy versions and their differences, the data map,
the disclosure ledger, Shine the Light, retention and legal holds, the campaign scrub, requests
said in conversations (connected systems: tests/systems/test_scan.py). Each page, its refusals
included, is checked by the independent oracle (tests/web/spanish_oracle.py) next to its English
twin, which must trip it.

And the reason codes the domain emits (consent decisions, retention, conversations, denials,
the drift scan): each code, enumerated from the domain's own enums and tuples, has words in the
console whose Spanish is in the catalog (read here with Babel, not through honorbound.i18n)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.disclosures.ledger import record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy import store
from honorbound.policy.store import adopt_text
from honorbound.retention import holds
from honorbound.retention.models import LegalHold
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.intents.test_api import CALL, _adopt, _ingest, _subject
from tests.web.conftest import add_staff
from tests.web.spanish_oracle import PO, english_left
from tests.web.test_spanish_oracle import ES, _csrf, _sign_in, _spanish

ACTOR = Actor("test", "system")
EXAMPLE = Path(__file__).parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"
CC1_TEXT = EXAMPLE.read_text("utf-8")


def _second_version(runtime: Runtime, tenant: Tenant) -> None:
    """Version 2: what the first says, with one retention period longer (a material change)."""
    with runtime.db.session() as session:
        current = store.current(session, tenant.id)
        assert current is not None
        rows = store.versions(session, tenant.id)
        text = rows[-1].source_text
    assert "period: P6Y" in text
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, text.replace("period: P6Y", "period: P7Y", 1), ACTOR)


def _records(runtime: Runtime, tenant: Tenant, email: str) -> int:
    """Two disclosures to a service provider (one of 1,200 people in aggregate, one naming the
    person with `email`) and a legal hold; the person's subject id."""
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer", "user"}),
        minimum_age=None,
    )
    with runtime.db.session() as session:
        policy = store.current(session, tenant.id)
        assert policy is not None
        subject_id = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, email)],
            ACTOR,
            rules,
        ).subject.id
        recipient = policy.declaration.recipients[0]
        common = {
            "recipient": recipient,
            "categories": ["user.contact.email"],
            "purpose": policy.declaration.purposes[0].id,
            "basis": Basis.SERVICE_PROVIDER,
        }
        record_disclosure(session, tenant.id, ACTOR, aggregate_count=1200, **common)  # type: ignore[arg-type]
        record_disclosure(
            session,
            tenant.id,
            ACTOR,
            subjects={subject_id: ["user.contact.email"]},
            **common,  # type: ignore[arg-type]
        )
        holds.place_hold(session, tenant.id, ACTOR, reason="case 24-117", owner="Legal")
    return subject_id


def test_the_records_pages_in_spanish_have_no_english_left(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant, review=True)
    _second_version(runtime, tenant)
    subject_id, who = _subject(client, tenant)
    _ingest(client, tenant, subject_id, CALL)  # an opt-out the organization reviews: queued
    assert _records(runtime, tenant, who.email) == subject_id
    officer = add_staff(runtime, tenant, "officer-es", Role.PRIVACY_OFFICER)
    token = _sign_in(client, officer.username, officer.password)

    versions = _spanish(client, "/console/policy")
    assert "Cambios desde la versión 1" in versions and "Cambio importante" in versions
    diff = _spanish(client, "/console/policy/diff?old=1&new=2")
    assert "Versión 1 → 2" in diff and "--- versión 1" in diff
    assert "puede conservarse más tiempo (after_last_activity)" in diff  # the change, in words
    _spanish(client, "/console/policy/diff?old=1&new=9")  # not found
    datamap = _spanish(client, "/console/data-map")
    assert "Mapa de datos" in datamap and "7 años" in datamap
    ledger_page = _spanish(client, "/console/disclosures")
    assert "Registro de divulgaciones" in ledger_page and "agregado" in ledger_page
    assert "proveedor de servicios" in ledger_page
    _spanish(client, "/console/disclosures?basis=sale")
    _spanish(client, "/console/disclosures?basis=nonsense")  # refused filter
    retention = _spanish(client, "/console/retention")
    assert "Retenciones legales" in retention and "vigente" in retention
    _spanish(client, "/console/retention/holds", owner="Legal", csrf_token=token)  # no reason
    _spanish(client, "/console/retention/holds/99999/release", reason="x", csrf_token=token)
    intents = _spanish(client, "/console/conversation-intents")
    assert "la organización revisa las exclusiones" in intents
    _spanish(client, "/console/conversation-intents/1", decision="maybe", csrf_token=token)
    _spanish(client, "/console/conversation-intents/99999", decision="dismiss", csrf_token=token)
    _spanish(client, "/console/scrub")
    _spanish(client, "/console/reports/shine-the-light")
    stl = "/console/reports/shine-the-light"
    _spanish(client, stl, identity=" ", csrf_token=token)
    _spanish(client, stl, identity="not a phone", csrf_token=token)
    _spanish(client, stl, identity=who.email, year="1999", csrf_token=token)
    answer = _spanish(client, stl, identity=who.email, csrf_token=token)
    assert "No divulgamos su información personal" in answer
    with runtime.db.session() as session:
        assert [h.owner for h in session.scalars(select(LegalHold))] == ["Legal"]  # nothing added


def test_the_scrub_in_spanish_words_its_summary_and_its_refusals(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The ZIP's summary.txt in the page's language, each reason in words with its code (the
    code is what blocked.csv holds, in both languages)."""
    _adopt(runtime, tenant)
    subject_id, who = _subject(client, tenant)
    with runtime.db.session() as session:
        ledger.record(
            session,
            tenant.id,
            identify(runtime.keys, tenant.id, who.email),
            "marketing",
            "email",
            "opt_out",
            "web_form",
            ACTOR,
        )
    officer = add_staff(runtime, tenant, "officer-scrub", Role.PRIVACY_OFFICER)
    token = _sign_in(client, officer.username, officer.password)
    files = {"campaign": ("spring.csv", f"email\n{who.email}\n".encode(), "text/csv")}
    form = {"csrf_token": token, "purpose": "marketing", "channel": "email"}
    for headers, words in ((ES, "se excluyó (opted_out): 1"), ({}, "opted out (opted_out): 1")):
        answer = client.post("/console/scrub", data=form, files=files, headers=headers)
        assert answer.headers["content-type"] == "application/zip", answer.text[-500:]
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            summary = archive.read("summary.txt").decode()
            blocked = archive.read("blocked.csv").decode()
        assert words in summary, summary
        assert re.search(r",opted_out(\s|,|$)", blocked), blocked
    assert summary.startswith("Purpose: marketing; channel: email")
    assert "Bloqueados: 1" not in summary
    bad = {"campaign": ("bad.csv", b"name\nx\n", "text/csv")}
    refused = client.post("/console/scrub", data=form, files=bad, headers=ES)
    assert refused.status_code == 422
    assert "La primera línea del archivo necesita una columna" in refused.text
    assert english_left(refused.text, console=True) == []
    latin1 = {"campaign": ("l1.csv", "email\nJos\xe9@example.com\n".encode("latin-1"), "text/csv")}
    refused = client.post("/console/scrub", data=form, files=latin1, headers=ES)
    assert refused.status_code == 422 and "no es UTF-8" in refused.text
    assert english_left(refused.text, console=True) == []
    page = client.get("/console/scrub", headers=ES).text
    assert _csrf(page)


# --- Every reason code the domain can emit has Spanish words --------------------------------


def _spanish_catalog() -> dict[str, str]:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and isinstance(m.string, str)}


def _domain_codes() -> dict[str, set[str]]:
    """Each group of console words and the codes the domain defines for it, read from the
    domain's own enums and tuples."""
    from honorbound.consent.decisions import REASONS
    from honorbound.intents.models import ReviewReason
    from honorbound.retention.rules import Unenforced
    from honorbound.rights.messages import DENIAL_REASONS
    from honorbound.rights.models import DenialBasis
    from honorbound.systems.scan import Unreached

    return {
        "decision_reason": set(REASONS),
        "unenforced": {c.value for c in Unenforced},
        "review_reason": {c.value for c in ReviewReason},
        "basis": {c.value for c in DenialBasis} | set(DENIAL_REASONS),
        "unreached": {c.value for c in Unreached},
        "disclosure_basis": {c.value for c in Basis},
    }


def test_every_reason_code_the_domain_emits_has_spanish_words() -> None:
    from honorbound.web.console.words import WORDS, say

    catalog = _spanish_catalog()
    for group, codes in _domain_codes().items():
        assert codes, group
        words = WORDS[group]
        assert set(words) == codes, (group, codes ^ set(words))
        for code in sorted(codes):
            english = words[code]
            spanish = catalog.get(english, "")
            assert spanish and spanish != english, (group, code, english)
            assert say("es", group, code) == spanish, (group, code)
            assert say("en", group, code) == english


def test_the_reason_codes_reach_the_spanish_pages_in_words() -> None:
    """Through the templates' own path (`say` in the page's language), not the catalog read
    above: a code shown as written would leave its underscores."""
    from honorbound.web.console.words import say

    for group, codes in _domain_codes().items():
        for code in codes:
            shown = say("es", group, code)
            assert "_" not in shown and shown != code.replace("_", " "), (group, code, shown)
