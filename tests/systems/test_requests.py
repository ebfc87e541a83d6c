"""Rights requests carried out in every connected system, through the real API: a CRM (SQL),
exported files, a webhook system (the reference receiver on loopback) and a manual system.

Every outcome is read back with the systems' own tools (sqlite3, json, csv, pyarrow, the
receiver's database), not through the connectors under test."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Tenant
from tests.rights.conftest import link_in, mails_to, public
from tests.support.smtp import SmtpSink
from tests.systems.conftest import (
    ACTOR,
    CRM_MAP,
    FILES_MAP,
    HOOK_MAP,
    MANUAL_MAP,
    Crm,
    Customer,
    Hook,
    connect,
)

from honorbound.audit.chain import verify
from honorbound.consent.models import ConsentEvent
from honorbound.rights.models import RequestEvent, RightsRequest
from honorbound.runtime import Runtime
from honorbound.systems.models import RequestIdentities
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Subject
from honorbound.vault.rules import current_rules
from honorbound.vault.subjects import IdentityInput, upsert_subject

BIRTH = "1980-05-17"


def vault_person(rt: Runtime, org: Tenant, c: Customer) -> int:
    with rt.db.session() as session:
        rules = current_rules(session, org.id, rt.rules)
        assert rules is not None
        subject = upsert_subject(
            session,
            rt.vault_keys,
            org.id,
            [
                IdentityInput(IdentityKind.EMAIL, c.email),
                IdentityInput(IdentityKind.PHONE, c.phone),
            ],
            ACTOR,
            rules,
            subject_type="user",
            jurisdiction="CA",
            birth_date=dt.date.fromisoformat(BIRTH),
        ).subject
        return subject.id


def submit(api: TestClient, smtp: SmtpSink, org: Tenant, c: Customer, kind: str) -> None:
    answer = api.post(public(org), json={"type": kind, "jurisdiction": "CA", "email": c.email})
    assert answer.status_code == 202, answer.text
    text = str(mails_to(smtp, c.email)[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    match = re.search(r"/requests/verify\?token=(\S+)", text)
    assert match, text
    token = match.group(1)
    done = api.post(
        public(org, "/verify"),
        json={
            "token": token,
            "data_points": {"phone": c.phone, "birth_date": BIRTH},
            "declaration": {"typed_name": c.name, "agreed": True},
        },
    )
    assert done.status_code == 200 and done.json()["verified"] is True, done.text


def the_request(rt: Runtime, org: Tenant) -> tuple[RightsRequest, list[RequestEvent]]:
    with rt.db.session() as session:
        request = session.scalars(
            select(RightsRequest).where(RightsRequest.organization_id == org.id)
        ).one()
        events = list(
            session.scalars(
                select(RequestEvent)
                .where(RequestEvent.request_id == request.id)
                .order_by(RequestEvent.id)
            )
        )
        session.expunge_all()
    return request, events


def pseudonym(rt: Runtime, org: Tenant, value: str) -> str:
    """The HMAC pseudonym computed here, from the key ring's derived key and the standard
    library (the oracle for the `hmac` strategy)."""
    key = rt.keys.derived(f"org:{org.id}:systems-hmac")
    return "hb:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def test_deletion_reaches_every_system_and_waits_for_the_manual_one(
    api: TestClient,
    rt: Runtime,
    org: Tenant,
    smtp: SmtpSink,
    crm: Crm,
    files: Path,
    hook: Hook,
) -> None:
    c, other = crm.people[0], crm.people[1]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, FILES_MAP, HOOK_MAP, MANUAL_MAP)
    submit(api, smtp, org, c, "delete")

    request, events = the_request(rt, org)
    assert request.status == "partly_done", [e.kind for e in events]
    by_system = {e.details.get("system"): e for e in events if e.kind.startswith("system_")}
    assert by_system["crm"].kind == "system_erased"
    assert by_system["crm"].details["collections"]["orders"]["rows_deleted"] == 2
    assert by_system["crm"].details["collections"]["customers"]["fields"] == {
        "email": 1,
        "phone": 1,
        "full_name": 1,
        "note": 1,
    }
    assert by_system["exports"].kind == "system_erased"
    recordings = by_system["exports"].details["collections"]["recordings"]
    assert recordings["objects_deleted"] == 1 and recordings["versions_deleted"] == 1
    assert by_system["ticketing"].kind == "system_erased"
    (opened,) = [e for e in events if e.kind == "system_task_opened"]
    assert opened.details["system"] == "paper" and opened.details["owner"] == "Records desk"
    assert by_system["paper"].kind == "system_waiting"
    partly = [e for e in events if e.kind == "partly_done"]
    assert partly and partly[-1].details["waiting"] == ["paper"]
    # The vault copy is gone already; the request keeps what it needs to go on (sealed).
    with rt.db.session() as session:
        assert session.get(RequestIdentities, request.id) is not None
        assert session.get(Subject, request.subject_id).status == "erased"  # type: ignore[union-attr]

    # CRM, read with sqlite3: the person's rows erased field by field, orders deleted.
    (row,) = crm.rows("SELECT email, phone, full_name, note FROM customers WHERE id = :id", id=c.id)
    assert row == (None, pseudonym(rt, org, c.phone), "REDACTED", None)
    assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=c.id) == [(0,)]
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=other.id) == [(other.email,)]
    assert crm.rows("SELECT count(*) FROM orders WHERE customer_id = :id", id=other.id) == [(2,)]
    # Files, read with json, csv and pyarrow.
    tickets = [json.loads(x) for x in (files / "tickets" / "2026.jsonl").read_text().splitlines()]
    mine = [t for t in tickets if t["ticket"] == f"T{c.id}"]
    assert mine == [
        {"ticket": f"T{c.id}", "email": None, "text": None, "opened_at": mine[0]["opened_at"]}
    ]
    assert len(tickets) == len(crm.people)
    survey = list(csv.DictReader(io.StringIO((files / "survey.csv").read_text())))
    assert c.email not in {r["email"] for r in survey} and other.email in {
        r["email"] for r in survey
    }
    calls = pq.read_table(files / "calls.parquet").to_pylist()
    transcript = {r["customer_id"]: r["transcript"] for r in calls}
    assert transcript[c.id] == pseudonym(rt, org, f"my number is {c.phone}")
    assert transcript[other.id] == f"my number is {other.phone}"
    assert not (files / "recordings" / str(c.id) / "call-1.wav").exists()
    assert (files / "recordings" / str(other.id) / "call-1.wav").exists()
    # The webhook system's own database.
    assert hook.rows("SELECT email, body FROM tickets WHERE id = 1") == [(None, None)]
    assert hook.rows("SELECT email FROM tickets WHERE id = 2") == [(other.email,)]

    # The owner of the paper archive does the work and uploads the evidence.
    tasks = api.get("/v1/systems/tasks", headers=org.headers()).json()
    assert [(t["system"], t["owner"], t["action"]) for t in tasks] == [
        ("paper", "Records desk", "erasure")
    ]
    no_file = api.post(
        f"/v1/systems/tasks/{tasks[0]['id']}/evidence",
        headers=org.headers(),
        files={"evidence": ("x.txt", b"")},
    )
    assert no_file.status_code == 422 and "evidence" in no_file.json()["detail"]
    evidence = b"%PDF-1.4 shredding certificate no. 88"
    done = api.post(
        f"/v1/systems/tasks/{tasks[0]['id']}/evidence",
        headers=org.headers(),
        files={"evidence": ("shredded.pdf", evidence)},
        data={"note": "archive box 12 shredded"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["evidence_sha256"] == hashlib.sha256(evidence).hexdigest()

    request, events = the_request(rt, org)
    assert request.status == "completed", [e.kind for e in events]
    assert request.contact_sealed is None
    kinds = [e.kind for e in events]
    assert kinds.index("system_task_done") < kinds.index("completed")
    with rt.db.session() as session:
        assert session.get(RequestIdentities, request.id) is None
        assert verify(session, org.id).ok
    # No value in the timeline: only names and counts.
    timeline = json.dumps([e.details for e in events])
    for value in (c.email, c.phone, c.name, c.street):
        assert value not in timeline
    answer = mails_to(smtp, c.email, 2)[-1]
    assert "deleted" in str(answer.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _suppression_rows(rt: Runtime, org: Tenant) -> list[tuple[str, str]]:
    with rt.db.session() as session:
        return sorted(
            (e.identity_kind, e.identity_index)
            for e in session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.organization_id == org.id,
                    ConsentEvent.source == "rights_request",
                )
            )
        )


def test_a_failing_system_leaves_the_request_partly_done_until_a_retry_succeeds(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, crm: Crm, hook: Hook
) -> None:
    c = crm.people[2]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, HOOK_MAP)
    hook.receiver.fail_next = 100  # answers 503 to every attempt
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "partly_done"
    failed = [e for e in events if e.kind == "system_failed"]
    assert failed and failed[0].details["system"] == "ticketing"
    assert (
        "system 'ticketing', connection: answered HTTP 503 (3 attempt(s))"
        in failed[0].details["error"]
    )
    assert hook.receiver.calls == 3  # one try and two retries, with backoff
    retry_in = [e for e in events if e.kind == "partly_done"][0].details["retry_in_seconds"]
    assert retry_in == 300  # the next automatic attempt, in five minutes
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=c.id) == [(None,)]
    assert "completed" not in [e.kind for e in events]

    systems = api.get(f"/v1/systems/requests/{request.id}", headers=org.headers()).json()
    assert {(s["system"], s["status"]) for s in systems} == {
        ("crm", "done"),
        ("ticketing", "failed"),
    }

    suppressed = _suppression_rows(rt, org)
    assert suppressed  # written with the vault erasure, before the failing system
    hook.receiver.fail_next = 0
    retried = api.post(f"/v1/systems/requests/{request.id}/retry", headers=org.headers())
    assert retried.status_code == 202, retried.text
    request, events = the_request(rt, org)
    assert request.status == "completed", [e.kind for e in events]
    # The retry (vault already erased) suppresses the request's identities again: no new rows.
    assert _suppression_rows(rt, org) == suppressed
    assert hook.rows("SELECT email, body FROM tickets WHERE email IS NULL") == [(None, None)]
    systems = api.get(f"/v1/systems/requests/{request.id}", headers=org.headers()).json()
    attempts = {s["system"]: s["attempts"] for s in systems}
    assert attempts == {"crm": 1, "ticketing": 2}  # the CRM was not erased again
    again = api.post(f"/v1/systems/requests/{request.id}/retry", headers=org.headers())
    assert again.status_code == 409 and "not partly done" in again.json()["detail"]


def test_a_map_naming_a_missing_table_keeps_the_request_open_with_the_reason(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, crm: Crm
) -> None:
    c = crm.people[3]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP)
    crm.rows("ALTER TABLE orders RENAME TO orders_2019")
    submit(api, smtp, org, c, "delete")
    request, events = the_request(rt, org)
    assert request.status == "partly_done"
    (failed,) = [e for e in events if e.kind == "system_failed"]
    assert failed.details["error"] == (
        "system 'crm', collection 'orders': the map names table 'orders', which is not in the "
        f"database sqlite:///{crm.path}"
    )


def test_access_package_holds_every_system_per_field_with_the_category_name(
    api: TestClient,
    rt: Runtime,
    org: Tenant,
    smtp: SmtpSink,
    crm: Crm,
    files: Path,
    hook: Hook,
) -> None:
    c = crm.people[4]
    vault_person(rt, org, c)
    connect(rt, org, CRM_MAP, FILES_MAP, HOOK_MAP)
    submit(api, smtp, org, c, "access_specific")
    request, events = the_request(rt, org)
    assert request.status == "completed", [e.kind for e in events]
    ready = mails_to(smtp, c.email, 2)[1]
    package = api.get(public(org, "/download"), params={"token": link_in(ready, "download")})
    assert package.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    data = json.loads(archive.read("data.json"))
    systems = {s["system"]: s for s in data["systems"]}
    assert set(systems) == {"crm", "exports", "ticketing"}
    customers = next(x for x in systems["crm"]["collections"] if x["collection"] == "customers")
    assert customers["records"][0]["email"] == c.email
    labels = {f["field"]: f["label"] for f in customers["fields"]}
    assert labels["email"] == "Identifiers"  # the notice's own label for user.contact
    orders = next(x for x in systems["crm"]["collections"] if x["collection"] == "orders")
    assert orders["count"] == 2 and {r["ship_to"] for r in orders["records"]} == {c.street}
    export = {x["collection"]: x for x in systems["exports"]["collections"]}
    assert export["calls"]["records"] == [
        {"customer_id": c.id, "transcript": f"my number is {c.phone}", "minutes": 3}
    ]
    assert export["recordings"]["records"][0]["audio"] == f"recordings/{c.id}/call-1.wav"
    assert systems["ticketing"]["collections"][0]["records"][0]["body"] == f"please call {c.phone}"
    names = archive.namelist()
    assert "systems/crm/customers.csv" in names and "systems/ticketing/tickets.csv" in names
    assert c.email in archive.read("systems/crm/customers.csv").decode()
    summary = archive.read("summary.html").decode()
    assert "In our other systems" in summary and "CRM" in summary and "Identifiers" in summary
    # Nothing was changed by an access request.
    assert crm.rows("SELECT email FROM customers WHERE id = :id", id=c.id) == [(c.email,)]
