"""Audit chain verification: entries/s of the walks before and after issue 22, and the
console's checkpoint against a full walk, on SQLite or PostgreSQL.

    .venv/bin/python bench/audit.py                    # 200,000 entries, SQLite
    .venv/bin/python bench/audit.py --entries 1000000
    ./scripts/with-postgres.sh sh -c \
        '.venv/bin/python bench/audit.py --database-url "$HONORBOUND_TEST_DATABASE_URL"'

Loads one organization's chain with plain inserts of correctly hashed entries into a throw-away
database (a temporary SQLite file, or a database created for the run on the PostgreSQL server
given, dropped at the end), then times, each in a fresh session: `verify` (what the dashboard
did on every visit), `check_new` with no checkpoint (the first visit), `check_new` with 0 and
with 100 new entries (every later visit), and the batched full walk the daily job and the
console button run. Walks compared in the same run: `before_orm` (one transaction, ORM objects,
up to issue 22), `before_raw` (SQLAlchemy rows, every entry's details parsed and re-encoded:
up to the driver-cursor walk), `after` (`verify_chain(full=True)`), and `after_old_format` (the
same walk over a second chain whose details are stored as they were before `compact_json`,
with spaces). Figures are printed last as key=value pairs; `*_per_cpu_s` is per CPU-second of
this process (on a shared machine the wall figure is the share it got).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from throwaway import throwaway_database  # noqa: E402

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor, AuditEntry, append, head, verify  # noqa: E402
from honorbound.audit.chain import _COLUMNS, _raw_hash, _Row, entry_hash  # noqa: E402
from honorbound.audit.checkpoints import (  # noqa: E402
    check_full,
    check_full_in_batches,
    check_new,
    verify_chain,
)
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.db.engine import Database  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402

ACTOR = Actor("user:1", "admin")


CPU: dict[str, float] = {}
ORM = "before: ORM walk, one transaction"
BEFORE_RAW = "before: SQLAlchemy rows, details parsed and re-encoded"
RAW = "after: verify_chain(full=True), driver cursor in read batches"
OLD = "after, entries stored before compact_json"


def timed(label: str, call: Callable[[], Any]) -> tuple[float, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    took = time.perf_counter() - start
    # CPU-seconds of this process: on a loaded machine the wall figure is the share it got.
    CPU[label] = time.process_time() - cpu
    print(f"{label}: {took * 1000:.1f} ms (cpu {CPU[label] * 1000:.1f} ms)", flush=True)
    return took, result


def orm_walk(session: Any, organization_id: int) -> int:
    """The walk before issue 22: every entry loaded as an ORM object, in one transaction."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.organization_id == organization_id)
        .order_by(AuditEntry.seq, AuditEntry.id)
        .execution_options(yield_per=1000)
    )
    expected, prev, verified = 1, "0" * 64, 0
    for entry in session.scalars(stmt):
        if entry.seq != expected or entry.prev_hash != prev or entry_hash(entry) != entry.hash:
            raise AssertionError(f"chain broken at seq {entry.seq}")
        prev, expected, verified = entry.hash, expected + 1, verified + 1
    return verified


def raw_walk(session: Any, organization_id: int) -> int:
    """The walk up to the driver-cursor walk: SQLAlchemy Core rows of `_COLUMNS`, every
    entry's canonical JSON built by `_raw_hash` (details parsed and re-encoded)."""
    stmt = (
        select(*_COLUMNS)
        .where(_COLUMNS[1] == organization_id)
        .order_by(AuditEntry.seq, AuditEntry.id)
        .execution_options(yield_per=2000)
    )
    expected, prev, verified = 1, "0" * 64, 0
    for rows in session.connection().execute(stmt).partitions():
        for row in rows:
            _, org, seq, at, actor, role, action, otype, oid, details, prev_hash, digest = row
            if seq != expected or prev_hash != prev:
                raise AssertionError(f"chain broken at seq {seq}")
            if _raw_hash(org, seq, at, actor, role, action, otype, oid, details, prev) != digest:
                raise AssertionError(f"chain broken at seq {seq}")
            prev, expected, verified = digest, expected + 1, verified + 1
    return verified


