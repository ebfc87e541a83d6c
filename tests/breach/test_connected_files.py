"""Files systems read whole for a breach selection (opt-in, within byte caps), and people found
only in a connected system kept sealed, notified and erased.

Real parts: a real folder read through the files connector, the vault's key store and crypto,
the outbox and a real SMTP server on loopback. The oracle is what the test wrote: which person
is in which file, each file's size on disk, and the bytes of the database and key store files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.breach.models import ExternalContact
from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.notify.models import OutboxMessage
from honorbound.runtime import Runtime
from honorbound.vault.keystore import DataKey
from tests.breach.conftest import Resident, resident
from tests.conftest import Tenant
from tests.support.people import remember
from tests.support.smtp import SmtpSink
from tests.systems.conftest import connect

FILES = """\
dataset:
  - fides_key: exports
    name: Exports
    meta:
      honorbound:
        connection: {type: files, url_env: BREACH_FILES_URL}
        collections:
          people: {path: "people/*.jsonl", format: jsonl}
          calls: {path: "calls.csv", format: csv}
          notes: {path: "notes/*.jsonl", format: jsonl}
    collections:
      - name: people
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: state, data_categories: [user.contact.address.state]}
      - name: calls
        fields:
          - name: phone
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone}
          - {name: state, data_categories: [user.contact.address.state]}
      - name: notes
        fields:
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta: {identity: customer_id}
          - {name: text, data_categories: [user.contact_center.chat_log]}
