"""The desk's cached request counts (bpo.desk.RequestCounts) against plain SQL, through a
random walk of writes: requests opened through the API, due dates moved, closed, reopened and
deleted with raw SQL behind the application's back (what another process or a bulk script
does), and the clock moved without any write. After every step the figures of two caches (two
server processes: one warm since the start, one new) must equal the counts the test makes
with its own SQL over every open request. The database's triggers are what keeps the warm one
right; the test never tells a cache that anything changed."""

from __future__ import annotations

import datetime as dt
import random

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.bpo import desk
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.bpo.test_desk import _key, _request
from tests.conftest import Tenant

FIGURES = ("open_requests", "overdue", "due_soon", "opt_outs_open")
OPT_OUTS = ("opt_out_sale", "opt_out_sharing", "limit_sensitive")  # applied without verification


def _oracle(runtime: Runtime, ids: list[int], now: dt.datetime) -> dict[int, tuple[int, ...]]:
    found = {org: [0, 0, 0, 0] for org in ids}
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT organization_id, due_at, type FROM rights_requests WHERE closed_at IS NULL"
            )
        )
        for org, due, kind in rows:
            if org not in found:
                continue
            when = due if isinstance(due, dt.datetime) else dt.datetime.fromisoformat(str(due))
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            counts = found[org]
            counts[0] += 1
            counts[1] += when < now
            counts[2] += now <= when < now + dt.timedelta(days=7)
            counts[3] += kind in OPT_OUTS
    return {org: tuple(c) for org, c in found.items()}


def _figures(
    runtime: Runtime,
    orgs: list[desk.DeskOrganization],
    now: dt.datetime,
    counts: desk.RequestCounts,
) -> dict[int, tuple[int, ...]]:
    with runtime.db.read_session() as session:
        found = desk.summary(session, orgs, now, counts=counts)
    return {
        r.organization.id: tuple(getattr(r, name) for name in FIGURES) for r in found.organizations
    }


def _stamp(value: dt.datetime, runtime: Runtime) -> object:
    # As the application stores it: naive UTC text on SQLite, a timestamp on PostgreSQL.
    return value.replace(tzinfo=None) if runtime.db.dialect == "sqlite" else value


def test_cached_counts_follow_every_write_and_the_clock(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    rng = random.Random(20261207)
    heads = [_key(client, tenant, onboard(client, tenant, f"c{n}")["id"]) for n in range(3)]
    with runtime.db.read_session() as session:
        orgs = desk.organizations_of_bpo(session, tenant.id)
    ids = [o.id for o in orgs]
    warm = desk.RequestCounts()
    now = dt.datetime.now(dt.UTC)
    made: list[int] = []
    for step in range(40):
        action = rng.choice(["open", "open", "move", "close", "reopen", "delete", "clock"])
        if action == "open" or not made:
            kind = rng.choice(["delete", "access_categories", *OPT_OUTS])
            made.append(_request(client, rng.choice(heads), step, kind))
        elif action == "clock":
            now += dt.timedelta(days=rng.choice([1, 3, 8, 30]), microseconds=rng.randint(0, 10**6))
        else:
            target = rng.choice(made)
            with runtime.db.engine.begin() as conn:
                if action == "move":
                    due = now + dt.timedelta(days=rng.uniform(-30, 30))
                    conn.execute(
                        text("UPDATE rights_requests SET due_at = :d WHERE id = :i"),
                        {"d": _stamp(due, runtime), "i": target},
                    )
                elif action in ("close", "reopen"):
                    closed = _stamp(now, runtime) if action == "close" else None
                    conn.execute(
                        text("UPDATE rights_requests SET closed_at = :c WHERE id = :i"),
                        {"c": closed, "i": target},
                    )
                else:
                    conn.execute(text("DELETE FROM rights_requests WHERE id = :i"), {"i": target})
                    made.remove(target)
        expected = _oracle(runtime, ids, now)
        assert _figures(runtime, orgs, now, warm) == expected, (step, action)
        assert _figures(runtime, orgs, now, desk.RequestCounts()) == expected, (step, action)
    # The plain path (no cache) gives the same figures.
    with runtime.db.read_session() as session:
        plain = desk.summary(session, orgs, now)
    assert {
        r.organization.id: tuple(getattr(r, n) for n in FIGURES) for r in plain.organizations
    } == _oracle(runtime, ids, now)
    # Something was counted in every figure along the way.
    assert sum(made) and any(v[1] for v in expected.values())
