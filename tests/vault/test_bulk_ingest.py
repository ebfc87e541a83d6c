"""Bulk ingest (`POST /v1/interactions/bulk`, NDJSON): each line answered as the single
endpoint answers the same body, bad lines alone, in batches, and the CLI on top of it."""

from __future__ import annotations

import json
import random
from typing import Any

from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.collection import bulk as ingest
from honorbound.runtime import Runtime
from honorbound.vault.models import Interaction
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.people import person

SHA = "a" * 64


def _subject(client: TestClient, tenant: Tenant) -> int:
    who = person()
    response = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": who.email}]},
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def _bodies(fake: Faker, subjects: list[int], n: int) -> list[tuple[int, Any]]:
    """(subject id, body or raw text): good interactions and every kind of bad line."""
    rng = random.Random(22)
    out: list[tuple[int, Any]] = []
    for i in range(n):
        sid = subjects[i % len(subjects)]
        body: Any = {
            "channel": rng.choice(["chat", "call", "email", "sms"]),
            "direction": rng.choice(["inbound", "outbound"]),
            "started_at": "2026-11-20T10:00:00Z",
            "text": fake.paragraph(nb_sentences=rng.randint(1, 6)),
        }
        kind = i % 9
        if kind == 1:
            body["text"] += f" card {fake.credit_card_number(card_type='visa16')} cvv 123"
        elif kind == 2:
            body["ended_at"] = "2026-11-20T09:00:00Z"  # before started_at
        elif kind == 3:
            body["channel"] = "pigeon"
        elif kind == 4:
            del body["started_at"]
        elif kind == 5:
            body["colour"] = "red"
        elif kind == 6:
            body["recording"] = {"uri": "s3://calls/rec.wav", "sha256": SHA}
        elif kind == 7:
            sid = 2_000_000_000  # no such subject
        elif kind == 8 and i % 2:
            body = "{not json"
        out.append((sid, body))
    return out


def _single(client: TestClient, tenant: Tenant, sid: int, body: Any) -> dict[str, Any]:
    if isinstance(body, str):
        response = client.post(
            f"/v1/subjects/{sid}/interactions",
            content=body.encode(),
            headers={**tenant.headers(Role.AGENT), "Content-Type": "application/json"},
        )
    else:
        response = client.post(
            f"/v1/subjects/{sid}/interactions", json=body, headers=tenant.headers(Role.AGENT)
        )
    data = response.json()
    if response.status_code == 201:
        return {"status": 201, "findings": data["findings"], "kept": data["original_kept"]}
    return {
        "status": response.status_code,
        "title": data["title"],
        "detail": data.get("detail", ""),
        "errors": data.get("errors", []),
        "rule": data.get("rule"),
    }


def _normal(result: dict[str, Any]) -> dict[str, Any]:
    if result["status"] == 201:
        return {"status": 201, "findings": result["findings"], "kept": result["original_kept"]}

    def body(text: str) -> str:
        return text.replace("line.", "body.").replace("'line'", "'body'")

    return {
        "status": result["status"],
        "title": result["title"].replace("Line", "Request body"),
        "detail": body(result.get("detail", "")).replace(
            "The line could not", "The body could not"
        ),
        "errors": [
            {"field": body(e["field"]).replace("line", "body", 1), "message": e["message"]}
            for e in result.get("errors", [])
        ],
        "rule": result.get("rule"),
    }