"""
WEBHOOK = """\
dataset:
  - fides_key: helpdesk
    name: Helpdesk
    meta:
      honorbound:
        connection: {type: webhook, url: "http://127.0.0.1:9/", secret: {env: BREACH_HOOK_SECRET}}
    collections:
      - name: tickets
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
"""
FILE_CAP = 4096

_fake = Faker("en_US")
_fake.seed_instance(2526)


def stranger_email() -> str:
    value = f"{_fake.user_name()}.{_fake.random_int(10000, 99999)}@example.net".lower()
    remember(value)
    return value


def stranger_phone() -> str:
    value = f"+1646555{_fake.random_int(3000, 3999)}"
    remember(value, value[2:])
    return value


class Folder:
    """The connected system's folder, with who the test put where (the oracle)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sizes: dict[str, int] = {}

    def write(self, relative: str, data: bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.sizes[relative] = len(data)


def lines(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def fill(root: Path, in_files: list[Resident]) -> tuple[Folder, dict[str, Any]]:
    """Write the exports: vault people and strangers, and the files that cannot be read."""
    by_email, by_phone = in_files
    assert by_email.email
    s = {
        "tx": stranger_email(),  # people/a.jsonl, TX
        "nostate": stranger_email(),  # people/a.jsonl, no state
        "phone": stranger_phone(),  # calls.csv, CA, no email
        "notes": stranger_email(),  # notes/n.jsonl free text (found by honorbound.detect)
        "huge": stranger_email(),  # only in a file over the cap: never found
        "latin1": stranger_email(),  # only in a file that is not UTF-8
    }
    f = Folder(root)
    f.write(
        "people/a.jsonl",
        lines(
            {"email": by_email.email.upper(), "state": "NY"},  # case differs: same person
            {"email": s["tx"], "state": "tx"},
            {"email": s["nostate"]},
            {"email": "not-an-address"},
            {"state": "CA"},
        ),
    )
    f.write("people/binary.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64))
    f.write(
        "people/latin1.jsonl",
        json.dumps({"email": s["latin1"], "note": "José"}, ensure_ascii=False).encode("latin-1"),
    )
    f.write("people/broken.jsonl", lines({"email": stranger_email()}) + b"not json at all\n")
    huge = lines(*({"email": s["huge"], "n": i} for i in range(200)))
    assert len(huge) > FILE_CAP
    f.write("people/huge.jsonl", huge)
    phone = by_phone.phone
    f.write("calls.csv", f"phone,state\n{phone},TX\n{s['phone']},CA\n,\n".encode())
    f.write(
        "notes/n.jsonl",
        lines(
            {
                "customer_id": "C-1001",
                "text": f"Customer asked us to write to {s['notes']} about the refund.",
            },
        ),  # fmt: skip
    )
    return f, s


def sqlite_bytes(url: str) -> bytes:
    base = Path(make_url(url).database or "")
    return b"".join(
        p.read_bytes() for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()
    )


@pytest.fixture
def people(rt: Runtime, org: Tenant) -> list[Resident]:
    return [
        resident(rt, org.id, "NY"),
        resident(rt, org.id, "TX"),
        resident(rt, org.id, "CA"),  # in the vault, in no file: not selected
    ]


def incident(api: TestClient, h: dict[str, str]) -> int:
    r = api.post(
        "/v1/breach/incidents", headers=h,
        json={"title": "Export folder exposed", "discovered_at": "2026-11-02T15:00:00Z",
              "owner": "Privacy Office", "categories": ["user.contact"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_files_read_whole_find_vault_people_and_strangers_notified_then_erased(
    rt: Runtime,
    org: Tenant,
    api: TestClient,
    smtp: SmtpSink,
    people: list[Resident],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, s = fill(tmp_path / "exports", people[:2])
    monkeypatch.setenv("BREACH_FILES_URL", f"file://{folder.root}")
    monkeypatch.setenv("BREACH_HOOK_SECRET", "a-shared-secret-for-tests-only-0123456789")
    connect(rt, org, FILES, WEBHOOK)
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = incident(api, h)
    url = f"/v1/breach/incidents/{iid}/selection"
    wanted = {"categories": ["user.contact", "user.contact_center"],
              "connected_systems": ["exports", "helpdesk"]}  # fmt: skip

    # Without the opt-in the files system is not read.
    r = api.post(url, headers=h, json=wanted)
    assert r.status_code == 422 and "exports (a files system" in r.json()["detail"]
    assert "read_files" in r.json()["detail"] and "helpdesk (the webhook" in r.json()["detail"]

    r = api.post(
        url, headers=h,
        json={**wanted, "read_files": True, "file_cap_bytes": FILE_CAP,
              "system_cap_bytes": 1_000_000, "notify_unknown": True},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    sel = r.json()
    # The oracle: NY and TX from the vault (by email, by phone), the strangers by where the
    # test wrote them; the one in the file over the cap and the one in Latin-1 are not found.
    assert sel["by_state"] == {"": 2, "CA": 1, "NY": 1, "TX": 2}, json.dumps(sel, indent=1)
    assert sel["total"] == 6 and sel["not_in_vault_kept"] == 4
    found = {x["system"]: x for x in sel["connected_search"]}
    hook = found["helpdesk"]
    assert not hook["searched"] and "one person at a time" in hook["reason"]
    x = found["exports"]
    assert x["searched"] and x["in_vault"] == 2 and x["not_in_vault"] == 4
    assert x["caps"] == {"system_bytes": 1_000_000, "file_bytes": FILE_CAP}
    not_read = {n["file"]: n["why"] for n in x["not_read"]}
    assert set(not_read) == {
        "people/binary.jsonl", "people/latin1.jsonl", "people/broken.jsonl", "people/huge.jsonl",
    }  # fmt: skip
    assert not_read["people/binary.jsonl"].startswith("binary (NUL bytes")
    assert not_read["people/latin1.jsonl"].startswith("not UTF-8 (byte ")
    assert not_read["people/broken.jsonl"] == "line 2 is not JSON"
    huge = folder.sizes["people/huge.jsonl"]
    assert not_read["people/huge.jsonl"] == (
        f"{huge} bytes, over the cap of {FILE_CAP} bytes per file"
    )
    assert x["files_read"] == 3  # a.jsonl, calls.csv, n.jsonl
    assert x["bytes_read"] == sum(n for f, n in folder.sizes.items() if f != "people/huge.jsonl")
    assert x["rows"] == 5 + 3 + 1  # every row of the files read (blank CSV row included)
    for value in s.values():
        assert value not in json.dumps(sel)

    # Nothing found is on disk in clear: the database and the key store files, byte by byte.
    def on_disk() -> bytes:
        return sqlite_bytes(rt.settings.database_url) + sqlite_bytes(
            rt.settings.resolved_keystore_url
        )

    if make_url(rt.settings.database_url).get_backend_name() == "sqlite":
        disk = on_disk()
        for value in (s["tx"], s["nostate"], s["phone"], s["notes"]):
            assert value.encode() not in disk and value.upper().encode() not in disk
    with rt.db.read_session() as session:
        kept = list(session.scalars(select(ExternalContact).order_by(ExternalContact.id)))
    assert sorted((c.kind, c.state) for c in kept) == [
        ("email", ""), ("email", ""), ("email", "TX"), ("phone", "CA"),
    ]  # fmt: skip
    assert all(c.value_sealed and len(c.key_id) > 20 for c in kept)

    # Notices: the vault's people and the strangers with an email, through the outbox; the
    # phone-only stranger is recorded as unreachable.
    r = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={"language": "en"})
    assert r.status_code == 200, r.text
    assert r.json()["emails"] == 5
    mails = smtp.wait_for(5)
    to = {str(m["To"]).lower() for m in mails}
    assert to == {people[0].email, people[1].email, s["tx"], s["nostate"], s["notes"]}
    assert people[2].email not in to
    listed = api.get(f"/v1/breach/incidents/{iid}/notices", headers=h).json()
    theirs = [n for n in listed if n["contact_id"] is not None]
    assert sorted((n["channel"], n["state"]) for n in theirs) == [
        ("email", ""), ("email", ""), ("email", "TX"), ("phone", "CA"),
    ]  # fmt: skip
    assert {n["status"] for n in theirs if n["channel"] == "email"} == {"sent"}
    assert [n["status"] for n in theirs if n["channel"] == "phone"] == ["unreachable"]
    text = api.get(f"/v1/breach/incidents/{iid}/report?format=text", headers=h).text
    assert "kept to be notified: 4" in text and "not read: people/huge.jsonl" in text
    assert "phone:unreachable 1" in text

    # Erasing while one of their notices waits in the outbox is refused, nothing erased.
    message_id = next(n for n in theirs if n["channel"] == "email")
    with rt.db.session() as session:
        mid = session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.subject_ref == f"breach:{iid}:contact:{message_id['contact_id']}"
            )
        )
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == mid).values(status="pending")
        )
    r = api.post(f"/v1/breach/incidents/{iid}/contacts/erase", headers=h)
    assert r.status_code == 422 and "still waiting in the outbox" in r.json()["detail"]
    with rt.db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == mid).values(status="sent"))

    # Erase: every key is shredded from the key store (its bytes gone from the file), the
    # sealed values dropped; the counts and the notice record stay.
    with rt.vault_keys.db.session() as ks:
        wrapped = {c.key_id: bytes(ks.get(DataKey, (org.id, c.key_id)).wrapped) for c in kept}  # type: ignore[union-attr]
    r = api.post(f"/v1/breach/incidents/{iid}/contacts/erase", headers=h)
    assert r.status_code == 200 and r.json() == {"erased": 4}
    keys_file = sqlite_bytes(rt.settings.resolved_keystore_url)
    for key_id, blob in wrapped.items():
        assert not rt.vault_keys.has_data_key(org.id, key_id)
        assert blob not in keys_file
    with rt.db.read_session() as session:
        after = list(session.scalars(select(ExternalContact)))
    assert all(c.value_sealed is None and c.blind_index is None and c.erased_at for c in after)
    assert api.get(f"/v1/breach/incidents/{iid}", headers=h).json()["by_state"] == sel["by_state"]
    again = api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={"language": "en"})
    assert again.json()["emails"] == 0  # nobody told twice, nobody left to tell
    assert api.post(f"/v1/breach/incidents/{iid}/contacts/erase", headers=h).json() == {"erased": 0}


