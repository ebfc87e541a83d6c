"""The cross-client desk at BPO size: 50 clients, 100,000 open requests.

    .venv/bin/python bench/desk.py                               # SQLite (a temp file)
    scripts/with-postgres.sh .venv/bin/python bench/desk.py      # PostgreSQL on loopback

Target (issue 20): one desk page (the per-client counts and a page of 50 requests by due
date, what /console/all-clients and /v1/desk + /v1/desk/requests answer) in under 200 ms, for
a staff member of all 50 clients, on page 1 and deep pages alike.

The requests are inserted in bulk (plain rows, no sealed contact data: the desk reads none),
spread over the clients with due dates from 60 days ago to 60 days ahead, plus closed ones the
index must skip. The measured calls are the domain functions the routes call
(`bpo.desk.summary`, `bpo.desk.due_requests`), each in a fresh read-only session, with the
runtime's request-count cache as the routes pass it (`summary_cold_ms`: the first summary of a
process, which fills the cache; `summary_uncached_p50_ms`: the summary without the cache, four
counts over the index). Figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.bpo import desk  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.rights.models import RequestType, RightsRequest, Status  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402

ACTOR = Actor("bench", "system")
TYPES = [t.value for t in RequestType if t is not RequestType.APPEAL]
OPEN = [s.value for s in (Status.RECEIVED, Status.VERIFYING, Status.IN_PROGRESS)]


def _database(tmp: Path) -> tuple[str, str]:
    """(url, label): a fresh PostgreSQL database when with-postgres.sh set one up."""
    server = os.environ.get("HONORBOUND_TEST_DATABASE_URL", "")
    if not server:
        return f"sqlite:///{tmp / 'desk.db'}", "sqlite"
    name = f"bench_desk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), "postgresql"


def _load(runtime: object, clients: int, open_requests: int, closed: int) -> list[int]:
    db = runtime.db  # type: ignore[attr-defined]
    with db.session() as session:
        bpo = create_organization(session, "bench-bpo", "Bench BPO", ACTOR)
        ids = [
            create_organization(session, f"client-{n:03d}", f"Client {n:03d}", ACTOR, bpo.id).id
            for n in range(clients)
        ]
    rng = random.Random(20)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for n in range(open_requests + closed):
        received = now - dt.timedelta(days=rng.uniform(0, 45))
        due = now + dt.timedelta(days=rng.uniform(-60, 60))
        done = n >= open_requests
        rows.append(
            {
                "organization_id": ids[n % clients],
                "reference": f"B-{n:010d}",
                "type": rng.choice(TYPES),
                "status": Status.COMPLETED.value if done else rng.choice(OPEN),
                "manner": "portal",
                "jurisdiction": "CA",
                "contact_index": secrets.token_hex(32),
                "received_at": received,
                "acknowledge_by": received + dt.timedelta(days=10),
                "due_at": due,
                "retain_until": received + dt.timedelta(days=730),
                "closed_at": received + dt.timedelta(days=5) if done else None,
            }
        )
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(RightsRequest), rows[start : start + 5000])
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return [bpo.id, *ids]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=60, help="desk pages to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, label = _database(tmp)
        migrate.upgrade(url)
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            keystore_url=f"sqlite:///{tmp / 'keys.db'}",
            master_key=secrets.token_hex(32),
        )
        runtime = build_runtime(settings)
        started = time.perf_counter()
        org_ids = _load(runtime, args.clients, args.requests, args.closed)
        loaded = time.perf_counter() - started
        with runtime.db.read_session() as session:
            everyone = [
                o for o in desk.organizations_of_bpo(session, org_ids[0]) if o.id != org_ids[0]
            ]
        assert len(everyone) == args.clients
        counts = runtime.desk_counts
        t0 = time.perf_counter()
        with runtime.db.read_session() as session:
            desk.summary(session, everyone, counts=counts)
        cold = (time.perf_counter() - t0) * 1000
        uncached = []
        for _ in range(10):
            t0 = time.perf_counter()
            with runtime.db.read_session() as session:
                desk.summary(session, everyone)
            uncached.append((time.perf_counter() - t0) * 1000)
        summaries, pages, totals = [], [], []
        cursor: str | None = None
        seen = 0
        for n in range(args.pages):
            # Walk forward; every tenth page starts again (page 1 is timed too).
            if n % 10 == 0:
                cursor = None
            t0 = time.perf_counter()
            with runtime.db.read_session() as session:
                found = desk.summary(session, everyone, counts=counts)
            t1 = time.perf_counter()
            with runtime.db.read_session() as session:
                page = desk.due_requests(session, everyone, cursor)
            t2 = time.perf_counter()
            summaries.append((t1 - t0) * 1000)
            pages.append((t2 - t1) * 1000)
            totals.append((t2 - t0) * 1000)
            assert found.totals["open_requests"] == args.requests
            assert len(page.items) == desk.PAGE_SIZE
            assert all(
                a.due_at <= b.due_at for a, b in zip(page.items, page.items[1:], strict=False)
            )
            seen += len(page.items)
            cursor = page.next_cursor
        # A deep page: the cursor of the request in the middle of the due order.
        with runtime.db.read_session() as session:
            middle = session.execute(
                text(
                    "SELECT due_at, id FROM rights_requests WHERE closed_at IS NULL "
                    "ORDER BY due_at, id LIMIT 1 OFFSET :n"
                ),
                {"n": args.requests // 2},
            ).one()
        due = (
            middle[0]
            if isinstance(middle[0], dt.datetime)
            else dt.datetime.fromisoformat(str(middle[0]))
        )
        deep_cursor = desk.encode_cursor(due.replace(tzinfo=due.tzinfo or dt.UTC), int(middle[1]))
        deep = []
        for _ in range(10):
            t0 = time.perf_counter()
            with runtime.db.read_session() as session:
                desk.summary(session, everyone, counts=counts)
                page = desk.due_requests(session, everyone, deep_cursor)
            deep.append((time.perf_counter() - t0) * 1000)
            assert len(page.items) == desk.PAGE_SIZE
        one = [everyone[7]]
        filtered = []
        for _ in range(10):
            t0 = time.perf_counter()
            with runtime.db.read_session() as session:
                desk.summary(session, one, counts=counts)
                desk.due_requests(session, one, None)
            filtered.append((time.perf_counter() - t0) * 1000)
        runtime.close()
    load = os.getloadavg()[0]
    print(
        f"database={label} clients={args.clients} open_requests={args.requests} "
        f"closed={args.closed} load_s={loaded:.1f} pages_timed={len(totals)} "
        f"summary_cold_ms={cold:.1f} summary_uncached_p50_ms={statistics.median(uncached):.1f} "
        f"summary_p50_ms={statistics.median(summaries):.1f} "
        f"summary_p99_ms={_pct(summaries, 0.99):.1f} "
        f"requests_page_p50_ms={statistics.median(pages):.1f} "
        f"requests_page_p99_ms={_pct(pages, 0.99):.1f} "
        f"desk_page_p50_ms={statistics.median(totals):.1f} "
        f"desk_page_p99_ms={_pct(totals, 0.99):.1f} "
        f"deep_page_p50_ms={statistics.median(deep):.1f} "
        f"one_client_page_p50_ms={statistics.median(filtered):.1f} "
        f"target_ms=200 loadavg_1m={load:.2f}"
    )


if __name__ == "__main__":
    main()