def _post_bulk(client: TestClient, tenant: Tenant, lines: list[str]) -> list[dict[str, Any]]:
    response = client.post(
        "/v1/interactions/bulk",
        content="\n".join(lines).encode(),
        headers={**tenant.headers(Role.AGENT), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_bulk_results_are_those_of_the_single_endpoint_line_by_line(
    client: TestClient, runtime: Runtime, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ingest, "BATCH", 7)  # several batches, lines refused inside each
    fake = Faker("en_US")
    fake.seed_instance(2222)
    tenant = make_tenant(runtime, "bulk-a")
    adopt_example(runtime, tenant.id)
    subjects = [_subject(client, tenant) for _ in range(3)]
    bodies = _bodies(fake, subjects, 60)
    expected = [_single(client, tenant, sid, body) for sid, body in bodies]
    with runtime.db.session() as session:
        before = session.scalar(select(func.count()).select_from(Interaction))
    lines = [
        body if isinstance(body, str) else json.dumps({**body, "subject_id": sid})
        for sid, body in bodies
    ]
    results = _post_bulk(client, tenant, lines)
    assert [r["line"] for r in results] == list(range(1, len(lines) + 1))
    assert [_normal(r) for r in results] == expected
    stored = sum(1 for e in expected if e["status"] == 201)
    assert 0 < stored < len(lines)  # both kinds were generated
    with runtime.db.session() as session:
        after = session.scalar(select(func.count()).select_from(Interaction))
    assert after == before + stored  # exactly the accepted lines, refused ones rolled back
    assert all(r["id"] for r in results if r["status"] == 201)


def test_bulk_lines_name_their_subject_and_another_organization_is_not_found(
    client: TestClient, runtime: Runtime
) -> None:
    tenant, other = make_tenant(runtime, "bulk-b"), make_tenant(runtime, "bulk-c")
    adopt_example(runtime, tenant.id)
    adopt_example(runtime, other.id)
    theirs = _subject(client, other)
    body = {"channel": "chat", "direction": "inbound", "started_at": "2026-11-20T10:00:00Z"}
    results = _post_bulk(
        client,
        tenant,
        [json.dumps(body), "", json.dumps({**body, "subject_id": theirs}), "[1, 2]"],
    )
    assert [(r["line"], r["status"]) for r in results] == [(1, 422), (3, 404), (4, 422)]
    assert results[0]["errors"][0]["field"] == "line.subject_id"
    assert "personal" not in json.dumps(results)


def test_a_line_over_the_limit_is_refused_alone(client: TestClient, runtime: Runtime) -> None:
    tenant = make_tenant(runtime, "bulk-d")
    adopt_example(runtime, tenant.id)
    sid = _subject(client, tenant)
    body = {"subject_id": sid, "channel": "chat", "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    huge = json.dumps({**body, "text": "x" * (runtime.settings.max_body_bytes + 10)})
    results = _post_bulk(client, tenant, [json.dumps(body), huge, json.dumps(body)])
    assert [r["status"] for r in results] == [201, 413, 201]


def test_bulk_needs_the_collect_permission(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/interactions/bulk", content=b"{}\n", headers=tenant.headers(Role.AUDITOR)
    )
    assert response.status_code == 403


def test_lines_the_write_acts_on_are_answered_as_the_single_endpoint_answers(
    client: TestClient, runtime: Runtime, monkeypatch: Any
) -> None:
    """A request said in the text, or a birth date, takes the single endpoint's own write
    (acts, intents in the result) between lines stored in one statement: same answers."""
    monkeypatch.setattr(ingest, "BATCH", 5)
    fake = Faker("en_US")
    fake.seed_instance(2223)
    tenant = make_tenant(runtime, "bulk-e")
    adopt_example(runtime, tenant.id)
    subjects = [_subject(client, tenant) for _ in range(4)]
    said = ["Customer: please stop calling me", "Customer: delete my data",
            "Customer: I was born on May 3, 1990", "Customer: unsubscribe me"]  # fmt: skip
    bodies: list[tuple[int, Any]] = []
    for i in range(24):
        text = fake.paragraph(nb_sentences=2)
        if i % 3 == 1:
            text += " " + said[i % len(said)]
        channel = ["call", "chat", "email", "sms"][i % 4]
        body = {"channel": channel, "direction": "inbound", "text": text}
        bodies.append((subjects[i % 4], body | {"started_at": "2026-11-20T10:00:00Z"}))
    # The single endpoint on a twin organization (a repeat would act on nothing again).
    twin = make_tenant(runtime, "bulk-f")
    adopt_example(runtime, twin.id)
    twins = [_subject(client, twin) for _ in range(4)]
    expected = []
    for sid, body in bodies:
        response = client.post(f"/v1/subjects/{twins[subjects.index(sid)]}/interactions",
                               json=body, headers=twin.headers(Role.AGENT))  # fmt: skip
        data = response.json()
        expected.append((response.status_code, data.get("findings"), data.get("original_kept"),
                         [(x["kind"], x["status"]) for x in data.get("intents", [])]))  # fmt: skip
    lines = [json.dumps({**body, "subject_id": sid}) for sid, body in bodies]
    results = _post_bulk(client, tenant, lines)
    got = [(r["status"], r.get("findings"), r.get("original_kept"),
            [(x["kind"], x["status"]) for x in r.get("intents", [])]) for r in results]  # fmt: skip
    assert got == expected
    assert any(intents for *_, intents in got)  # the acting path was taken


def test_bulk_writes_one_audit_entry_per_interaction_on_an_intact_chain(
    client: TestClient, runtime: Runtime
) -> None:
    """Every stored line has its own `interaction.added` entry; the chain's bytes re-hash
    (spelled here, not with `audit.chain`) and link from genesis, refused lines leave none."""
    import datetime as dt
    import hashlib

    from honorbound.audit import AuditEntry

    fake = Faker("en_US")
    fake.seed_instance(2224)
    tenant = make_tenant(runtime, "bulk-g")
    adopt_example(runtime, tenant.id)
    subjects = [_subject(client, tenant) for _ in range(3)]
    bodies = _bodies(fake, subjects, 45)
    lines = [
        body if isinstance(body, str) else json.dumps({**body, "subject_id": sid})
        for sid, body in bodies
    ]
    results = _post_bulk(client, tenant, lines)
    stored = {r["id"]: r for r in results if r["status"] == 201}
    assert 0 < len(stored) < len(lines)
    with runtime.db.read_session() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == tenant.id)
            .order_by(AuditEntry.seq)
        ).all()
    added = [e for e in entries if e.action == "interaction.added"]
    assert sorted(int(e.object_id) for e in added) == sorted(stored)
    for e in added:
        r = stored[int(e.object_id)]
        expected = {"subject_id": r["subject_id"], "channel": e.details["channel"]}
        expected |= {"findings": r["findings"], "original_kept": r["original_kept"]}
        assert e.details == expected
    prev = "0" * 64
    for seq, e in enumerate(entries, start=1):
        document = {
            "organization_id": e.organization_id, "seq": e.seq, "actor": e.actor,
            "at": e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "role": e.role,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "details": e.details, "prev_hash": e.prev_hash,
        }  # fmt: skip
        raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert (e.seq, e.prev_hash) == (seq, prev)
        assert hashlib.sha256(raw.encode()).hexdigest() == e.hash
        prev = e.hash
    ids = [e.id for e in entries]
    assert ids == sorted(ids)


def _said(fake: Faker, rng: random.Random) -> str:
    """A chat line with the kinds of value the screening redacts (Faker, never real)."""
    parts = [fake.paragraph(nb_sentences=rng.randint(1, 4))]
    kind = rng.randrange(6)
    if kind == 0:
        parts.append(f"my card is {fake.credit_card_number(card_type='visa16')} cvv 321")
    elif kind == 1:
        parts.append(f"email me at {fake.email()}")
    elif kind == 2:
        parts.append(f"call me back on {fake.numerify('(212) 555-01##')}")
    elif kind == 3:
        parts.append(f"my social is {fake.ssn()}")
    elif kind == 4:
        parts.append(f"this is {fake.name()} speaking")
    return " ".join(parts)


def _stored_rows(runtime: Runtime, organization_id: int) -> dict[int, dict[str, Any]]:
    """Every interaction of the organization read with plain SQL, the sealed columns opened
    with AES-GCM spelled here (version byte, 96-bit nonce, the field's associated data)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from sqlalchemy import text

    def opened(dek: bytes, key_id: str, field: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        assert sealed[:1] == b"\x01"
        ad = f"vault|{organization_id}|{key_id}|interaction:{field}".encode()
        return AESGCM(dek).decrypt(sealed[1:13], sealed[13:], ad).decode()

    query = text(
        "SELECT i.id, i.subject_id, s.key_id, i.channel, i.direction, i.started_at, i.ended_at,"
        " i.agent, i.body_sealed, i.original_sealed, i.recording_uri_sealed,"
        " i.recording_sha256, i.tags, i.findings, i.policy_version_id"
        " FROM vault_interactions i JOIN vault_subjects s ON s.id = i.subject_id"
        " WHERE i.organization_id = :org"
    )
    out: dict[int, dict[str, Any]] = {}
    with runtime.db.read_session() as session:
        rows = session.execute(query, {"org": organization_id}).mappings().all()
    for row in rows:
        dek = runtime.vault_keys.data_key(organization_id, row["key_id"])
        tags, findings = row["tags"], row["findings"]
        out[int(row["id"])] = {
            "subject_id": row["subject_id"],
            "what": (
                row["channel"],
                row["direction"],
                str(row["started_at"]),
                str(row["ended_at"]),
                row["agent"],
                row["recording_sha256"],
            ),  # fmt: skip
            "body": opened(dek, row["key_id"], "body", row["body_sealed"]),
            "original": opened(dek, row["key_id"], "original", row["original_sealed"]),
            "recording": opened(dek, row["key_id"], "recording_uri", row["recording_uri_sealed"]),
            "tags": json.loads(tags) if isinstance(tags, str) else tags,
            "findings": json.loads(findings) if isinstance(findings, str) else findings,
            "versioned": row["policy_version_id"] is not None,
        }
    return out


def test_bulk_stores_the_same_rows_as_the_single_endpoint(
    client: TestClient, runtime: Runtime, monkeypatch: Any
) -> None:
    """N generated interactions through `POST /v1/interactions/bulk` (several batches, texts
    screened in the screening process) and, on a twin organization, one by one through the
    single endpoint: the stored rows, read back with plain SQL and opened, are the same line
    for line (redacted body, original, findings, tags, times), bad lines in the middle of a
    batch leave no row, and no card number, email or SSN is left in a stored body."""
    monkeypatch.setattr(ingest, "BATCH", 16)
    assert runtime.settings.ingest_screening_processes >= 1  # the pool's path is the one run
    fake = Faker("en_US")
    fake.seed_instance(2225)
    rng = random.Random(2225)
    tenant, twin = make_tenant(runtime, "bulk-rows"), make_tenant(runtime, "bulk-rows-twin")
    adopt_example(runtime, tenant.id)
    adopt_example(runtime, twin.id)
    subjects = [_subject(client, tenant) for _ in range(5)]
    twins = [_subject(client, twin) for _ in range(5)]
    bodies: list[tuple[int, dict[str, Any]]] = []
    for i in range(70):
        body: dict[str, Any] = {
            "channel": ["chat", "email", "sms"][i % 3],  # the notice declares their text
            "direction": rng.choice(["inbound", "outbound"]),
            "started_at": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
            "text": _said(fake, rng),
            "tags": [f"queue-{i % 3}"],
        }
        if i % 7 == 0:
            body["agent"] = f"agent-{i}"
        if i % 11 == 5:
            body["channel"] = "pigeon"  # refused, in the middle of a batch
        bodies.append((i % 5, body))
    lines = [json.dumps({**body, "subject_id": subjects[who]}) for who, body in bodies]
    results = _post_bulk(client, tenant, lines)
    single = []
    for who, body in bodies:
        response = client.post(f"/v1/subjects/{twins[who]}/interactions", json=body,
                               headers=twin.headers(Role.AGENT))  # fmt: skip
        single.append(response.json() if response.status_code == 201 else None)
    assert [r["line"] for r in results] == list(range(1, 71))
    assert [r["status"] == 201 for r in results] == [s is not None for s in single]
    refused = [r["line"] for r in results if r["status"] != 201]
    assert refused == [i + 1 for i in range(70) if i % 11 == 5]
    ours, theirs = _stored_rows(runtime, tenant.id), _stored_rows(runtime, twin.id)
    assert len(ours) == len(theirs) == 70 - len(refused)
    for (who, _), result, twin_result in zip(bodies, results, single, strict=True):
        if twin_result is None:
            continue
        mine, other = ours[result["id"]], theirs[twin_result["id"]]
        assert mine["subject_id"] == subjects[who] and other["subject_id"] == twins[who]
        del mine["subject_id"], other["subject_id"]
        assert mine == other, f"line {result['line']}"
        assert mine["versioned"]
        for secret in ("@", "cvv 321"):
            assert secret not in (mine["body"] or "")
    assert any(r["findings"].get("CREDIT_CARD") for r in ours.values())
    assert any(r["findings"].get("EMAIL_ADDRESS") for r in ours.values())


def test_a_batch_holds_at_most_its_bytes_of_input(
    client: TestClient, runtime: Runtime, monkeypatch: Any
) -> None:
    """Memory is bounded by bytes, not only by lines: with a 20 KB batch, 4 KB lines come
    in batches of at most six lines (20 KB plus the line that crossed the bound), and every
    line is still answered and stored."""
    monkeypatch.setattr(ingest, "BATCH_BYTES", 20_000)
    seen: list[int] = []
    real = ingest._ParsedBatch.of

    def spy(rt: Runtime, batch: list[tuple[int, bytes | None]]) -> ingest._ParsedBatch:
        seen.append(sum(len(raw or b"") for _, raw in batch))
        return real(rt, batch)

    monkeypatch.setattr(ingest._ParsedBatch, "of", staticmethod(spy))
    tenant = make_tenant(runtime, "bulk-bytes")
    adopt_example(runtime, tenant.id)
    sid = _subject(client, tenant)
    body = {"subject_id": sid, "channel": "chat", "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    lines = [json.dumps({**body, "text": f"line {i} " + "words " * 650}) for i in range(30)]
    assert all(3_900 < len(x) < 4_100 for x in lines)
    results = _post_bulk(client, tenant, lines)
    assert [r["status"] for r in results] == [201] * 30
    assert len(seen) >= 5 and sum(seen) == sum(len(x) for x in lines)
    assert max(seen) < 20_000 + 4_100
