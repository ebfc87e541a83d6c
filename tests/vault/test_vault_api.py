"""The collection API through the real ASGI app, a real database and the adopted example
declaration (Contact Center 1: subject types `user` and `website-visitor`, minimum age 16,
sensitive categories that need opt-in consent)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.api.routes.vault import RevealIn
from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.jobs.models import Job
from honorbound.runtime import Runtime
from honorbound.vault import erasure, screening
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import (
    AccessLogEntry,
    IdempotencyKey,
    Identity,
    Interaction,
    Record,
    Subject,
)
from honorbound.vault.reading import REVEALABLE
from honorbound.vault.sealing import open_text
from tests.conftest import Tenant
from tests.support.people import Person, person, remember

NOW = "2026-11-20T10:00:00+00:00"


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as s:
        return {
            model.__name__: int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Subject, Identity, Record, Interaction, AccessLogEntry, IdempotencyKey)
        }


def _new_subject(
    client: TestClient, tenant: Tenant, who: Person | None = None, **extra: Any
) -> tuple[int, Person]:
    who = who or person()
    body = {
        "type": "user",
        "identities": [
            {"kind": "email", "value": who.email},
            {"kind": "phone", "value": who.phone},
        ],
        **extra,
    }
    response = client.post("/v1/subjects", json=body, headers=tenant.headers(Role.AGENT))
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), who


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    return data


def test_upsert_lookup_and_masked_read(
    client: TestClient, tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant, jurisdiction="CO", age=40)
    # The same person again, email in capitals: the same subject, 200 not 201.
    again = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": who.email.upper()}]},
        headers=tenant.headers(Role.CLIENT),
    )
    assert again.status_code == 200 and again.json()["id"] == sid
    assert again.json()["created"] is False
    for kind, value in (("email", who.email), ("phone", who.phone)):
        found = client.post(
            "/v1/subjects/lookup",
            json={"kind": kind, "value": value},
            headers=tenant.headers(Role.AGENT),
        )
        assert found.status_code == 200 and found.json() == {"subject_id": sid}
    unknown = client.post(
        "/v1/subjects/lookup",
        json={"kind": "email", "value": person().email},
        headers=tenant.headers(Role.AGENT),
    )
    _problem(unknown, 404)
    view = client.get(f"/v1/subjects/{sid}", headers=tenant.headers(Role.AGENT))
    assert view.status_code == 200
    data = view.json()
    assert data["type"] == "user" and data["jurisdiction"] == "CO" and data["status"] == "active"
    masked = {i["kind"]: i["masked"] for i in data["identities"]}
    assert masked["email"] == f"{who.email[0]}***@{who.email.split('@')[1]}"
    assert masked["phone"] == "\u2022\u2022\u2022\u2022" + who.phone[-4:]
    assert who.email not in view.text and who.phone not in view.text


def test_no_adopted_notice_means_nothing_is_collected(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    who = person()
    response = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": who.email}]},
        headers=tenant.headers(Role.AGENT),
    )
    assert _problem(response, 409)["rule"] == "no_policy"
    assert _counts(runtime)["Subject"] == 0


def test_record_rules_are_refused_with_the_rule_named(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant, jurisdiction="CO")
    url = f"/v1/subjects/{sid}/records"
    headers = tenant.headers(Role.AGENT)
    base = {"value": "Type 2 diabetes", "source": "call"}
    remember("Type 2 diabetes")
    before = _counts(runtime)
    cases = [
        # Not in the notice at all.
        (
            {"category": "user.financial.credit_card", "purposes": ["support"]},
            "category_not_declared",
            "body.category",
        ),
        # Declared category, purpose not declared for it.
        (
            {"category": "user.device", "purposes": ["marketing-email"]},
            "purpose_not_declared",
            "body.purposes[0]",
        ),
        # Declared for another subject type only? user.contact is declared for `user`; the
        # purpose list is checked in order, the first bad one is named.
        (
            {"category": "user.contact.email", "purposes": ["support", "analytics"]},
            "purpose_not_declared",
            "body.purposes[1]",
        ),
        # The notice says this purpose needs opt-in consent.
        (
            {"category": "user.health_and_medical", "purposes": ["sensitive-services"]},
            "purpose_requires_opt_in",
            "body.consent",
        ),
        # Sensitive data, subject in Colorado (opt-in state), no consent.
        (
            {"category": "user.health_and_medical", "purposes": ["support"]},
            "sensitive_requires_opt_in",
            "body.consent",
        ),
        (
            {
                "category": "user.health_and_medical",
                "purposes": ["support"],
                "consent": {"opt_in": False},
            },
            "sensitive_requires_opt_in",
            "body.consent",
        ),
    ]
    for extra, rule, field in cases:
        problem = _problem(client.post(url, json={**base, **extra}, headers=headers), 422)
        assert problem["rule"] == rule, (extra, problem)
        assert problem["errors"][0]["field"] == field
        assert "Type 2 diabetes" not in json.dumps(problem)
    assert _counts(runtime) == before
    consented = client.post(
        url,
        json={
            **base,
            "category": "user.health_and_medical",
            "purposes": ["support", "sensitive-services"],
            "consent": {"opt_in": True, "evidence": {"method": "ivr", "recording": "rec-1"}},
        },
        headers=headers,
    )
    assert consented.status_code == 201, consented.text
    assert consented.json()["policy_version_id"] == adopted_policy.version_id  # type: ignore[attr-defined]
    # A declared category under an ancestor (`user.contact` covers `user.contact.email`).
    email = client.post(
        url,
        json={
            "category": "user.contact.email",
            "value": who.email,
            "purposes": ["support"],
            "source": "web",
        },
        headers=headers,
    )
    assert email.status_code == 201, email.text
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 2


def test_minimum_age_refuses_and_schedules_erasure_of_what_is_held(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    child = person()
    before = _counts(runtime)
    response = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": child.email}], "age": 12},
        headers=tenant.headers(Role.AGENT),
    )
    problem = _problem(response, 422)
    assert problem["rule"] == "minimum_age" and problem["errors"][0]["field"] == "body.age"
    assert _counts(runtime) == before
    # Known first without an age; later the age turns out to be under 16.
    sid, who = _new_subject(client, tenant)
    later = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "identities": [{"kind": "email", "value": who.email}],
            "birth_date": (dt.date.today() - dt.timedelta(days=365 * 14)).isoformat(),
        },
        headers=tenant.headers(Role.AGENT),
    )
    problem = _problem(later, 422)
    assert problem["rule"] == "minimum_age" and problem["errors"][0]["field"] == "body.birth_date"
    assert "scheduled for erasure" in problem["detail"]
    with runtime.db.session() as s:  # the erase job ran after commit (immediate jobs in tests)
        subject = s.get(Subject, sid)
        assert subject is not None and subject.status == "erased"
        assert s.scalar(select(func.count()).select_from(Identity)) == 0
        actions = list(
            s.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.object_type == "subject", AuditEntry.object_id == str(sid)
                )
            )
        )
        assert "subject.erasure_scheduled" in actions and "subject.erased" in actions
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def test_interaction_text_is_screened_before_it_is_stored(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant)
    card, code = "4111 1111 1111 1111", "737"
    remember(card, "4111111111111111")
    text = (
        f"Customer wants to pay by card {card}, expiry 12/29, and the CVV is {code}. "
        "Agent note: confirm by email tomorrow."
    )
    url = f"/v1/subjects/{sid}/interactions"
    response = client.post(
        url,
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": NOW,
            "agent": "agent-7",
            "text": text,
            "tags": ["billing"],
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["findings"]["CREDIT_CARD"] == 1 and out["findings"]["CVV"] == 1
    # The notice does not list card numbers: no original is kept.
    assert out["original_kept"] is False
    with runtime.db.session() as s:
        row = s.get(Interaction, out["id"])
        subject = s.get(Subject, sid)
        assert row is not None and subject is not None and row.original_sealed is None
        raw = row.body_sealed or b""
        assert b"4111" not in raw and b"737" not in raw  # sealed, not clear
        body = open_text(
            runtime.vault_keys.data_key(tenant.id, subject.key_id),
            tenant.id,
            subject.key_id,
            "interaction:body",
            raw,
        )
    assert card not in body and "4111111111111111" not in body and f"is {code}" not in body
    assert "[CREDIT_CARD]" in body and "[CVV]" in body
    # What agents read is the screened text.
    view = client.get(f"/v1/subjects/{sid}", headers=tenant.headers(Role.AGENT)).json()
    assert view["interactions"][0]["body"] == body
    # The data database file itself never holds the card number in clear.
    if runtime.settings.resolved_database_url.startswith("sqlite"):
        path = runtime.settings.resolved_database_url.removeprefix("sqlite:///")
        runtime.db.dispose()
        data = Path(path).read_bytes()
        assert b"4111111111111111" not in data and card.encode() not in data
    # Text that holds only declared kinds of value (an email: `user.contact`) keeps its
    # original, encrypted, for the privacy officer.
    remember(who.email)
    kept = client.post(
        url,
        json={
            "channel": "email",
            "direction": "inbound",
            "started_at": NOW,
            "text": f"Please write to me at {who.email} instead.",
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert kept.status_code == 201, kept.text
    if screening._detect_scan() is not None:  # the built-in fallback finds cards and codes only
        assert kept.json()["findings"] == {"EMAIL_ADDRESS": 1}
        assert kept.json()["original_kept"] is True
        with runtime.db.session() as s:
            row = s.get(Interaction, kept.json()["id"])
            assert row is not None and row.original_sealed is not None
            assert who.email.encode() not in row.original_sealed
    # Call transcripts are a category this notice does not list.
    call = client.post(
        url,
        json={"channel": "call", "direction": "inbound", "started_at": NOW, "text": "hello"},
        headers=tenant.headers(Role.AGENT),
    )
    problem = _problem(call, 422)
    assert problem["rule"] == "category_not_declared"
    assert problem["errors"][0]["field"] == "body.text"
    # A call without text (recording reference only) is fine: recordings are declared.
    recorded = client.post(
        url,
        json={
            "channel": "call",
            "direction": "outbound",
            "started_at": NOW,
            "ended_at": "2026-11-20T10:05:00+00:00",
            "recording": {"uri": "s3://recordings/2026/11/20/abc.wav", "sha256": "ab" * 32},
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert recorded.status_code == 201, recorded.text


def test_reveal_needs_privacy_officer_and_reason_and_is_logged(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant)
    record = client.post(
        f"/v1/subjects/{sid}/records",
        json={
            "category": "user.contact.email",
            "value": who.email,
            "purposes": ["support"],
            "source": "web",
        },
        headers=tenant.headers(Role.AGENT),
    ).json()
    body = {"object_type": "record", "object_id": record["id"], "reason": "billing dispute #12"}
    url = f"/v1/subjects/{sid}/reveal"
    for role in (Role.AGENT, Role.ADMIN, Role.CLIENT, Role.AUDITOR):
        _problem(client.post(url, json=body, headers=tenant.headers(role)), 403)
    no_reason = client.post(
        url,
        json={"object_type": "record", "object_id": record["id"]},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    assert _problem(no_reason, 422)["errors"][0]["field"] == "body.reason"
    bad_type = client.post(
        url, json={**body, "object_type": "subject"}, headers=tenant.headers(Role.PRIVACY_OFFICER)
    )
    assert _problem(bad_type, 422)["errors"][0]["field"] == "body.object_type"
    assert set(get_args(RevealIn.model_fields["object_type"].annotation)) == set(REVEALABLE)
    missing = client.post(
        url,
        json={**body, "object_id": record["id"] + 100},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    _problem(missing, 404)
    assert _counts(runtime)["AccessLogEntry"] == 0
    shown = client.post(url, json=body, headers=tenant.headers(Role.PRIVACY_OFFICER))
    assert shown.status_code == 200 and shown.json()["value"] == who.email
    log = client.get(f"/v1/subjects/{sid}/access-log", headers=tenant.headers(Role.AUDITOR))
    assert log.status_code == 200
    assert [(e["role"], e["reason"], e["object_id"]) for e in log.json()] == [
        ("privacy_officer", "billing dispute #12", record["id"])
    ]
    _problem(client.get(f"/v1/subjects/{sid}/access-log", headers=tenant.headers(Role.AGENT)), 403)
    # The masked view shows the record, masked.
    view = client.get(f"/v1/subjects/{sid}", headers=tenant.headers(Role.AGENT)).json()
    assert view["records"][0]["masked"] == f"{who.email[0]}***@{who.email.split('@')[1]}"


def test_idempotency_key_makes_retries_safe(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    who = person()
    body = {"type": "user", "identities": [{"kind": "email", "value": who.email}]}
    headers = {**tenant.headers(Role.AGENT), "Idempotency-Key": "req-1"}
    first = client.post("/v1/subjects", json=body, headers=headers)
    assert first.status_code == 201
    retry = client.post("/v1/subjects", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    sid = first.json()["id"]
    interaction = {"channel": "chat", "direction": "inbound", "started_at": NOW, "text": "hi"}
    key = {**tenant.headers(Role.AGENT), "Idempotency-Key": "chat-1"}
    one = client.post(f"/v1/subjects/{sid}/interactions", json=interaction, headers=key)
    two = client.post(f"/v1/subjects/{sid}/interactions", json=interaction, headers=key)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert _counts(runtime)["Interaction"] == 1
    # The same key for another body is refused, naming the header; nothing written.
    before = _counts(runtime)
    other = client.post(
        f"/v1/subjects/{sid}/interactions", json={**interaction, "text": "bye"}, headers=key
    )
    assert _problem(other, 422)["errors"][0]["field"] == "header.Idempotency-Key"
    assert _counts(runtime) == before
    # Keys are per organization: no leak of answers across tenants.
    with runtime.db.session() as s:
        rows = list(s.scalars(select(IdempotencyKey)))
        assert {r.organization_id for r in rows} == {tenant.id}
        assert all(who.email not in json.dumps(r.response) for r in rows)


def test_bad_input_is_refused_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid, _ = _new_subject(client, tenant)
    headers = tenant.headers(Role.AGENT)
    before = _counts(runtime)
    who = person()
    good = {"kind": "email", "value": who.email}
    bad_email = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "identities": [good, {"kind": "email", "value": "no-at-sign.example"}],
        },
        headers=headers,
    )
    assert _problem(bad_email, 422)["errors"][0]["field"] == "body.identities[1].value"
    bad_phone = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "phone", "value": "+1 555 12"}, good]},
        headers=headers,
    )
    problem = _problem(bad_phone, 422)
    assert problem["errors"][0]["field"] == "body.identities[0].value"
    assert "+1 555 12" not in json.dumps(problem)
    bad_kind = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "passport", "value": "X1"}]},
        headers=headers,
    )
    assert _problem(bad_kind, 422)["errors"][0]["field"] == "body.identities[0].kind"
    unknown_field = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [good], "ssn": "078-05-1120"},
        headers=headers,
    )
    assert _problem(unknown_field, 422)["errors"][0]["field"] == "body.ssn"
    nested_unknown = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={"channel": "chat", "direction": "inbound", "started_at": NOW, "bodyy": "x"},
        headers=headers,
    )
    assert _problem(nested_unknown, 422)["errors"][0]["field"] == "body.bodyy"
    naive_time = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={"channel": "chat", "direction": "inbound", "started_at": "2026-11-20T10:00:00"},
        headers=headers,
    )
    assert _problem(naive_time, 422)["errors"][0]["field"] == "body.started_at"
    backwards = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": NOW,
            "ended_at": "2026-11-20T09:00:00+00:00",
        },
        headers=headers,
    )
    assert _problem(backwards, 422)["errors"][0]["field"] == "body.ended_at"
    too_big = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": NOW,
            "text": "a" * (runtime.settings.max_body_bytes + 10),
        },
        headers=headers,
    )
    _problem(too_big, 413)
    not_utf8 = client.post(
        f"/v1/subjects/{sid}/interactions",
        content=b'{"channel": "chat", "direction": "inbound", "started_at": "'
        + NOW.encode()
        + b'", "text": "caf\xe9"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    _problem(not_utf8, 400)
    not_json = client.post(
        "/v1/subjects",
        content=b'{"type": "user", "identities": [',
        headers={**headers, "Content-Type": "application/json"},
    )
    _problem(not_json, 400)
    huge_id = client.get("/v1/subjects/99999999999", headers=headers)
    assert _problem(huge_id, 422)["errors"][0]["field"] == "path.subject_id"
    assert _counts(runtime) == before


def test_conflicting_identities_then_merge(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    a, pa = _new_subject(client, tenant)
    b, pb = _new_subject(client, tenant)
    client.post(
        f"/v1/subjects/{b}/interactions",
        json={"channel": "sms", "direction": "inbound", "started_at": NOW, "text": "STOP?"},
        headers=tenant.headers(Role.AGENT),
    )
    both = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "identities": [
                {"kind": "email", "value": pa.email},
                {"kind": "phone", "value": pb.phone},
            ],
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert _problem(both, 409)["subject_ids"] == sorted([a, b])
    merge = {"into_subject_id": a, "from_subject_id": b}
    _problem(client.post("/v1/subjects/merge", json=merge, headers=tenant.headers(Role.AGENT)), 403)
    same = client.post(
        "/v1/subjects/merge",
        json={"into_subject_id": a, "from_subject_id": a},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    assert _problem(same, 422)["errors"][0]["field"] == "body.from_subject_id"
    merged = client.post(
        "/v1/subjects/merge", json=merge, headers=tenant.headers(Role.PRIVACY_OFFICER)
    )
    assert merged.status_code == 200 and merged.json() == {"subject_id": a, "merged_subject_id": b}
    found = client.post(
        "/v1/subjects/lookup",
        json={"kind": "phone", "value": pb.phone},
        headers=tenant.headers(Role.AGENT),
    )
    assert found.json() == {"subject_id": a}
    view = client.get(f"/v1/subjects/{a}", headers=tenant.headers(Role.AGENT)).json()
    assert len(view["identities"]) == 4 and len(view["interactions"]) == 1
    _problem(client.get(f"/v1/subjects/{b}", headers=tenant.headers(Role.AGENT)), 404)
    with runtime.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "subject.merged"))
        assert entry is not None and entry.details["merged_subject_id"] == b


def test_another_organization_sees_nothing(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant)
    for method, path, body in (
        ("GET", f"/v1/subjects/{sid}", None),
        (
            "POST",
            f"/v1/subjects/{sid}/records",
            {"category": "user.device", "value": "x", "purposes": ["support"], "source": "web"},
        ),
        (
            "POST",
            f"/v1/subjects/{sid}/reveal",
            {"object_type": "identity", "object_id": 1, "reason": "look"},
        ),
    ):
        response = client.request(
            method, path, json=body, headers=other_tenant.headers(Role.PRIVACY_OFFICER)
        )
        _problem(response, 404)
    lookup = client.post(
        "/v1/subjects/lookup",
        json={"kind": "email", "value": who.email},
        headers=other_tenant.headers(Role.AGENT),
    )
    _problem(lookup, 404)
    merge = client.post(
        "/v1/subjects/merge",
        json={"into_subject_id": sid, "from_subject_id": sid + 1},
        headers=other_tenant.headers(Role.PRIVACY_OFFICER),
    )
    _problem(merge, 404)


def test_copy_of_the_data_database_file_is_unreadable_after_erasure(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object, tmp_path: Path
) -> None:
    url = runtime.settings.resolved_database_url
    if not url.startswith("sqlite"):
        pytest.skip("copies the SQLite file; test_vault_domain covers the table copy on PostgreSQL")
    sid, who = _new_subject(client, tenant)
    keep, _ = _new_subject(client, tenant)
    for subject in (sid, keep):
        response = client.post(
            f"/v1/subjects/{subject}/records",
            json={
                "category": "user.contact.email",
                "value": who.email,
                "purposes": ["support"],
                "source": "web",
            },
            headers=tenant.headers(Role.AGENT),
        )
        assert response.status_code == 201
    runtime.db.dispose()  # everything is on disk (no open connection holds a WAL)
    copy = tmp_path / "backup-before-erasure.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)

    def decrypt_copy(keys: KeyStore, subject_id: int) -> list[str]:
        conn = sqlite3.connect(copy)
        rows = conn.execute(
            "select s.key_id, r.category, r.value_sealed from vault_records r "
            "join vault_subjects s on s.id = r.subject_id where s.id = ?",
            (subject_id,),
        ).fetchall()
        conn.close()
        assert rows
        return [
            open_text(keys.data_key(tenant.id, key_id), tenant.id, key_id, f"record:{cat}", sealed)
            for key_id, cat, sealed in rows
        ]

    # The copy alone holds no key material: it decrypts only with the separate key store.
    conn = sqlite3.connect(copy)
    tables = {name for (name,) in conn.execute("select name from sqlite_master where type='table'")}
    conn.close()
    assert not tables & {"data_keys", "organization_keys"}
    before = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    assert decrypt_copy(before, sid) == [who.email]  # so the check below can fail
    before.close()
    with runtime.db.session() as s:
        erasure.erase_subject(
            s, runtime.vault_keys, tenant.id, sid, Actor.system(), "rights.delete"
        )
    after = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    with pytest.raises(KeyDestroyed):
        decrypt_copy(after, sid)
    assert decrypt_copy(after, keep) == [who.email]  # other subjects in the copy still open
    after.close()
    view = client.get(f"/v1/subjects/{sid}", headers=tenant.headers(Role.AGENT)).json()
    assert view["status"] == "erased" and view["identities"] == [] and view["records"] == []
    posted = client.post(
        f"/v1/subjects/{sid}/records",
        json={"category": "user.device", "value": "x", "purposes": ["support"], "source": "web"},
        headers=tenant.headers(Role.AGENT),
    )
    _problem(posted, 404)


def test_keys_rotate_command_rewraps_and_the_old_key_stops_working(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid, who = _new_subject(client, tenant)
    record = client.post(
        f"/v1/subjects/{sid}/records",
        json={
            "category": "user.contact.email",
            "value": who.email,
            "purposes": ["support"],
            "source": "web",
        },
        headers=tenant.headers(Role.AGENT),
    ).json()
    with runtime.db.session() as s:
        sealed_before = s.get(Record, record["id"]).value_sealed  # type: ignore[union-attr]
    # A copy of the key store as it was (an old backup of the keys).
    keystore_path = runtime.settings.resolved_keystore_url.removeprefix("sqlite:///")
    old_copy = Path(keystore_path).with_name("keys-backup.db")
    runtime.vault_keys.db.dispose()
    shutil.copy(keystore_path, old_copy)
    settings = runtime.settings
    env = {
        **os.environ,
        "HONORBOUND_DATA_DIR": str(settings.data_dir),
        "HONORBOUND_DATABASE_URL": settings.resolved_database_url,
        "HONORBOUND_KEYSTORE_URL": settings.resolved_keystore_url,
        "HONORBOUND_MASTER_KEY": settings.master_key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "honorbound", "keys", "rotate", "--org", tenant.slug],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "1 -> 2" in done.stdout and "1 data key(s) re-wrapped" in done.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "honorbound", "keys", "rotate", "--org", "no-such-org"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2 and "no-such-org" in unknown.stderr
    # The server keeps working (it re-reads the key store) and the data was not re-encrypted.
    shown = client.post(
        f"/v1/subjects/{sid}/reveal",
        json={"object_type": "record", "object_id": record["id"], "reason": "after rotation"},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )
    with runtime.db.session() as s:
        assert s.get(Record, record["id"]).value_sealed == sealed_before  # type: ignore[union-attr]
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "vault.keys_rotated")
            )
            == 1
        )
    fresh = KeyStore(settings.resolved_keystore_url, runtime.keys)
    with runtime.db.session() as s:
        subject = s.get(Subject, sid)
        assert subject is not None
        key_id = subject.key_id
    assert (
        open_text(
            fresh.data_key(tenant.id, key_id),
            tenant.id,
            key_id,
            "record:user.contact.email",
            sealed_before,
        )
        == who.email
    )
    fresh.close()
    assert shown.status_code == 200 and shown.json()["value"] == who.email
    # Data keys wrapped by the old organization key are useless with the current key store:
    # the old organization key no longer exists anywhere but in the old backup.
    old = sqlite3.connect(old_copy)
    (old_wrapped,) = old.execute(
        "select wrapped from data_keys where key_id = ?", (key_id,)
    ).fetchone()
    old.close()
    rotated = sqlite3.connect(keystore_path)
    versions = [v for (v,) in rotated.execute("select version from organization_keys")]
    (new_wrapped,) = rotated.execute(
        "select wrapped from data_keys where key_id = ?", (key_id,)
    ).fetchone()
    rotated.close()
    assert versions == [2] and new_wrapped != old_wrapped


def test_idempotency_keys_expire_after_a_day(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    from honorbound.vault import idempotency

    who = person()
    body = {"type": "user", "identities": [{"kind": "email", "value": who.email}]}
    headers = {**tenant.headers(Role.AGENT), "Idempotency-Key": "old-1"}
    assert client.post("/v1/subjects", json=body, headers=headers).status_code == 201
    with runtime.db.session() as s:
        row = s.scalars(select(IdempotencyKey)).one()
        row.created_at = row.created_at - idempotency.KEEP_FOR - dt.timedelta(minutes=1)
    with runtime.db.session() as s:  # the periodic job, queued and run after commit
        runtime.jobs.enqueue(s, idempotency.EXPIRE_JOB, {})
    assert _counts(runtime)["IdempotencyKey"] == 0
    with runtime.db.session() as s:
        job = s.scalars(select(Job).where(Job.name == idempotency.EXPIRE_JOB)).one()
        assert job.status == "done" and job.result == {"expired": 1}
    # The key is free again: a retry now is a new request (found, not created).
    again = client.post("/v1/subjects", json=body, headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
