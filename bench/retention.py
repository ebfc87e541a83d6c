"""Retention sweep speed: N records of which a tenth are due, on SQLite.

    .venv/bin/python bench/retention.py                       # 10,000,000 records, 1,000,000 due
    .venv/bin/python bench/retention.py --records 1000000     # smaller

Target (issue 8): 10,000,000 records of which 1,000,000 are due: the sweep completes in < 60 s
on SQLite with memory under 500 MB.

The table is bulk-loaded with SQL (random bytes stand in for ciphertexts: nothing is decrypted
by a sweep). Every tenth record is a call recording collected 100-400 days ago, which the
declaration keeps 90 days; the rest are recent recordings and contact details of customers
active this month. Due records are spread evenly over the table (the hard case: every page
is touched). The sweep runs in a child process through `honorbound.retention.sweep.sweep`
(batches, audit entries, disposal log, signed certificates, one transaction per batch) and
its peak resident memory is read from the kernel. Figures print last as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DECLARATION = """\
schema: honorbound/declaration/v1
organization: {name: Bench Contact Center}
contact: {email: privacy@example.test}
effective_date: 2026-01-01
subjects: [{id: customer, name: Customers}]
categories:
  - {key: user.contact, subjects: all}
  - {key: user.contact_center.call_recording, subjects: all}
purposes:
  - id: support
    name: Support
    use: essential.service
    categories: [user.contact, user.contact_center.call_recording]
retention:
  - id: recordings
    categories: [user.contact_center.call_recording]
    triggers: [{trigger: after_collection, period: P90D}]
  - id: customers
    categories: [user.contact]
    triggers: [{trigger: after_last_activity, period: P6Y}]
children: {minimum_age: 13, on_discovery: delete}
changes: {methods: [post_on_website]}
"""


def setup(path: Path, records: int, scattered: bool) -> int:
    from honorbound.accounts.service import create_organization
    from honorbound.audit import Actor
    from honorbound.db import migrate
    from honorbound.db.engine import Database
    from honorbound.policy.store import adopt_text

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    actor = Actor("bench", "system")
    with db.session() as session:
        org = create_organization(session, "bench", "Bench", actor)
        adopt_text(session, org.id, DECLARATION, actor)
        org_id = org.id
    db.dispose()
    subjects = max(1, records // 10)
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;
        DROP INDEX IF EXISTS ix_vault_records_org_category;
        DROP INDEX IF EXISTS ix_vault_records_subject_id;
        DROP INDEX IF EXISTS ix_vault_records_org_category_collected;
        """
    )
    conn.execute(
        """
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
        INSERT INTO vault_subjects (organization_id, key_id, type, status, created_at,
                                    last_activity_at)
        SELECT ?, printf('%032x', x), 'customer', 'active',
               printf('%s.000000', datetime('now', '-900 days')),
               printf('%s.000000', datetime('now', '-' || (x % 30) || ' days'))
        FROM c
        """,
        (subjects, org_id),
    )
    # Records arrive in collection order (ids grow with time) over the last 120 days; 40% are
    # call recordings, kept 90 days, so the oldest quarter of them (10% of all) are due.
    # `--scattered` instead gives every tenth record an old date: due rows on every page.
    if scattered:
        when = """CASE WHEN x % 10 = 0
                 THEN printf('%s.000000', datetime('now', '-' || (100 + x % 300) || ' days'))
                 ELSE printf('%s.000000', datetime('now', '-' || (x % 80) || ' days')) END"""
        category = """CASE WHEN x % 10 = 0 OR x % 3 = 0 THEN 'user.contact_center.call_recording'
                     ELSE 'user.contact.email' END"""
    else:
        when = """printf('%s.000000', datetime('now', '-120 days',
                                      '+' || (x * 10368000 / :n) || ' seconds'))"""
        category = """CASE WHEN x % 5 < 2 THEN 'user.contact_center.call_recording'
                     ELSE 'user.contact.email' END"""
    conn.execute(
        f"""
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
        INSERT INTO vault_records (organization_id, subject_id, category, purposes, source,
                                   policy_version_id, collected_at, value_sealed)
        SELECT :org, (x * 7919 % :subjects) + 1, {category}, '["support"]', 'bench', 1, {when},
               randomblob(44)
        FROM c
        """,
        {"n": records, "org": org_id, "subjects": subjects},
    )
    conn.commit()
    conn.executescript(
        """
        CREATE INDEX ix_vault_records_org_category ON vault_records (organization_id, category);
        CREATE INDEX ix_vault_records_subject_id ON vault_records (subject_id);
        CREATE INDEX ix_vault_records_org_category_collected
            ON vault_records (organization_id, category, collected_at);
        ANALYZE;
        """
    )
    conn.commit()
    conn.close()
    return org_id