def test_the_system_cap_stops_reading_and_says_so(
    rt: Runtime,
    org: Tenant,
    api: TestClient,
    people: list[Resident],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = fill(tmp_path / "exports", people[:2])
    monkeypatch.setenv("BREACH_FILES_URL", f"file://{folder.root}")
    connect(rt, org, FILES)
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = incident(api, h)
    # Room for calls.csv (collections are read in name order) and nothing after it.
    cap = folder.sizes["calls.csv"] + 10
    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "connected_systems": ["exports"],
              "read_files": True, "system_cap_bytes": cap, "file_cap_bytes": FILE_CAP},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    x = r.json()["connected_search"][0]
    assert r.json()["by_state"] == {"TX": 1}  # the stranger counted, not kept (no opt-in)
    assert x["not_in_vault"] == 1 and r.json()["not_in_vault_kept"] == 0
    assert x["bytes_read"] <= cap and x["files_read"] == 1
    why = {n["file"]: n["why"] for n in x["not_read"]}
    # notes/ holds no user.contact category: not part of this search.
    assert set(why) == set(folder.sizes) - {"calls.csv", "notes/n.jsonl"}
    assert f"over what is left of the cap of {cap} bytes per system (10)" in why["people/a.jsonl"]
    with rt.db.read_session() as session:
        assert session.scalar(select(ExternalContact.id)) is None


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ({"read_files": True, "file_cap_bytes": 0}, "file_cap_bytes", "at least 1 byte (got 0)"),
        ({"read_files": True, "system_cap_bytes": -5}, "system_cap_bytes", "at least 1 byte"),
        ({"read_files": True, "file_cap_bytes": 2**40}, "file_cap_bytes", "more than the most"),
        ({"file_cap_bytes": 100}, "file_cap_bytes", "applies only with read_files: true"),
        ({"read_files": "yes"}, "read_files", ""),
        ({"read_files": True, "file_cap_bytes": "4096"}, "file_cap_bytes", ""),
        ({"read_files": True, "connected_systems": []}, "read_files", "needs connected_systems"),
    ],
)
def test_bad_caps_are_refused_naming_the_field(
    rt: Runtime,
    org: Tenant,
    api: TestClient,
    people: list[Resident],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, Any],
    field: str,
    says: str,
) -> None:
    (tmp_path / "exports").mkdir()
    monkeypatch.setenv("BREACH_FILES_URL", f"file://{tmp_path / 'exports'}")
    connect(rt, org, FILES)
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = incident(api, h)
    r = api.post(
        f"/v1/breach/incidents/{iid}/selection", headers=h,
        json={"categories": ["user.contact"], "connected_systems": ["exports"], **extra},
    )  # fmt: skip
    assert r.status_code == 422, r.text
    assert field in r.text and says in str(r.json()["detail"])
    assert api.get(f"/v1/breach/incidents/{iid}", headers=h).json()["by_state"] == {}


