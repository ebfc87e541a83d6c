"""Breach response: selecting the affected people among N subjects, on SQLite.

    .venv/bin/python bench/breach.py                      # 1,000,000 subjects
    .venv/bin/python bench/breach.py --subjects 100000    # quicker

Target (issue 25): selecting the affected people among 1,000,000 subjects (category, system
and time window, then the counts by state) in < 10 s.

The vault is bulk-loaded with SQL (random bytes stand in for ciphertexts: selection decrypts
nothing). Every subject has a state and two records: an address from the CRM or the billing
system (half each), an email from the CRM; a third of them had a call or a chat in Oct-Nov
2026. Two selections: contact data from the CRM held before the incident ended together with
a chat during it (about 5% of all subjects), and contact data from the CRM held before the
incident ended (the wide case: about 96%), spread over every page. Each selection runs
for its own incident through `honorbound.breach.selection.select_affected` (one INSERT ...
SELECT, the counts by state, the audit entry), and the wide one runs again (a selection
replaces the previous one). Wall and CPU seconds and the 1-minute load average print last as
key=value pairs: on a shared machine the wall time follows the load, the CPU time much less.

    .venv/bin/python bench/breach.py --notices 2000       # notice generation for 2,000 people

`--notices N` measures the other half instead: notice generation for N affected people. N
fictional people (Faker) are collected into a fresh vault through the vault's own functions
(real per-person keys and sealed values: notices decrypt each person's email), spread over
twelve states, one in ten without an email (a letter). Timed, each in its own transaction:
`send_individual_notices` (render each person's notice from the state's fragments, decrypt
their email, seal the message under their key into the outbox; delivery by the worker is not
part of it), `prepare_documents` (the regulator and client documents), and printing up to 200
of the letters as PDF (ReportLab; skipped when it is not installed). Figures print last.

    .venv/bin/python bench/breach.py --files-mb 8         # a files system read whole

`--files-mb M` measures a selection reading a connected files system whole (`read_files`):
M MiB of JSONL in eight files in a local folder (a synthetic `pN@example.test` address and a
state per row), one person in a hundred collected into the vault first; the selection opts in
to `notify_unknown`, so every other address is sealed under a key of its own and stored.
Timed: `select_affected` (read, normalize, blind index, match, key creation and sealing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
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
purposes:
  - id: support
    name: Support
    use: essential.service
    categories: [user.contact]
retention:
  - id: customers
    categories: [user.contact]
    triggers: [{trigger: after_last_activity, period: P6Y}]
children: {minimum_age: 13, on_discovery: delete}
changes: {methods: [post_on_website]}
"""
STATES = ("CA", "NY", "TX", "FL", "OR", "WA", "IL", "CT", "NJ", "MA", "GA", "PA")


