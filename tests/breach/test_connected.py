"""People found in connected systems: a SQL system (a SQLite file, a real database) is
searched by category and its people matched to the vault by identity; files and manual
systems are reported as not searched, with why. The oracle is the rows the test wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from faker import Faker
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant
from tests.systems.conftest import connect

CRM = """\
dataset:
  - fides_key: crm
    name: CRM
    meta:
      honorbound:
        connection: {type: sql, url_env: BREACH_CRM_URL}
    collections:
      - name: customers
        fields:
          - {name: id, fides_meta: {primary_key: true}}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: plan, data_categories: [system.operations]}
"""
FILES = """\
dataset:
  - fides_key: exports
    name: Exports
    meta:
      honorbound:
        connection: {type: files, url_env: BREACH_FILES_URL}
        collections:
          people: {path: "people/*.jsonl", format: jsonl}
    collections:
      - name: people
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
"""
PAPER = """\
dataset:
  - fides_key: paper
    name: Paper archive
    meta:
      honorbound:
        connection: {type: manual, owner: Records desk, deadline_days: 7}
    collections:
      - name: forms
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
"""


def test_people_in_a_connected_sql_system_are_selected(
    rt: Runtime, org: Tenant, api: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Faker()
    in_crm = [resident(rt, org.id, "NY"), resident(rt, org.id, "TX")]
    resident(rt, org.id, "CA")  # in the vault, not in the CRM: not selected
    stranger = f"{fake.user_name()}.{fake.random_int(1000, 9999)}@example.org"
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, plan TEXT)")
        rows = [(p.email.upper() if p.email else None, "gold") for p in in_crm]  # case differs
        rows += [(stranger, "basic"), (None, "basic")]
        conn.executemany("INSERT INTO customers (email, plan) VALUES (?, ?)", rows)
    (tmp_path / "files" / "people").mkdir(parents=True)
    monkeypatch.setenv("BREACH_CRM_URL", f"sqlite:///{db}")
    monkeypatch.setenv("BREACH_FILES_URL", f"file://{tmp_path / 'files'}")
    connect(rt, org, CRM, FILES, PAPER)

    h = org.headers(Role.PRIVACY_OFFICER)
    iid = api.post(
        "/v1/breach/incidents", headers=h,
        json={"title": "CRM database copied", "discovered_at": "2026-11-02T15:00:00Z",
              "owner": "Privacy Office", "categories": ["user.contact"]},
    ).json()["id"]  # fmt: skip

    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "connected_systems": ["nope"]},
    )  # fmt: skip
    assert r.status_code == 422 and "'nope' is not a connected system" in r.json()["detail"]

    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "connected_systems": ["crm", "exports", "paper"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    sel = r.json()
    assert sel["total"] == 2 and sel["by_state"] == {"NY": 1, "TX": 1}
    found = {x["system"]: x for x in sel["connected_search"]}
    assert found["crm"]["searched"] and found["crm"]["rows"] == 4
    assert found["crm"]["in_vault"] == 2 and found["crm"]["not_in_vault"] == 1
    assert not found["exports"]["searched"] and "file" in found["exports"]["reason"]
    assert not found["paper"]["searched"] and "manual" in found["paper"]["reason"]

    text = api.get(f"/v1/breach/incidents/{iid}/report?format=text", headers=h).text
    assert "exports (files): NOT SEARCHED" in text and "paper (manual): NOT SEARCHED" in text
    assert "crm (sql): 4 row(s) read, 2 people selected" in text
    assert stranger not in text

    # A vault source and a connected system together: the union of both.
    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "systems": ["web_form"],
              "connected_systems": ["crm"]},
    )  # fmt: skip
    assert r.json()["total"] == 3

    # Nobody in the systems that could be searched: a 422 naming those that were not.
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM customers")
    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "connected_systems": ["crm", "paper"]},
    )  # fmt: skip
    assert r.status_code == 422
    assert "matches nobody" in r.json()["detail"] and "paper" in r.json()["detail"]
