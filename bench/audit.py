"""Audit chain verification: entries/s of the old ORM walk (before) and the raw-row batched
walk (after), and the console's checkpoint against a full walk.

    .venv/bin/python bench/audit.py                    # 200,000 entries (about 1 min)
    .venv/bin/python bench/audit.py --entries 1000000

Loads one organization's chain with plain inserts of correctly hashed entries into a throw-away
SQLite database, then times, each in a fresh session: `verify` (what the dashboard did on every
visit), `check_new` with no checkpoint (the first visit), `check_new` with 0 and with 100 new
entries (every later visit), and the batched full walk the daily job and the console button
run. `before_orm_entries_per_s` is the walk as it was up to issue 22 (one transaction, ORM
objects, reproduced here since the code no longer has it); `after_entries_per_s` is
`verify_chain(full=True)` (raw rows, batches of read transactions), in the same run. The
temporary database is removed at the end. Figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor, AuditEntry, append, head, verify  # noqa: E402
from honorbound.audit.chain import entry_hash  # noqa: E402
from honorbound.audit.checkpoints import (  # noqa: E402
    check_full,
    check_full_in_batches,
    check_new,
    verify_chain,
)
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402

ACTOR = Actor("user:1", "admin")


CPU: dict[str, float] = {}
ORM = "before: ORM walk, one transaction"
RAW = "after: verify_chain(full=True), raw rows in read batches"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    if args.entries < 1:
        parser.error(f"--entries must be at least 1, got {args.entries}")
    tmp = Path(tempfile.mkdtemp(prefix="hb-bench-audit-"))
    (tmp / "data").mkdir()
    settings = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'hb.db'}",
        keystore_url=f"sqlite:///{tmp / 'keys.db'}",
        master_key=secrets.token_hex(32),
        base_url="http://127.0.0.1",
    )
    migrate.upgrade(settings.database_url)
    rt = build_runtime(settings, immediate_jobs=True)
    with rt.db.session() as session:
        org_id = create_organization(session, "bench", "Bench", Actor("bench", "system")).id
    with rt.db.session() as session:
        seq, prev = head(session, org_id)
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        rows: list[dict[str, Any]] = []
        for i in range(args.entries):
            seq += 1
            entry = AuditEntry(
                organization_id=org_id,
                seq=seq,
                at=start + dt.timedelta(seconds=i),
                actor=ACTOR.id,
                role=ACTOR.role,
                action="bench.action",
                object_type="thing",
                object_id=str(i),
                details={"index": i},
                prev_hash=prev,
            )
            entry.hash = prev = entry_hash(entry)
            rows.append({c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns})
            rows[-1].pop("id")
            if len(rows) == 20_000:
                session.execute(insert(AuditEntry), rows)
                rows = []
        if rows:
            session.execute(insert(AuditEntry), rows)

    def full() -> Any:
        with rt.db.session() as session:
            return verify(session, org_id)

    def visit() -> Any:
        with rt.db.session() as session:
            return check_new(session, org_id)

    def before_orm() -> int:
        with rt.db.session() as session:
            return orm_walk(session, org_id)

    orm_s, orm_entries = timed(ORM, before_orm)
    raw_s, raw_status = timed(
        RAW,
        lambda: verify_chain(rt.db, org_id, full=True),
    )
    assert raw_status.ok and raw_status.entries == orm_entries

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
    shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"entries={total} before_orm_entries_per_s={orm_entries / orm_s:.0f} "
        f"after_entries_per_s={raw_status.entries / raw_s:.0f} "
        f"before_orm_entries_per_cpu_s={orm_entries / CPU[ORM]:.0f} "
        f"after_entries_per_cpu_s={raw_status.entries / CPU[RAW]:.0f} "
        f"verify_ms={verify_s * 1000:.0f} first_visit_ms={first_s * 1000:.0f} "
        f"visit_0_new_ms={idle_s * 1000:.1f} visit_100_new_ms={new_s * 1000:.1f} "
        f"full_batched_ms={batched_s * 1000:.0f} write_wait_one_txn_ms={wait_single * 1000:.0f} "
        f"write_wait_batched_ms={wait_batched * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