def load_chain(db: Database, organization_id: int, entries: int) -> None:
    """`entries` correctly hashed entries after the chain's head, inserted 20,000 a statement
    (details stored by `db`'s JSON serializer)."""
    with db.session() as session:
        seq, prev = head(session, organization_id)
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        rows: list[dict[str, Any]] = []
        for i in range(entries):
            seq += 1
            row = _Row(organization_id, seq, start + dt.timedelta(seconds=i, microseconds=i),
                       ACTOR.id, ACTOR.role, "bench.action", "thing", str(i),
                       {"index": i, "rule": "keep-6y"}, prev)  # fmt: skip
            prev = entry_hash(row)
            rows.append({**row.__dict__, "hash": prev})
            if len(rows) == 20_000:
                session.execute(insert(AuditEntry), rows)
                rows = []
        if rows:
            session.execute(insert(AuditEntry), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite file)")
    args = parser.parse_args()
    if args.entries < 1:
        parser.error(f"--entries must be at least 1, got {args.entries}")
    tmp = Path(tempfile.mkdtemp(prefix="hb-bench-audit-"))
    (tmp / "data").mkdir()
    url, drop = throwaway_database(args.database_url, tmp, "audit")
    try:
        run(args.entries, url, tmp)
    finally:
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(entries: int, url: str, tmp: Path) -> None:
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        keystore_url=f"sqlite:///{tmp / 'keys.db'}",
        master_key=secrets.token_hex(32),
        base_url="http://127.0.0.1",
    )
    migrate.upgrade(settings.database_url)
    rt = build_runtime(settings, immediate_jobs=True)
    with rt.db.session() as session:
        org_id = create_organization(session, "bench", "Bench", Actor("bench", "system")).id
        old_org = create_organization(session, "old", "Old", Actor("bench", "system")).id
    load_chain(rt.db, org_id, entries)
    # The same chain for another organization, details stored with spaces (json.dumps).
    old_db = Database(url, json_serializer=json.dumps)
    load_chain(old_db, old_org, entries)
    old_db.dispose()

    def full() -> Any:
        with rt.db.session() as session:
            return verify(session, org_id)

    def visit() -> Any:
        with rt.db.session() as session:
            return check_new(session, org_id)

    def before_orm() -> int:
        with rt.db.session() as session:
            return orm_walk(session, org_id)

    def before_raw() -> int:
        with rt.db.read_session() as session:
            return raw_walk(session, org_id)

    orm_s, orm_entries = timed(ORM, before_orm)
    before_raw_s, before_raw_entries = timed(BEFORE_RAW, before_raw)
    raw_s, raw_status = timed(RAW, lambda: verify_chain(rt.db, org_id, full=True))
    assert raw_status.ok and raw_status.entries == orm_entries == before_raw_entries
    old_s, old_status = timed(OLD, lambda: verify_chain(rt.db, old_org, full=True))
    assert old_status.ok and old_status.entries == raw_status.entries

    verify_s, result = timed("verify() on every visit (raw rows, one session)", full)
    assert result.ok, result.problems
    first_s, _ = timed("first visit, no checkpoint yet (full walk)", visit)
    idle_s, status = timed("after: visit, 0 new entries", visit)
    assert status.ok and status.new_entries == 0
    with rt.db.session() as session:
        for _ in range(100):
            append(session, org_id, ACTOR, "bench.more")
    new_s, status = timed("after: visit, 100 new entries", visit)
    assert status.ok and status.new_entries == 100
    batched_s, status = timed(
        "full walk in batches (job)", lambda: check_full_in_batches(rt.db, org_id)
    )
    assert status.ok

    # How long one audited write (what every request does) waits while a full walk runs.
    def writer_wait(walk: Callable[[], Any]) -> float:
        walker = threading.Thread(target=walk)
        walker.start()
        try:
            time.sleep(0.2)
            start = time.perf_counter()
            with rt.db.session() as session:
                append(session, org_id, ACTOR, "bench.write")
            return time.perf_counter() - start
        finally:
            walker.join()  # the walk's lock is gone before the next measurement

    def waited_or_failed(walk: Callable[[], Any]) -> float:
        # The one-transaction walk can hold the write lock past the busy timeout on a loaded
        # machine: the write then fails (what issue 22 reports); -1 says so.
        try:
            return writer_wait(walk)
        except OperationalError:
            return -1.0

    def one_transaction() -> None:
        with rt.db.session() as session:
            check_full(session, org_id)

    wait_single = waited_or_failed(one_transaction)
    wait_batched = waited_or_failed(lambda: check_full_in_batches(rt.db, org_id))
    print(
        f"a write during a one-transaction walk waited {wait_single * 1000:.0f} ms, "
        f"during the batched walk {wait_batched * 1000:.0f} ms",
        flush=True,
    )
    with rt.db.session() as session:
        total = session.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.organization_id == org_id)
            .order_by(AuditEntry.seq.desc())
        )
    rt.close()
    print(
        f"database={rt.db.dialect} entries={total} "
        f"before_orm_entries_per_s={orm_entries / orm_s:.0f} "
        f"before_raw_entries_per_s={before_raw_entries / before_raw_s:.0f} "
        f"after_entries_per_s={raw_status.entries / raw_s:.0f} "
        f"after_old_format_entries_per_s={old_status.entries / old_s:.0f} "
        f"before_orm_entries_per_cpu_s={orm_entries / CPU[ORM]:.0f} "
        f"before_raw_entries_per_cpu_s={before_raw_entries / CPU[BEFORE_RAW]:.0f} "
        f"after_entries_per_cpu_s={raw_status.entries / CPU[RAW]:.0f} "
        f"after_old_format_entries_per_cpu_s={old_status.entries / CPU[OLD]:.0f} "
        f"verify_ms={verify_s * 1000:.0f} first_visit_ms={first_s * 1000:.0f} "
        f"visit_0_new_ms={idle_s * 1000:.1f} visit_100_new_ms={new_s * 1000:.1f} "
        f"full_batched_ms={batched_s * 1000:.0f} write_wait_one_txn_ms={wait_single * 1000:.0f} "
        f"write_wait_batched_ms={wait_batched * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