def setup(path: Path, subjects: int) -> tuple[int, list[int]]:
    from honorbound.accounts.service import create_organization
    from honorbound.audit import Actor
    from honorbound.breach.incidents import create_incident
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
        made = [
            create_incident(
                session, org.id,
                {"title": f"bench {n}", "owner": "bench",
                 "discovered_at": dt.datetime(2026, 11, 2, 15, tzinfo=dt.UTC)},
                actor,
            ).id
            for n in (1, 2)
        ]  # fmt: skip
        org_id = org.id
    db.dispose()
    states = " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STATES))
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;
        DROP INDEX IF EXISTS ix_vault_records_org_category;
        DROP INDEX IF EXISTS ix_vault_records_subject_id;
        DROP INDEX IF EXISTS ix_vault_interactions_subject_id;
        """
    )
    conn.execute(
        f"""
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
        INSERT INTO vault_subjects (organization_id, key_id, type, jurisdiction, status,
                                    created_at, last_activity_at)
        SELECT :org, printf('%032x', x), 'customer',
               CASE (x * 7 % {len(STATES)}) {states} END,
               CASE WHEN x % 97 = 0 THEN 'erased' ELSE 'active' END,
               '2025-01-01 00:00:00.000000', '2026-10-01 00:00:00.000000'
        FROM c
        """,
        {"n": subjects, "org": org_id},
    )
    # Two records a subject; collected over 2025-2026 (a sixth after the incident ended).
    conn.execute(
        """
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
        INSERT INTO vault_records (organization_id, subject_id, category, purposes, source,
                                   policy_version_id, collected_at, value_sealed)
        SELECT :org, (x + 1) / 2,
               CASE WHEN x % 2 = 0 THEN 'user.contact.address' ELSE 'user.contact.email' END,
               '["support"]',
               CASE WHEN x % 2 = 1 OR x % 4 = 0 THEN 'web_form' ELSE 'call' END, 1,
               printf('%s.000000', datetime('2025-01-01', '+' || (x * 13 % 700) || ' days')),
               randomblob(44)
        FROM c
        """,
        {"n": subjects * 2, "org": org_id},
    )
    conn.execute(
        """
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
        INSERT INTO vault_interactions (organization_id, subject_id, channel, direction,
                                        started_at, tags, findings, created_at)
        SELECT :org, x * 3, CASE WHEN x % 2 = 0 THEN 'chat' ELSE 'call' END, 'inbound',
               printf('%s.000000', datetime('2026-10-01', '+' || (x % 60) || ' days')),
               '[]', '{}', '2026-10-01 00:00:00.000000'
        FROM c
        """,
        {"n": subjects // 3, "org": org_id},
    )
    conn.commit()
    conn.executescript(
        """
        CREATE INDEX ix_vault_records_org_category ON vault_records (organization_id, category);
        CREATE INDEX ix_vault_records_subject_id ON vault_records (subject_id);
        CREATE INDEX ix_vault_interactions_subject_id ON vault_interactions (subject_id);
        ANALYZE;
        """
    )
    conn.commit()
    conn.close()
    return org_id, made


def notices_bench(people: int, workdir: Path) -> None:
    import secrets

    from faker import Faker

    from honorbound.accounts.service import create_organization
    from honorbound.audit import Actor
    from honorbound.breach import letters, notices
    from honorbound.breach.incidents import create_incident
    from honorbound.breach.models import Notice
    from honorbound.breach.selection import criteria, select_affected
    from honorbound.config import Settings
    from honorbound.db import migrate
    from honorbound.policy.store import adopt_text
    from honorbound.runtime import build_runtime
    from honorbound.vault.collection import add_record
    from honorbound.vault.identities import IdentityKind
    from honorbound.vault.rules import current_rules
    from honorbound.vault.subjects import IdentityInput, upsert_subject

    url = f"sqlite:///{workdir / 'notices.db'}"
    migrate.upgrade(url)
    rt = build_runtime(
        Settings(data_dir=workdir / "data", database_url=url, master_key=secrets.token_hex(32),
                 keystore_url=f"sqlite:///{workdir / 'keys.db'}"),
        immediate_jobs=False, transports=False,
    )  # fmt: skip
    actor = Actor("bench", "system")
    fake = Faker("en_US")
    fake.seed_instance(25)
    started = time.perf_counter()
    try:
        with rt.db.session() as session:
            org = create_organization(session, "bench", "Bench Contact Center", actor)
            adopt_text(session, org.id, DECLARATION, actor)
            org_id, org_name = org.id, org.name
        done = 0
        while done < people:
            with rt.db.session() as session:
                rules = current_rules(session, org_id, rt.rules)
                assert rules is not None
                for n in range(done, min(people, done + 500)):
                    ids = [IdentityInput(IdentityKind.PHONE, f"+1212555{n:04d}")]
                    if n % 10:
                        ids.insert(0, IdentityInput(IdentityKind.EMAIL, f"p{n}@example.test"))
                    subject = upsert_subject(
                        session, rt.vault_keys, org_id, ids, actor, rules,
                        subject_type="customer", jurisdiction=STATES[n % len(STATES)],
                    ).subject  # fmt: skip
                    add_record(
                        session, rt.vault_keys, org_id, subject.id, "user.contact.address",
                        fake.street_address(), ["support"], "web_form", actor, rules,
                    )  # fmt: skip
            done = min(people, done + 500)
        with rt.db.session() as session:
            iid = create_incident(
                session, org_id,
                {"title": "bench", "owner": "bench", "categories": ["user.contact"],
                 "discovered_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=1)},
                actor,
            ).id  # fmt: skip
            select_affected(
                session, org_id, iid, criteria({"categories": ["user.contact"]}), actor,
                rt.vault_keys,
            )  # fmt: skip
        load_seconds = time.perf_counter() - started
        print(f"collected {people:,} people in {load_seconds:.1f} s", flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        with rt.db.session() as session:
            sent = notices.send_individual_notices(
                session, rt.keys, rt.vault_keys, None, rt.rules, rt.breach_wording, org_id,
                org_name, iid, actor, "en",
            )  # fmt: skip
        send_s, send_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        with rt.db.session() as session:
            documents = notices.prepare_documents(session, rt.rules, org_id, iid, actor)
        documents_s = time.perf_counter() - t0
        with rt.db.session() as session:
            letter_ids = list(
                session.scalars(
                    __import__("sqlalchemy")
                    .select(Notice.id)
                    .where(Notice.incident_id == iid, Notice.channel == "letter")
                    .limit(200)
                )
            )
        printed, letters_s = 0, 0.0
        try:
            import reportlab  # noqa: F401

            t0 = time.perf_counter()
            with rt.db.session() as session:
                for nid in letter_ids:
                    pdf = letters.letter_pdf(
                        session, rt.vault_keys, rt.rules, rt.breach_wording, org_id,
                        org_name, iid, nid, actor,
                    )  # fmt: skip
                    assert pdf.startswith(b"%PDF")
                    printed += 1
            letters_s = time.perf_counter() - t0
        except ImportError:
            print("reportlab is not installed: letters not printed")
    finally:
        rt.close()
    told = sent.emails + sent.letters
    if told + sent.not_required != people:
        sys.exit(f"expected {people} people, got {told} told and {sent.not_required} not")
    print(f"load_average_1m={os.getloadavg()[0]:.1f}")
    print(
        f"people={people} emails={sent.emails} letters={sent.letters} "
        f"not_required={sent.not_required} states={len(sent.by_state)} "
        f"send_seconds={send_s:.2f} send_cpu_seconds={send_cpu:.2f} "
        f"notices_per_second={told / send_s:.0f} documents={documents} "
        f"documents_seconds={documents_s:.2f} letters_printed={printed} "
        f"letter_pdf_ms={1000 * letters_s / max(printed, 1):.1f}"
    )


FILES_MAP = """\
dataset:
  - fides_key: exports
    name: Exports
    meta:
      honorbound:
        connection: {type: files, url: "file://ROOT"}
        collections:
          people: {path: "people/*.jsonl", format: jsonl}
    collections:
      - name: people
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: state, data_categories: [user.contact.address.state]}
          - {name: note, data_categories: [system.operations]}
