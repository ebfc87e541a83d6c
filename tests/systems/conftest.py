"""Connected systems as real components: a CRM in a real database (SQLite file here; PostgreSQL
and MariaDB servers in the `systems` leg), files in a real folder, the reference webhook
receiver (examples/systems/webhook_receiver.py) on a real loopback HTTP server."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import sqlite3
import sys
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from sqlalchemy import create_engine, text
from tests.conftest import Tenant
from tests.rights.conftest import org, svc  # noqa: F401 (fixtures; rt, api: tests.support.app)
from tests.support.people import ISSUED, remember

from honorbound.audit import Actor
from honorbound.runtime import Runtime
from honorbound.systems import registry

ROOT = Path(__file__).resolve().parents[2]
ACTOR = Actor("test", "system")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
OLD = NOW - dt.timedelta(days=365 * 7)  # older than the example notice's 6 years
SECRET = "a-shared-secret-for-tests-only-0123456789"

_fake = Faker("en_US")
_fake.seed_instance(2121)


def _receiver_module() -> Any:
    path = ROOT / "examples" / "systems" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["webhook_receiver"] = module
    spec.loader.exec_module(module)
    return module


receiver_module = _receiver_module()


@dataclass(frozen=True)
class Customer:
    id: int
    email: str
    phone: str
    name: str
    street: str


def customers(n: int) -> list[Customer]:
    out = []
    for i in range(n):
        first, last = _fake.first_name(), _fake.last_name()
        email = f"{first}.{last}.{_fake.random_int(10000, 999999)}@example.org".lower()
        phone = f"+1{_fake.random_element(('213', '646', '718', '917'))}55502{i % 100:02d}"
        street = _fake.street_address()
        c = Customer(1000 + i, email, phone, f"{first} {last}", street)
        remember(c.email, c.phone, c.name, c.street, c.phone[2:])
        out.append(c)
    return out


# -- the CRM (SQL) ----------------------------------------------------------------------------
CRM_SCHEMA = [
    """CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200), phone VARCHAR(40),
       full_name VARCHAR(200), note TEXT, last_activity TIMESTAMP)""",
    "CREATE INDEX ix_customers_email ON customers (email)",
    "CREATE INDEX ix_customers_phone ON customers (phone)",
    """CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
       item VARCHAR(200), ship_to VARCHAR(300), created_at TIMESTAMP)""",
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
]


def fill_crm(url: str, people: list[Customer], old: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in CRM_SCHEMA:
            conn.execute(text(statement))
        for c in people:
            when = (OLD if c.id in old else NOW).replace(tzinfo=None)
            conn.execute(
                text(
                    "INSERT INTO customers (id, email, phone, full_name, note, last_activity) "
                    "VALUES (:id, :email, :phone, :name, :note, :at)"
                ),
                {
                    "id": c.id,
                    "email": c.email,
                    "phone": c.phone,
                    "name": c.name,
                    "note": f"called about {c.street}",
                    "at": when,
                },
            )
            for k in range(2):
                conn.execute(
                    text(
                        "INSERT INTO orders (id, customer_id, item, ship_to, created_at) "
                        "VALUES (:id, :cid, :item, :ship, :at)"
                    ),
                    {
                        "id": c.id * 10 + k,
                        "cid": c.id,
                        "item": f"item-{k}",
                        "ship": c.street,
                        "at": when,
                    },
                )
    engine.dispose()


CRM_MAP = """\
dataset:
  - fides_key: crm
    name: CRM
    meta:
      honorbound:
        subject_type: user
        connection: {type: sql, url_env: TEST_CRM_URL}
        collections:
          customers: {retention_field: last_activity, retention_trigger: after_last_activity}
          orders: {retention_field: created_at, retention_trigger: after_last_activity}
    collections:
      - name: customers
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: phone
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone_number, masking_strategy_override: {strategy: hmac}}
          - name: full_name
            data_categories: [user.contact]
            fides_meta: {masking_strategy_override: {strategy: string_rewrite, configuration: {rewrite_value: REDACTED}}}
          - name: note
            data_categories: [user.contact_center.chat_log]
          - name: last_activity
            data_categories: [system.operations]
      - name: orders
        fides_meta: {masking_strategy_override: {strategy: delete}}
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: {primary_key: true}
          - name: customer_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: crm, field: customers.id, direction: from}]
          - name: item
            data_categories: [system.operations]
          - name: ship_to
            data_categories: [user.contact.address]
          - name: created_at
            data_categories: [system.operations]
"""


@dataclass
class Crm:
    url: str
    people: list[Customer]
    path: Path | None = None

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Read the CRM with its own driver (not through the connector under test)."""
        if self.path is not None:
            with sqlite3.connect(self.path) as db:
                return [tuple(r) for r in db.execute(sql, params)]
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Crm:
    people = customers(6)
    path = tmp_path / "crm.db"
    url = f"sqlite:///{path}"
    fill_crm(url, people, old={people[-1].id})
    monkeypatch.setenv("TEST_CRM_URL", url)
    return Crm(url, people, path)


