"""Issue 22: the per-request paths stay correct while they skip work.

API keys from an in-memory cache (revocation refused on the next request, whichever process
revoked), contact decisions answered from a snapshot that one change counter keeps current
(an opt-out recorded anywhere changes the next decision, also while the hourly rebuild runs
in the background), and no write on a read path.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from honorbound.accounts.roles import Role
from honorbound.config import Settings
from honorbound.consent import service
from honorbound.consent.decisions import MAX_SNAPSHOT_AGE
from honorbound.db.changes import DECISION_TABLES, KEY_TABLES, REQUEST_TABLES
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.consent.conftest import number, record

NOON_NY = "2026-11-18T12:00:00-05:00"


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """Every SQL statement the runtime's engine sends while the block runs."""
    seen: list[str] = []

    def before(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", before)


def test_revoked_key_is_refused_on_the_next_request_although_cached(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    headers = tenant.headers(Role.AGENT)
    for _ in range(3):  # cached after the first
        assert client.get("/v1/me", headers=headers).status_code == 200
    prefix = tenant.keys[Role.AGENT].split("_")[1]
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as conn:  # another process revokes: no call into this server
        conn.execute(
            text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE prefix = :p"),
            {"p": prefix},
        )
    engine.dispose()
    response = client.get("/v1/me", headers=headers)
    assert response.status_code == 401, response.text
    # Other keys of the organization still work (their entries are re-read, not dropped).
    assert client.get("/v1/me", headers=tenant.headers(Role.ADMIN)).status_code == 200


def test_revoked_through_the_api_is_refused_next(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/v1/api-keys", json={"name": "dialer", "role": "client"}, headers=tenant.headers()
    ).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/v1/me", headers=key).status_code == 200
    assert client.get("/v1/me", headers=key).status_code == 200
    client.delete(f"/v1/api-keys/{created['id']}", headers=tenant.headers())
    assert client.get("/v1/me", headers=key).status_code == 401


def test_cached_key_does_not_read_the_key_row_and_a_forged_secret_fails(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    headers = tenant.headers(Role.AGENT)
    assert client.get("/v1/me", headers=headers).status_code == 200
    with statements(runtime) as seen:
        assert client.get("/v1/me", headers=headers).status_code == 200
    assert not [s for s in seen if "FROM api_keys" in s], seen
    key = tenant.keys[Role.AGENT]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/v1/me", headers=headers).status_code == 200


def _decide(client: TestClient, tenant: Tenant, who: str) -> dict[str, object]:
    response = client.post(
        "/v1/contact-decisions",
        json={"items": [{"identity": who, "purpose": "marketing", "channel": "voice",
                         "at": NOON_NY}]},
        headers=tenant.headers(Role.AGENT),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["results"][0]  # type: ignore[no-any-return]


def test_a_decision_request_writes_nothing_and_asks_one_question_when_nothing_changed(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who = number("212", 60)
    _decide(client, tenant, who)
    _decide(client, tenant, who)
    with statements(runtime) as seen:
        assert _decide(client, tenant, who)["allowed"] is True
    writes = [s for s in seen if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == [] and "BEGIN IMMEDIATE" not in seen, seen
    assert not [s for s in seen if "consent_events" in s], seen


def test_an_opt_out_recorded_by_another_process_changes_the_next_decision(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    who = number("212", 61)
    assert _decide(client, tenant, who)["allowed"] is True
    assert _decide(client, tenant, who)["allowed"] is True
    other = build_runtime(settings, immediate_jobs=True)  # a second process's runtime
    try:
        record(other, tenant.id, who, "marketing", "voice")
    finally:
        other.close()
    assert _decide(client, tenant, who) == {"allowed": False, "reasons": ["opted_out"]}


def test_an_opt_out_counts_while_the_hourly_rebuild_runs_in_the_background(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who, later = number("212", 62), number("212", 63)
    assert _decide(client, tenant, who)["allowed"] is True
    engine = service.engine(runtime.keys, runtime.vault_keys, runtime.rules)
    first = engine._snapshots[tenant.id]
    first.built_at -= MAX_SNAPSHOT_AGE + dt.timedelta(minutes=1)
    record(runtime, tenant.id, who, "marketing", "voice")
    # Answered at once, from the old snapshot and its delta, while a new one is built.
    assert _decide(client, tenant, who)["reasons"] == ["opted_out"]
    deadline = time.monotonic() + 30
    while engine._snapshots[tenant.id] is first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine._snapshots[tenant.id] is not first
    record(runtime, tenant.id, later, "marketing", "voice")  # after the swap
    assert _decide(client, tenant, who)["reasons"] == ["opted_out"]
    assert _decide(client, tenant, later)["reasons"] == ["opted_out"]


def test_every_counted_table_has_its_trigger(runtime: Runtime) -> None:
    """A later migration that rebuilds a table (SQLite batch mode) drops its triggers."""
    with runtime.db.engine.connect() as conn:
        if runtime.db.dialect == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        else:
            names = set(conn.scalars(text("SELECT tgname FROM pg_trigger")))
    for table, operations in (*DECISION_TABLES, *KEY_TABLES, *REQUEST_TABLES):
        for operation in operations:
            assert f"hb_changes_{table}_{operation.lower()}" in names, (table, operation)