"""


def files_bench(mb: int, workdir: Path) -> None:
    import json
    import resource
    import secrets

    from honorbound.accounts.service import create_organization
    from honorbound.audit import Actor
    from honorbound.breach.incidents import create_incident
    from honorbound.breach.selection import criteria, select_affected
    from honorbound.config import Settings
    from honorbound.db import migrate
    from honorbound.policy.store import adopt_text
    from honorbound.runtime import build_runtime
    from honorbound.systems import registry
    from honorbound.vault.identities import IdentityKind
    from honorbound.vault.rules import current_rules
    from honorbound.vault.subjects import IdentityInput, upsert_subject

    root = workdir / "exports"
    (root / "people").mkdir(parents=True, exist_ok=True)
    per_file = mb * 1024 * 1024 // 8
    rows = 0
    for f in range(8):
        with open(root / "people" / f"part-{f}.jsonl", "w", encoding="utf-8") as out:
            written = 0
            while written < per_file:
                line = json.dumps({"email": f"p{rows}@example.test", "state": STATES[rows % 12],
                                   "note": "ticket closed"}) + "\n"  # fmt: skip
                out.write(line)
                written += len(line)
                rows += 1
    total_bytes = sum(p.stat().st_size for p in (root / "people").iterdir())
    url = f"sqlite:///{workdir / 'files.db'}"
    migrate.upgrade(url)
    rt = build_runtime(
        Settings(data_dir=workdir / "data", database_url=url, master_key=secrets.token_hex(32),
                 keystore_url=f"sqlite:///{workdir / 'keys.db'}"),
        immediate_jobs=False, transports=False,
    )  # fmt: skip
    actor = Actor("bench", "system")
    try:
        with rt.db.session() as session:
            org = create_organization(session, "bench", "Bench Contact Center", actor)
            adopt_text(session, org.id, DECLARATION, actor)
            org_id = org.id
        with rt.db.session() as session:
            rules = current_rules(session, org_id, rt.rules)
            assert rules is not None
            for n in range(0, rows, 100):
                upsert_subject(
                    session, rt.vault_keys, org_id,
                    [IdentityInput(IdentityKind.EMAIL, f"p{n}@example.test")], actor, rules,
                    subject_type="customer", jurisdiction=STATES[n % 12],
                )  # fmt: skip
        text = FILES_MAP.replace("ROOT", str(root))
        with rt.db.read_session() as session:
            checked = registry.check_map(text, "exports.yaml", registry.connected(session, org_id))
        with rt.db.session() as session:
            registry.connect(session, org_id, checked, actor)
            iid = create_incident(
                session, org_id,
                {"title": "bench", "owner": "bench", "categories": ["user.contact"],
                 "discovered_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=1)},
                actor,
            ).id  # fmt: skip
        wanted = criteria(
            {"categories": ["user.contact"], "connected_systems": ["exports"], "read_files": True,
             "file_cap_bytes": max(per_file + 1024, 1), "system_cap_bytes": total_bytes + 1,
             "notify_unknown": True}
        )  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        with rt.db.session() as session:
            sel = select_affected(session, org_id, iid, wanted, actor, rt.vault_keys)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        rt.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    (x,) = sel.connected_search
    if x["bytes_read"] != total_bytes or sel.total != rows:
        sys.exit(
            f"expected {rows} people in {total_bytes} bytes, got {sel.total}, {x['bytes_read']}"
        )
    print(f"load_average_1m={os.getloadavg()[0]:.1f}")
    print(
        f"files_mb={mb} bytes_read={x['bytes_read']} rows={x['rows']} in_vault={x['in_vault']} "
        f"kept={sel.not_in_vault_kept} select_seconds={seconds:.2f} select_cpu_seconds={cpu:.2f} "
        f"mib_per_second={total_bytes / 1048576 / seconds:.2f} "
        f"rows_per_second={rows / seconds:.0f} max_rss_mib={rss / 1024:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--notices", type=int, default=None, help="Notice generation for N.")
    parser.add_argument("--dir", type=Path, default=None, help="Where the database goes.")
    parser.add_argument("--files-mb", type=int, default=None, help="A files system read whole.")
    args = parser.parse_args()
    if args.files_mb is not None:
        if not 1 <= args.files_mb <= 512:
            parser.error("--files-mb is 1 to 512")
        workdir = args.dir or Path(tempfile.mkdtemp(prefix="hb-breach-files-"))
        workdir.mkdir(parents=True, exist_ok=True)
        for leftover in workdir.glob("*.db*"):
            leftover.unlink()
        files_bench(args.files_mb, workdir)
        return
    if args.notices is not None:
        if args.notices < 12:
            parser.error("--notices must be at least 12 (one person per state)")
        workdir = args.dir or Path(tempfile.mkdtemp(prefix="hb-breach-notices-"))
        workdir.mkdir(parents=True, exist_ok=True)
        for leftover in workdir.glob("*.db*"):
            leftover.unlink()
        notices_bench(args.notices, workdir)
        return
    if args.subjects < 100:
        parser.error("--subjects must be at least 100")
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="hb-breach-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "bench.db"
    for leftover in workdir.glob("*.db*"):
        leftover.unlink()
    started = time.perf_counter()
    org_id, (first, second) = setup(path, args.subjects)
    print(f"loaded {args.subjects:,} subjects in {time.perf_counter() - started:.1f} s", flush=True)

    from honorbound.audit import Actor
    from honorbound.breach.selection import criteria, select_affected
    from honorbound.db.engine import Database

    db = Database(f"sqlite:///{path}")
    wanted = criteria(
        {"categories": ["user.contact"], "systems": ["web_form"], "channels": ["chat"],
         "window_from": "2026-10-15T00:00:00Z", "window_to": "2026-11-01T23:59:59Z"}
    )  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    with db.session() as session:
        chats = select_affected(session, org_id, first, wanted, Actor("bench", "system"))
    chat_seconds, chat_cpu = time.perf_counter() - started, time.process_time() - cpu
    wide = criteria({"categories": ["user.contact"], "systems": ["web_form"],
                     "window_to": "2026-11-01T23:59:59Z"})  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    with db.session() as session:
        held = select_affected(session, org_id, second, wide, Actor("bench", "system"))
    held_seconds, held_cpu = time.perf_counter() - started, time.process_time() - cpu
    # Run again: a selection replaces the previous one (its rows are deleted first).
    started = time.perf_counter()
    with db.session() as session:
        select_affected(session, org_id, second, wide, Actor("bench", "system"))
    again_seconds = time.perf_counter() - started
    db.dispose()
    load = os.getloadavg()[0]
    print(
        f"subjects={args.subjects} affected_chat={chats.total} select_chat_seconds="
        f"{chat_seconds:.2f} select_chat_cpu_seconds={chat_cpu:.2f} affected_held={held.total} "
        f"select_held_seconds={held_seconds:.2f} select_held_cpu_seconds={held_cpu:.2f} "
        f"reselect_held_seconds={again_seconds:.2f} states={len(held.by_state)} "
        f"load_average_1m={load:.1f} target_seconds=10"
    )


if __name__ == "__main__":
    main()