# -- files -------------------------------------------------------------------------------------
FILES_MAP = """\
dataset:
  - fides_key: exports
    name: Exported files
    meta:
      honorbound:
        subject_type: user
        connection: {type: files, url_env: TEST_FILES_URL}
        collections:
          tickets: {path: "tickets/*.jsonl", format: jsonl, retention_field: opened_at, retention_trigger: after_last_activity}
          survey: {path: "survey.csv", format: csv}
          calls: {path: "calls.parquet", format: parquet}
          recordings: {path: "recordings/{customer_id}/*.wav", format: recording, retention_field: modified, retention_trigger: after_last_activity}
    collections:
      - name: tickets
        fields:
          - {name: ticket, data_categories: [system.operations]}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: text, data_categories: [user.contact_center.chat_log]}
          - {name: opened_at, data_categories: [system.operations]}
      - name: survey
        fides_meta: {masking_strategy_override: {strategy: delete}}
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: score, data_categories: [system.operations]}
      - name: calls
        fields:
          - name: customer_id
            data_categories: [system.operations]
            fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}
          - {name: transcript, data_categories: [user.contact_center.chat_log], fides_meta: {masking_strategy_override: {strategy: hmac}}}
          - {name: minutes, data_categories: [system.operations]}
      - name: recordings
        fields:
          - name: customer_id
            data_categories: [system.operations]
            fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}
          - {name: audio, data_categories: [user.contact_center.call_recording]}
"""


def wav_bytes(seconds: float = 0.2) -> bytes:
    """Real audio: a 440 Hz tone, 8 kHz mono 16-bit PCM."""
    import math

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = bytearray()
        for i in range(int(8000 * seconds)):
            v = int(8000 * math.sin(2 * math.pi * 440 * i / 8000))
            frames += v.to_bytes(2, "little", signed=True)
        w.writeframes(bytes(frames))
    return buffer.getvalue()


def fill_files(root: Path, people: list[Customer], old: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "tickets").mkdir(parents=True, exist_ok=True)
    with open(root / "tickets" / "2026.jsonl", "w", encoding="utf-8") as f:
        for c in people:
            when = OLD if c.id in old else NOW
            f.write(
                json.dumps(
                    {
                        "ticket": f"T{c.id}",
                        "email": c.email,
                        "text": f"ship to {c.street}",
                        "opened_at": when.isoformat(),
                    }
                )
                + "\n"
            )
    with open(root / "survey.csv", "w", encoding="utf-8", newline="") as f:
        f.write("email,score\n")
        for c in people:
            f.write(f"{c.email},{c.id % 5}\n")
    table = pa.table(
        {
            "customer_id": [c.id for c in people],
            "transcript": [f"my number is {c.phone}" for c in people],
            "minutes": [3 for _ in people],
        }
    )
    pq.write_table(table, root / "calls.parquet", row_group_size=2)
    audio = wav_bytes()
    for c in people:
        folder = root / "recordings" / str(c.id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "call-1.wav").write_bytes(audio)


@pytest.fixture
def files(tmp_path: Path, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "exports"
    fill_files(root, crm.people)
    monkeypatch.setenv("TEST_FILES_URL", f"file://{root}")
    return root


# -- the webhook system ---------------------------------------------------------------------
HOOK_MAP = """\
dataset:
  - fides_key: ticketing
    name: Ticketing (SaaS)
    meta:
      honorbound:
        connection: {type: webhook, url_env: TEST_HOOK_URL, secret: {env: TEST_HOOK_SECRET}, timeout_seconds: 2, retries: 2}
    collections:
      - name: tickets
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: body, data_categories: [user.contact_center.chat_log]}
"""


@dataclass
class Hook:
    url: str
    receiver: Any
    db: Path
    server: Any = field(repr=False)

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return [tuple(r) for r in db.execute(sql, args)]


def start_receiver(db: Path, people: list[Customer], async_erasure: bool = False) -> Hook:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, email TEXT, body TEXT)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS ix_tickets_email ON tickets (email)")
        conn.executemany(
            "INSERT INTO tickets (email, body) VALUES (?, ?)",
            [(c.email, f"please call {c.phone}") for c in people],
        )
    receiver = receiver_module.Receiver(
        receiver_module.Store(str(db)), SECRET.encode(), async_erasure
    )
    server = receiver.server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Hook(f"http://127.0.0.1:{server.server_address[1]}/honorbound", receiver, db, server)


@pytest.fixture
def hook(tmp_path: Path, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    h = start_receiver(tmp_path / "ticketing.db", crm.people)
    monkeypatch.setenv("TEST_HOOK_URL", h.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    yield h
    h.server.shutdown()
    h.server.server_close()


MANUAL_MAP = """\
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
          - {name: signature, data_categories: [user.contact]}
"""


def connect(runtime: Runtime, tenant: Tenant, *maps: str) -> None:
    for i, text_ in enumerate(maps):
        with runtime.db.read_session() as session:
            now = registry.connected(session, tenant.id)
        checked = registry.check_map(text_, f"map{i}.yaml", now)
        with runtime.db.session() as session:
            registry.connect(session, tenant.id, checked, ACTOR)


def issued(value: str) -> bool:
    return value in ISSUED