def test_cli_reads_files_and_erases_contacts(
    rt: Runtime,
    org: Tenant,
    people: list[Resident],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    folder, s = fill(tmp_path / "exports", people[:2])
    monkeypatch.setenv("BREACH_FILES_URL", f"file://{folder.root}")
    connect(rt, org, FILES)
    runner = CliRunner()
    record = ["breach", "record", "--title", "Export folder", "--owner", "Privacy",
              "--discovered-at", "2026-11-02T15:00:00Z", "--org", org.slug]  # fmt: skip
    r = runner.invoke(cli, record)
    assert r.exit_code == 0, r.output
    base = ["breach", "select", "1", "--category", "user.contact",
            "--connected-system", "exports", "--org", org.slug]  # fmt: skip
    bad = runner.invoke(cli, [*base, "--read-files", "--file-cap-bytes", "-1"])
    assert bad.exit_code == 2 and "--file-cap-bytes: must be at least 1 byte" in bad.output
    ok = runner.invoke(
        cli, [*base, "--read-files", "--file-cap-bytes", str(FILE_CAP), "--notify-unknown"]
    )
    assert ok.exit_code == 0, ok.output
    assert "not read: people/huge.jsonl" in ok.output and "kept (sealed)" in ok.output
    for value in s.values():
        assert value not in ok.output
    gone = runner.invoke(cli, ["breach", "erase-contacts", "1", "--org", org.slug])
    assert gone.exit_code == 0 and "erased 3 contact(s)" in gone.output, gone.output


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
          - {name: state, data_categories: [user.contact.address.state]}
"""


def test_sql_strangers_are_kept_with_their_state_only_when_asked(
    rt: Runtime,
    org: Tenant,
    api: TestClient,
    people: list[Resident],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    known = people[0]
    strangers = [(stranger_email(), "OR"), (stranger_email(), "zz"), (stranger_email(), None)]
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, state TEXT)")
        conn.executemany(
            "INSERT INTO customers (email, state) VALUES (?, ?)",
            [(known.email, "NY"), *strangers, (strangers[0][0].upper(), "OR")],  # a duplicate
        )
    monkeypatch.setenv("BREACH_CRM_URL", f"sqlite:///{db}")
    connect(rt, org, CRM)
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = incident(api, h)
    url = f"/v1/breach/incidents/{iid}/selection"
    body = {"categories": ["user.contact"], "connected_systems": ["crm"]}
    counted = api.post(url, headers=h, json=body).json()
    assert counted["by_state"] == {"NY": 1} and counted["connected_search"][0]["not_in_vault"] == 3
    kept = api.post(url, headers=h, json={**body, "notify_unknown": True}).json()
    # "zz" is no US state: unknown, like the row without one.
    assert kept["by_state"] == {"": 2, "NY": 1, "OR": 1} and kept["not_in_vault_kept"] == 3
    # A selection without the opt-in replaces it: the strangers (not noticed) are erased.
    with rt.db.read_session() as session:
        key_ids = list(session.scalars(select(ExternalContact.key_id)))
    again = api.post(url, headers=h, json=body).json()
    assert again["by_state"] == {"NY": 1} and again["not_in_vault_kept"] == 0
    assert not any(rt.vault_keys.has_data_key(org.id, k) for k in key_ids)
    with rt.db.read_session() as session:
        assert session.scalar(select(ExternalContact.id)) is None
