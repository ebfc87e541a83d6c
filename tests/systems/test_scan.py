"""Notice drift: a scan samples the real CRM and files and reports what the map and the notice
do not say; the report holds no sampled value; a proposed map comes out for review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Tenant
from tests.support.people import remember
from tests.systems.conftest import CRM_MAP, FILES_MAP, Crm, connect

from honorbound.runtime import Runtime
from honorbound.systems import registry
from honorbound.systems.check import check_text, errors
from honorbound.systems.jobs import context
from honorbound.systems.scan import propose, public_report, scan

CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009"]


def _drift(crm: Crm) -> None:
    crm.rows("CREATE TABLE callbacks (id INTEGER PRIMARY KEY, caller_phone TEXT, card TEXT)")
    for i, c in enumerate(crm.people):
        crm.rows(
            "INSERT INTO callbacks (caller_phone, card) VALUES (:p, :card)",
            p=c.phone,
            card=CARDS[i % len(CARDS)],
        )
    crm.rows("ALTER TABLE customers ADD COLUMN backup_email TEXT")
    crm.rows("UPDATE customers SET backup_email = email")


LEADS = """\
dataset:
  - fides_key: leads
    name: Lead lists
    meta:
      honorbound:
        connection: {type: sql, url_env: TEST_CRM_URL}
    collections:
      - name: leads
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
"""


def test_scan_reports_drift_without_values(
    rt: Runtime, org: Tenant, api: TestClient, crm: Crm, files: Path
) -> None:
    remember(*CARDS)
    _drift(crm)
    crm.rows("CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT)")
    connect(rt, org, CRM_MAP, FILES_MAP, LEADS)
    with rt.db.session() as session:
        report = public_report(scan(session, context(rt), org.id, sample_rows=50))
    undeclared = {
        (u["system"], u["collection"], u["field"]): u for u in report["undeclared_fields"]
    }
    assert ("crm", "callbacks", "caller_phone") in undeclared
    assert undeclared[("crm", "callbacks", "caller_phone")]["table_mapped"] is False
    assert undeclared[("crm", "customers", "backup_email")]["categories"] == ["user.contact.email"]
    card = undeclared[("crm", "callbacks", "card")]
    assert card["categories"] == ["user.financial.credit_card"] and card["values_with_it"] == 6
    not_in_notice = {c["category"]: c["where"] for c in report["categories_not_in_notice"]}
    assert "crm.callbacks.card" in not_in_notice["user.financial.credit_card"]
    # The CRM's one person last active seven years ago is past the notice's six years.
    older = [o for o in report["older_than_retention"] if o["collection"] == "customers"]
    assert older and older[0]["rows_older"] == 1 and older[0]["period"] == "P6Y"
    nothing = [i for i in report["identities_reaching_nothing"] if i["system"] == "leads"]
    assert nothing and nothing[0]["reason"] == "the table is empty"
    # Declared fields holding what they declare are not reported.
    assert ("crm", "customers", "email") not in undeclared
    text = json.dumps(report)
    for c in crm.people:
        assert c.email not in text and c.phone not in text and c.street not in text
    for value in CARDS:
        assert value not in text
    # The console API serves the stored report.
    stored = api.get("/v1/systems/scan", headers=org.headers()).json()
    assert stored["undeclared_fields"] == report["undeclared_fields"]


def test_a_proposed_map_covers_the_unmapped_table_and_checks(
    rt: Runtime, org: Tenant, crm: Crm
) -> None:
    _drift(crm)
    connect(rt, org, CRM_MAP)
    with rt.db.session() as session:
        report = public_report(scan(session, context(rt), org.id, store_report=False))
        maps = registry.connected(session, org.id)
    proposed = propose(report, maps)
    assert errors(check_text(proposed, "proposed.yaml")) == []
    text = proposed
    assert "name: callbacks" in text and "identity: phone" in text
    assert "user.financial.credit_card" in text and "backup_email" in text


def test_a_system_that_cannot_be_reached_is_reported_not_fatal(
    rt: Runtime, org: Tenant, crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(rt, org, CRM_MAP)
    monkeypatch.setenv("TEST_CRM_URL", "sqlite:////nonexistent/dir/crm.db")
    with rt.db.session() as session:
        report = public_report(scan(session, context(rt), org.id, store_report=False))
    assert report["errors"][0]["system"] == "crm"
    assert (
        "system 'crm'" in report["errors"][0]["error"]
        and "cannot connect" in report["errors"][0]["error"]
    )


def test_the_console_page_shows_the_findings(
    rt: Runtime, org: Tenant, api: TestClient, crm: Crm
) -> None:
    import re

    from tests.web.conftest import add_staff

    from honorbound.accounts.roles import Role

    _drift(crm)
    connect(rt, org, CRM_MAP)
    with rt.db.session() as session:
        scan(session, context(rt), org.id, sample_rows=50)
    login = add_staff(rt, org, "auditor-1", Role.AUDITOR)
    page = api.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    api.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token.group(1)},
    )
    html = api.get("/console/systems").text
    assert "Connected systems" in html and "<code>crm</code>" in html
    assert "callbacks (not in the map)" in html and "user.financial.credit_card" in html
    assert 'aria-current="page">Systems' in html
    for c in crm.people:
        assert c.email not in html and c.phone not in html
    login_agent = add_staff(rt, org, "agent-1", Role.AGENT)
    with TestClient(api.app) as other:
        page = other.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        other.post(
            "/login",
            data={
                "username": login_agent.username,
                "password": login_agent.password,
                "csrf_token": token.group(1),
            },
        )
        assert other.get("/console/systems").status_code == 403


def test_the_console_page_in_spanish_words_the_findings(
    rt: Runtime, org: Tenant, api: TestClient, crm: Crm
) -> None:
    """The systems page in Spanish against the independent oracle (its English twin trips
    it), and the scan's reasons in words from their codes, not the English sentences."""
    import re

    from tests.web.conftest import add_staff
    from tests.web.spanish_oracle import english_left

    from honorbound.accounts.roles import Role

    _drift(crm)
    crm.rows("CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT)")
    connect(rt, org, CRM_MAP, LEADS)
    with rt.db.session() as session:
        report = scan(session, context(rt), org.id, sample_rows=50)
    assert {i["code"] for i in report["identities_reaching_nothing"]} >= {"empty_table"}
    login = add_staff(rt, org, "auditor-es", Role.AUDITOR)
    token = re.search(r'name="csrf_token" value="([^"]+)"', api.get("/login").text)
    assert token
    api.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token.group(1)},
    )
    spanish = api.get("/console/systems", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    assert english_left(spanish.text, console=True) == []
    assert "Sistemas conectados" in spanish.text and "la tabla está vacía" in spanish.text
    assert "the table is empty" not in spanish.text
    english = api.get("/console/systems").text
    assert "the table is empty" in english
    assert english_left(english.replace('<html lang="en"', '<html lang="es"'), console=True)