def run_sweep(path: Path, org_id: int, master_key: str) -> None:
    """Child process: one sweep, then its figures as JSON on stdout."""
    from honorbound.audit import Actor
    from honorbound.crypto.keyring import KeyRing
    from honorbound.db.engine import Database
    from honorbound.retention.sweep import sweep
    from honorbound.vault.keystore import KeyStore

    db = Database(f"sqlite:///{path}")
    keys = KeyRing(bytes.fromhex(master_key))
    vault_keys = KeyStore(f"sqlite:///{path.with_name('keys.db')}", keys)
    started = time.perf_counter()
    result = sweep(db, keys, vault_keys, org_id, Actor.system())
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries the parent's peak over fork+exec into ru_maxrss.
    peak = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records": result.records,
                "batches": result.batches,
                "peak_rss_kb": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="Where the database goes.")
    parser.add_argument(
        "--scattered", action="store_true", help="Due records spread over every page."
    )
    parser.add_argument("--phase", choices=["all", "sweep"], default="all", help=argparse.SUPPRESS)
    parser.add_argument("--org", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.records < 10:
        parser.error("--records must be at least 10")
    if args.phase == "sweep":
        run_sweep(args.dir / "bench.db", args.org, args.key)
        return
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="hb-retention-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "bench.db"
    for leftover in workdir.glob("*.db*"):
        leftover.unlink()
    master_key = secrets.token_hex(32)
    started = time.perf_counter()
    org_id = setup(path, args.records, args.scattered)
    load_seconds = time.perf_counter() - started
    conn = sqlite3.connect(path)
    due = conn.execute(
        "SELECT count(*) FROM vault_records WHERE category = 'user.contact_center.call_recording'"
        " AND collected_at < datetime('now', '-90 days')"
    ).fetchone()[0]
    conn.close()
    print(f"loaded {args.records:,} records ({due:,} due) in {load_seconds:.1f} s", flush=True)
    child = subprocess.Popen(
        [sys.executable, __file__, "--phase", "sweep", "--dir", str(workdir),
         "--org", str(org_id), "--key", master_key],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        sys.exit(f"sweep failed:\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    peak_mb = figures["peak_rss_kb"] / 1024
    conn = sqlite3.connect(path)
    left_due = conn.execute(
        "SELECT count(*) FROM vault_records WHERE category = 'user.contact_center.call_recording'"
        " AND collected_at < datetime('now', '-91 days')"
    ).fetchone()[0]
    left = conn.execute("SELECT count(*) FROM vault_records").fetchone()[0]
    logged = conn.execute("SELECT coalesce(sum(records), 0) FROM retention_disposals").fetchone()[0]
    conn.close()
    if left_due or logged != figures["records"] or left != args.records - figures["records"]:
        sys.exit(f"wrong result: {left_due} due left, {logged} logged, {left} records left")
    print(
        f"records={args.records} due={due} disposed={figures['records']} "
        f"batches={figures['batches']} sweep_seconds={figures['seconds']:.1f} "
        f"peak_rss_mb={peak_mb:.0f} "
        f"records_per_second={figures['records'] / figures['seconds']:.0f}"
    )


if __name__ == "__main__":
    main()
