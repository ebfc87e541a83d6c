"""Speed of what users call over the network: the real `honorbound serve` on loopback.

    .venv/bin/python bench/serve_http.py                       # SQLite, 5 s per phase
    .venv/bin/python bench/serve_http.py --seconds 10 --clients 1,8,32
    ./scripts/with-postgres.sh .venv/bin/python bench/serve_http.py --postgres

Issue 22's table, per path and per number of concurrent clients (one keep-alive connection
each, no think time, a bounded asyncio HTTP/1.1 client in this process):

* `decision1`: `POST /v1/contact-decisions` with one item (a dialer asking before each call);
* `decision1000`: the same with 1,000 items;
* `ingest1`: `POST /v1/subjects/{id}/interactions` with a 1 KB chat transcript;
* `bulk`: `POST /v1/interactions/bulk` (NDJSON), 1 client, if the server has it;
* `constant`: a bare Starlette endpoint returning a constant (a plain `def`, run in the thread
  pool like Honorbound's routes) under the same uvicorn settings: the ceiling of this stack
  on this machine. `ratio` = decision1 req/s / constant req/s at the same client count.

Printed per phase: req/s, items/s, p50/p99 latency, errors by status and the server's
CPU-seconds per 1,000 items (utime+stime of the server process from /proc). Production
settings: what `honorbound serve` uses without flags (one process, no access log), without the
job worker (mail is not measured). Data: `--optouts` opt-out events, `--dnc` national registry
numbers and `--subjects` vault subjects; the temporary directory (and PostgreSQL database) is
removed at the end. The load generator shares the 2 cores with the server: the figures are a
floor. The headline figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from honorbound.accounts.roles import Role  # noqa: E402
from honorbound.accounts.service import create_organization, issue_api_key  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.consent import dnc, rules  # noqa: E402
from honorbound.consent.identity import match_key, match_secret  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.policy.store import adopt_text  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402
from honorbound.vault.identities import IdentityKind, blind_index  # noqa: E402
from honorbound.vault.rules import current_rules  # noqa: E402
from honorbound.vault.subjects import IdentityInput, upsert_subject  # noqa: E402

POLICY = ROOT / "examples" / "policies" / "contact-center-1-2024.yaml"
WORDS = [
    "hello",
    "thanks",
    "order",
    "account",
    "billing",
    "refund",
    "delivery",
    "address",
    "update",
    "please",
    "call",
    "back",
    "yes",
    "no",
    "maybe",
    "tomorrow",
    "monday",
    "agent",
    "customer",
    "service",
    "number",
    "ticket",
    "issue",
    "resolved",
]
CONSTANT_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

def constant(request):
    return Response('{"ok":true}', media_type="application/json")

app = Starlette(routes=[Route("/constant", constant, methods=["GET", "POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phone(i: int) -> str:
    return f"+1212{2000000 + i:07d}"


def transcript(rng: random.Random, i: int) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(200))[:1000]
    if i % 10 == 0:
        body = body[:940] + " card 4111 1111 1111 1111 cvv 123 ok"
    return body.ljust(1024, ".")


# -- the installation --------------------------------------------------------------------------
@dataclass
class Install:
    env: dict[str, str]
    key: str
    port: int
    subjects: list[int]
    contacts: list[str]
    cleanup: list[str] = field(default_factory=list)


def database_url(postgres: bool, work: Path, cleanup: list[str]) -> str:
    if not postgres:
        return f"sqlite:///{work / 'bench.db'}"
    base = os.environ.get("HONORBOUND_TEST_DATABASE_URL")
    if not base:
        sys.exit(
            "--postgres needs HONORBOUND_TEST_DATABASE_URL (run under scripts/with-postgres.sh)"
        )
    name = f"bench_http_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    cleanup.append(name)
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_databases(names: list[str]) -> None:
    base = os.environ.get("HONORBOUND_TEST_DATABASE_URL")
    if not names or not base:
        return
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def install(work: Path, args: argparse.Namespace) -> Install:
    cleanup: list[str] = []
    url = database_url(args.postgres, work, cleanup)
    master = secrets.token_hex(32)
    port = free_port()
    data_dir = work / "data"
    settings = Settings(data_dir=data_dir, database_url=url, master_key=master, port=port)
    migrate.upgrade(url)
    rt = build_runtime(settings, immediate_jobs=True, transports=False)
    actor = Actor("bench", "system")
    with rt.db.session() as session:
        org = create_organization(session, "bench", "Bench", actor).id
        key = issue_api_key(session, org, Role.ADMIN, "bench", actor)[1]
    with rt.db.session() as session:
        adopt_text(session, org, POLICY.read_text(encoding="utf-8"), actor, filename=POLICY.name)
    # Opt-outs as ledger.record stores them (no audit entry per row: not what is measured).
    blind_key, secret = rt.keys.blind_index_key(org), match_secret(rt.keys, org)
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    insert = text(
        "INSERT INTO consent_events (organization_id, identity_kind, identity_index, match_key,"
        " purpose, channel, scope, action, source, evidence, occurred_at, recorded_at,"
        " receipt_id, actor_id) VALUES (:org, 'phone', :idx, :mk, 'marketing', 'all', '',"
        " 'opt_out', 'import', '{}', :at, :at, :rid, 'bench')"
    )
    with rt.db.session() as session:
        rows = []
        for i in range(args.optouts):
            number = phone(i)
            rows.append({"org": org, "idx": blind_index(blind_key, "phone", number),
                         "mk": match_key(secret, "phone", number), "at": stamp,
                         "rid": str(uuid.uuid4())})  # fmt: skip
        if rows:
            session.execute(insert, rows)
    if args.dnc:
        numbers = np.arange(args.dnc, dtype=np.int64) * 7 + 3125000000
        with rt.db.session() as session:
            dnc.import_national(session, org, numbers, dt.date.today(), dnc.ImportMode.FULL,
                                rules.load(), actor)  # fmt: skip
    subjects = []
    with rt.db.session() as session:
        vault_rules = current_rules(session, org, rt.rules)
        assert vault_rules is not None
        for i in range(args.subjects):
            number = phone(5_000_000 + i)
            up = upsert_subject(session, rt.vault_keys, org,
                                [IdentityInput(IdentityKind.PHONE, number)], actor, vault_rules,
                                subject_type="user", jurisdiction="NY")  # fmt: skip
            subjects.append(up.subject.id)
    rt.close()
    # Half opted out, half not: both paths of the engine are taken.
    contacts = [phone(i) for i in range(0, max(args.optouts, 1), 2)][:500]
    contacts += [phone(3_000_000 + i) for i in range(500)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env.update(
        {
            "HONORBOUND_DATA_DIR": str(data_dir),
            "HONORBOUND_DATABASE_URL": url,
            "HONORBOUND_MASTER_KEY": master,
            "HONORBOUND_PORT": str(port),
            "HONORBOUND_HOST": "127.0.0.1",
            "HONORBOUND_BASE_URL": f"http://127.0.0.1:{port}",
            "HONORBOUND_LOG_FILE": str(data_dir / "honorbound.log"),
        }
    )
    return Install(env, key, port, subjects, contacts, cleanup)


# -- processes ---------------------------------------------------------------------------------
def wait_up(port: int, path: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see its log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` now (VmRSS from /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- the load generator ------------------------------------------------------------------------
def request(method: str, path: str, key: str | None, body: bytes = b"", ctype: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    if body:
        head += f"Content-Type: {ctype or 'application/json'}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at >= 0:
        length = int(lower[at + 15 : lower.find(b"\r\n", at)])
        return status, await reader.readexactly(length)
    body = bytearray()  # chunked
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


@dataclass
class Phase:
    name: str
    clients: int
    requests: int = 0
    items: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[int] = field(default_factory=Counter)

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else 0.0

    def line(self) -> str:
        rps = self.requests / self.seconds if self.seconds else 0.0
        ips = self.items / self.seconds if self.seconds else 0.0
        per_k = self.cpu * 1000 / self.items if self.items else 0.0
        errs = ",".join(f"{s}:{n}" for s, n in sorted(self.errors.items())) or "none"
        return (f"{self.name:13s} c={self.clients:<3d} req/s={rps:9.1f} items/s={ips:10.1f} "
                f"p50={self.pct(50):8.2f}ms p99={self.pct(99):8.2f}ms errors={errs} "
                f"cpu_s/1k_items={per_k:.3f}")  # fmt: skip


async def run_phase(
    port: int, pid: int, phase: Phase, requests: list[bytes], items: int, seconds: float
) -> Phase:
    stop_at = 0.0

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = n
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                writer.write(requests[i % len(requests)])
                status, _ = await asyncio.wait_for(read_response(reader), 60)
                phase.latencies.append(time.perf_counter() - t0)
                phase.requests += 1
                if status < 300:
                    phase.items += items
                else:
                    phase.errors[status] += 1
                i += phase.clients
        finally:
            writer.close()

    # Warm-up (the snapshot, connections), then the measured window.
    stop_at = time.perf_counter() + min(1.0, seconds / 4)
    await asyncio.gather(*(client(n) for n in range(phase.clients)))
    phase.requests, phase.items, phase.latencies, phase.errors = 0, 0, [], Counter()
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    stop_at = t0 + seconds
    await asyncio.gather(*(client(n) for n in range(phase.clients)))
    phase.seconds, phase.cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
    return phase


def bulk_phase(inst: Install, pid: int, count: int) -> Phase | str:
    import httpx

    started = "2026-11-20T09:00:00+00:00"
    rng = random.Random(9)
    lines = (json.dumps({"subject_id": inst.subjects[i % len(inst.subjects)], "channel": "chat",
                         "direction": "inbound", "started_at": started,
                         "text": transcript(rng, i)}) + "\n" for i in range(count))  # fmt: skip
    phase = Phase("bulk", 1)
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    with httpx.Client(timeout=600) as http:
        response = http.post(
            f"http://127.0.0.1:{inst.port}/v1/interactions/bulk",
            content=(line.encode() for line in lines),
            headers={"Authorization": f"Bearer {inst.key}", "Content-Type": "application/x-ndjson"},
        )
    phase.seconds, phase.cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
    if response.status_code in (404, 405):
        return "absent"
    phase.requests = 1
    phase.latencies = [phase.seconds]
    if response.status_code >= 300:
        phase.errors[response.status_code] += 1
        return phase
    for raw in response.text.splitlines():
        result = json.loads(raw)
        status = int(result.get("status", 0))
        if status < 300:
            phase.items += 1
        else:
            phase.errors[status] += 1
    return phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per phase")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--optouts", type=int, default=20_000)
    parser.add_argument("--dnc", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--bulk", type=int, default=5_000, help="interactions in the bulk phase")
    parser.add_argument("--paths", default="constant,decision1,decision1000,ingest1,bulk")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    paths = set(args.paths.split(","))
    work = Path(tempfile.mkdtemp(prefix="hb-bench-http-"))
    inst: Install | None = None
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[tuple[str, int], Phase] = {}
    memory: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        inst = install(work, args)
        took = time.perf_counter() - t0
        print(f"setup: {args.optouts} opt-outs, {args.dnc} DNC numbers, {args.subjects} subjects "
              f"in {took:.1f}s; load {os.getloadavg()}", flush=True)  # fmt: skip
        log = (work / "server.out").open("ab")
        if "constant" in paths:
            cport = free_port()
            const = subprocess.Popen([sys.executable, "-c", CONSTANT_APP, str(cport)],
                                     stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
            procs.append(const)
            wait_up(cport, "/constant", const)
            reqs = [request("GET", "/constant", None)]
            for c in levels:
                phase = asyncio.run(run_phase(cport, const.pid, Phase("constant", c), reqs, 1,
                                              args.seconds))  # fmt: skip
                results[("constant", c)] = phase
                print(phase.line(), flush=True)
            stop(const)
        server = subprocess.Popen([sys.executable, "-m", "honorbound", "serve", "--no-worker"],
                                  env=inst.env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(server)
        wait_up(inst.port, "/healthz", server)
        memory["rss_idle_mb"] = rss_mb(server.pid)
        rng = random.Random(1)

        def decisions(n: int) -> list[bytes]:
            out = []
            for _ in range(64):
                items = [{"identity": rng.choice(inst.contacts), "purpose": "marketing",
                          "channel": "call"} for _ in range(n)]  # fmt: skip
                body = json.dumps({"items": items}).encode()
                out.append(request("POST", "/v1/contact-decisions", inst.key, body))
            return out

        started = "2026-11-20T09:00:00+00:00"
        ingest = [
            request(
                "POST",
                f"/v1/subjects/{inst.subjects[i % len(inst.subjects)]}/interactions",
                inst.key,
                json.dumps(
                    {
                        "channel": "chat",
                        "direction": "inbound",
                        "started_at": started,
                        "text": transcript(rng, i),
                    }
                ).encode(),
            )  # fmt: skip
            for i in range(256)
        ]
        first = decisions(1)[0]
        asyncio.run(run_phase(inst.port, server.pid, Phase("warm", 1), [first], 1, 0.5))
        memory["rss_after_decision_mb"] = rss_mb(server.pid)
        plan = [("decision1", decisions(1), 1), ("decision1000", decisions(1000), 1000),
                ("ingest1", ingest, 1)]  # fmt: skip
        for name, reqs, per in plan:
            if name not in paths:
                continue
            for c in levels:
                phase = asyncio.run(run_phase(inst.port, server.pid, Phase(name, c), reqs, per,
                                              args.seconds))  # fmt: skip
                results[(name, c)] = phase
                print(phase.line(), flush=True)
        bulk: Phase | str = "skipped"
        if "bulk" in paths:
            bulk = bulk_phase(inst, server.pid, args.bulk)
            print(bulk.line() if isinstance(bulk, Phase) else f"bulk          {bulk}", flush=True)
        memory["rss_end_mb"] = rss_mb(server.pid)
        stop(server)
    finally:
        for proc in procs:
            stop(proc)
        if inst is not None:
            drop_databases(inst.cleanup)
        shutil.rmtree(work, ignore_errors=True)

    def rate(name: str, c: int, items: bool = False) -> float:
        p = results.get((name, c))
        if p is None or not p.seconds:
            return 0.0
        return (p.items if items else p.requests) / p.seconds

    top = max(levels)
    figures = {
        "decision1_rps_c1": f"{rate('decision1', 1):.0f}",
        f"decision1_rps_c{top}": f"{rate('decision1', top):.0f}",
        f"decision1_p99_ms_c{top}": f"{results[('decision1', top)].pct(99):.1f}"
        if ("decision1", top) in results else "n/a",
        f"decisions_per_s_c{top}": f"{rate('decision1000', top, items=True):.0f}",
        f"ingest1_rps_c{top}": f"{rate('ingest1', top):.0f}",
        f"ingest1_p99_ms_c{top}": f"{results[('ingest1', top)].pct(99):.1f}"
        if ("ingest1", top) in results else "n/a",
        "bulk_items_per_s": f"{bulk.items / bulk.seconds:.0f}"
        if isinstance(bulk, Phase) and bulk.seconds else bulk,
        f"constant_rps_c{top}": f"{rate('constant', top):.0f}",
        f"ratio_c{top}": f"{rate('decision1', top) / rate('constant', top):.2f}"
        if rate("constant", top) else "n/a",
        **{k: f"{v:.0f}" for k, v in memory.items()},
        "load": f"{os.getloadavg()[0]:.2f}",
    }  # fmt: skip
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
