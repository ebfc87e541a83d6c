"""The access package read from raw columns (issue 22) holds what the vault holds: a few hundred
records read back here with plain SQL and opened with AES-GCM directly (not through the
package's or the vault's code), compared with data.json (values, layout of each record's line)
and each category's CSV in the downloaded ZIP. Values exercise JSON and CSV escaping; some
timestamps have no fraction of a second; one category is withheld (11 CCR 7024)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.runtime import Runtime
from honorbound.vault.collection import add_record
from honorbound.vault.rules import current_rules
from tests.conftest import Tenant
from tests.rights.conftest import ACTOR, download_access, seed
from tests.support.smtp import SmtpSink

RECORDS = 300
SSN = "user.government_id.national_identification_number"
TRICKY = ['quote " and backslash \\', "comma, semicolon; newline\nend", "José Ñandú 東京 🙂", "\t"]


def _iso(value: Any) -> str:
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return when.isoformat()


def _expected(rt: Runtime, org: int, subject_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every record of the subject by category, as plain SQL reads it, values opened here."""
    with rt.db.session() as session:
        key_id = session.execute(
            text("SELECT key_id FROM vault_subjects WHERE id = :s"), {"s": subject_id}
        ).scalar_one()
        rows = session.execute(
            text(
                "SELECT category, source, purposes, collected_at, policy_version_id, "
                "value_sealed FROM vault_records WHERE subject_id = :s ORDER BY id"
            ),
            {"s": subject_id},
        ).all()
    cipher = AESGCM(rt.vault_keys.data_key(org, key_id))
    out: dict[str, list[dict[str, Any]]] = {}
    for category, source, purposes, collected_at, version, sealed in rows:
        rest = {
            "source": source,
            "purposes": json.loads(purposes) if isinstance(purposes, str) else purposes,
            "collected_at": _iso(collected_at),
            "policy_version_id": version,
        }
        if category == SSN:
            because = "11 CCR 7024: Social Security number"
            item = {"held": True, "withheld_because": because, **rest}
        else:
            bound = f"vault|{org}|{key_id}|record:{category}".encode()
            value = cipher.decrypt(bytes(sealed[1:13]), bytes(sealed[13:]), bound).decode()
            item = {"value": value, **rest}
        out.setdefault(category, []).append(item)
    return out


def test_the_package_holds_what_plain_sql_and_aes_gcm_read(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id, sensitive=True)
    now = dt.datetime.now(dt.UTC)
    with rt.db.session() as session:
        rules = current_rules(session, org.id, rt.rules)
        assert rules is not None
        for i in range(RECORDS):
            at = now - dt.timedelta(days=1 + i % 40, microseconds=i)
            if i % 3 == 0:
                at = at.replace(microsecond=0)
            category, purpose = (
                ("user.contact.address", "contracted-services")
                if i % 2
                else ("user.contact.email", "support")
            )
            add_record(session, rt.vault_keys, org.id, s.subject_id, category,
                       f"{TRICKY[i % len(TRICKY)]} #{i}", [purpose], "directly", ACTOR, rules,
                       collected_at=at)  # fmt: skip
    archive = download_access(api, org, smtp, s.person)
    expected = _expected(rt, org.id, s.subject_id)
    assert sum(len(v) for v in expected.values()) == RECORDS + 3

    raw = archive.read("data.json").decode()
    data = json.loads(raw)
    found = {c["category"]: c for c in data["categories"]}
    assert sorted(found) == sorted(expected)
    lines = {line.strip().rstrip(",") for line in raw.splitlines()}
    for category, items in expected.items():
        assert found[category]["count"] == len(items)
        assert found[category]["records"] == items
        # Each record on its own line, as json.dumps writes the object.
        assert all(json.dumps(item, ensure_ascii=False) in lines for item in items), category
        rows = list(csv.reader(io.StringIO(archive.read(f"categories/{category}.csv").decode())))
        assert rows[0][:6] == ["value", "held", "source", "purposes", "collected_at",
                               "policy_version_id"]  # fmt: skip
        assert [r[:6] for r in rows[1:]] == [
            [
                item.get("value", ""),
                "True" if item.get("held") else "",
                item["source"],
                "; ".join(item["purposes"]),
                item["collected_at"],
                "" if item["policy_version_id"] is None else str(item["policy_version_id"]),
            ]
            for item in items
        ]
