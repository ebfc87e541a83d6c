"""Load and faults on loopback: the real `honorbound serve` and `honorbound worker` processes with
production settings, many concurrent clients, a worker killed and the database locked.

    .venv/bin/python bench/load.py                     # SQLite: both phases, 100 clients, 60 s
    ./scripts/with-postgres.sh .venv/bin/python bench/load.py --postgres
    .venv/bin/python bench/load.py --phases load --seconds 20 --clients 50

Two phases of `--seconds` each, `--clients` concurrent clients (one asyncio task and one
keep-alive connection each, no think time):

* `load`: the mix below, no faults. Target (issue 17 item 5): p99 < 1 s for reads, no 500.
* `faults`: the same mix while the worker is killed (SIGKILL, restarted 3 s later) twice and
  another connection holds the database write lock for 2 s (SQLite `BEGIN IMMEDIATE`;
  PostgreSQL `LOCK TABLE audit_entries IN EXCLUSIVE MODE`, which every audited write needs).

The mix: consent writes (`POST /v1/consent/events`, 25%), contact decisions (10 identities per
call, 15%), consent lookups (15%), reading recorded events back (15%), `/v1/me` (10%), the staff
console's outbox and request lists (10%, signed-in sessions), public receipts (5%), consumer
intake (`POST /v1/public/orgs/<slug>/requests`, which queues a verification email, 3%) and the
SMS webhook (2%). Mail goes to a loopback SMTP server that takes 0.2 s per message.

After each phase: every acknowledged consent write (201) must be in the database and decide
the identity as opted out; every acknowledged intake (202) must be a request row and every
acknowledged SMS (200) a recorded gateway message; queued mail
must all be sent, a resend after the crash carrying the same Message-ID. "Lost" counts what
fails those checks (must be 0). The figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from aiosmtpd.controller import Controller  # noqa: E402
from faker import Faker  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from honorbound.accounts.roles import Role  # noqa: E402
from honorbound.accounts.service import create_organization, create_user, issue_api_key  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.consent.models import ConsentEvent, SmsInbound  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.notify.models import OutboxMessage, OutboxStatus  # noqa: E402
from honorbound.policy.store import adopt_text  # noqa: E402
from honorbound.rights.models import RightsRequest  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402

EXAMPLE = ROOT / "examples" / "policies" / "contact-center-1-2024.yaml"
SLUG = "loadtest"
MIX = (
    ("consent_write", 25),
    ("decisions", 15),
    ("lookup", 15),
    ("get_event", 15),
    ("me", 10),
    ("console", 10),
    ("receipt", 5),
    ("intake", 3),
    ("sms", 2),
)
WRITES = frozenset({"consent_write", "intake", "sms"})
fake = Faker("en_US")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a slow mail server ----------------------------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        found = re.search(rb"^Message-ID:\s*(\S+)", envelope.content, re.M | re.I)
        self.message_ids.append(found.group(1).decode() if found else "")
        await asyncio.sleep(0.2)
        return "250 2.0.0 Ok: queued"


# -- the installation --------------------------------------------------------------------------
@dataclass
class Install:
    env: dict[str, str]
    settings: Settings
    admin_key: str
    agent_key: str
    staff_password: str
    webhook_secret: bytes
    base: str


def install(data_dir: Path, database_url: str, smtp_port: int) -> Install:
    master = secrets.token_hex(32)
    port = free_port()
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        master_key=master,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        log_file=data_dir / "honorbound.log",
    )
    migrate.upgrade(database_url)
    rt = build_runtime(settings, immediate_jobs=True, transports=False)
    actor = Actor("bench", "system")
    password = secrets.token_urlsafe(16)
    with rt.db.session() as session:
        org = create_organization(session, SLUG, "Load Test Org", actor)
        admin = issue_api_key(session, org.id, Role.ADMIN, "bench admin", actor)[1]
        agent = issue_api_key(session, org.id, Role.AGENT, "bench agent", actor)[1]
        create_user(session, "loadstaff", password, "Load Staff", actor, org.id, Role.ADMIN)
    with rt.db.session() as session:
        adopt_text(session, org.id, EXAMPLE.read_text(), actor, filename=EXAMPLE.name)
    from honorbound.consent import sms

    secret = sms.webhook_secret(rt.keys, org.id)
    rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env.update(
        {
            "HONORBOUND_DATA_DIR": str(data_dir),
            "HONORBOUND_DATABASE_URL": database_url,
            "HONORBOUND_MASTER_KEY": master,
            "HONORBOUND_SMTP_URL": settings.smtp_url,
            "HONORBOUND_BASE_URL": settings.base_url,
            "HONORBOUND_PORT": str(port),
            "HONORBOUND_LOG_FILE": str(data_dir / "honorbound.log"),
            "HONORBOUND_LOG_LEVEL": "INFO",
        }
    )
    return Install(env, settings, admin, agent, password, secret, f"http://127.0.0.1:{port}")


class Processes:
    def __init__(self, inst: Install, logs: Path) -> None:
        self.inst = inst
        self.logs = logs
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{args[0]}.out").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "honorbound", *args],
            env=self.inst.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        self.server = self._spawn("serve", "--no-worker")
        self.start_worker()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.inst.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up; see its log")
            time.sleep(0.2)

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", "--threads", "2")

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(timeout=10)
            self.kills += 1

    def stop(self) -> None:
        for proc, sig in ((self.server, signal.SIGINT), (self.worker, signal.SIGTERM)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


# -- faults ------------------------------------------------------------------------------------
def hold_lock(database_url: str, seconds: float) -> None:
    """Another connection holds the lock every write needs, for `seconds`."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()
        return
    import psycopg

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        conn.execute("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
        time.sleep(seconds)
        conn.rollback()


def run_faults(procs: Processes, database_url: str, seconds: float, log: list[str]) -> None:
    plan = [
        (0.25, "kill"),
        (0.25 + 3 / seconds, "restart"),
        (0.5, "lock"),
        (0.75, "kill"),
        (0.75 + 3 / seconds, "restart"),
    ]
    started = time.monotonic()
    for at, what in plan:
        delay = started + at * seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if what == "kill":
            procs.kill_worker()
        elif what == "restart":
            procs.start_worker()
        else:
            hold_lock(database_url, 2.0)
        log.append(f"{time.monotonic() - started:5.1f}s {what}")


# -- clients -----------------------------------------------------------------------------------
@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    consent_acked: list[tuple[str, str]] = field(default_factory=list)  # (identity, receipt)
    event_ids: list[int] = field(default_factory=list)
    intake_acked: int = 0
    sms_acked: list[str] = field(default_factory=list)  # gateway message ids answered 200
    transport_errors: Counter[str] = field(default_factory=Counter)
    client_lag: list[float] = field(default_factory=list)

    def add(self, kind: str, status: int, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses[(kind, status)] += 1


class Answer:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Wire:
    """One keep-alive HTTP/1.1 connection, written by hand: a general-purpose client costs
    about a millisecond of CPU per request, which on a shared 2-core machine is latency the
    load generator would add to the figures. Answers must carry Content-Length (ours do)."""

    def __init__(self, host: str, port: int, cookie: str = "") -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _send(self, head: bytes, body: bytes) -> Answer:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
        return Answer(int(status_line.split()[1]), payload)

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Answer:
        body = b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if json_body is not None:
            body = json.dumps(json_body).encode()
            lines.append("Content-Type: application/json")
        elif form is not None:
            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            return await self._send(head, body)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.writer = None  # a keep-alive connection the server closed: once more, anew
            return await self._send(head, body)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, headers)

    async def post(
        self,
        path: str,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return await self.request("POST", path, headers, json_body=json, form=data)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _sms_signature(secret: bytes, url: str, params: dict[str, str]) -> str:
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(secret, data.encode(), hashlib.sha1).digest()).decode()


def staff_cookies(base: str, password: str) -> str:
    """Sign in to the console once; every client then uses that staff session."""
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        signed = client.post(
            "/login",
            data={"username": "loadstaff", "password": password, "csrf_token": token.group(1)},
        )
        assert signed.status_code in (200, 303), signed.status_code
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def client_loop(
    inst: Install,
    tally: Tally,
    stop_at: float,
    rng: random.Random,
    cookie: str,
) -> None:
    where = urlsplit(inst.base)
    http = Wire(str(where.hostname), int(where.port or 80))
    console = Wire(str(where.hostname), int(where.port or 80), cookie)
    agent = {"Authorization": f"Bearer {inst.agent_key}"}
    admin = {"Authorization": f"Bearer {inst.admin_key}"}
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    while time.monotonic() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            status = await one_request(kind, http, console, agent, admin, inst, tally, rng)
        except (OSError, asyncio.IncompleteReadError) as exc:
            tally.transport_errors[type(exc).__name__] += 1
            continue
        tally.add(kind, status, time.perf_counter() - started)
    http.close()
    console.close()


async def one_request(
    kind: str,
    http: Wire,
    console: Wire,
    agent: dict[str, str],
    admin: dict[str, str],
    inst: Install,
    tally: Tally,
    rng: random.Random,
) -> int:
    known = tally.consent_acked
    if kind == "consent_write":
        identity = f"{uuid.uuid4().hex[:12]}@load.example"
        body = {
            "identity": identity,
            "purpose": "marketing",
            "channel": "email",
            "action": "opt_out",
            "source": "web_form",
        }
        r = await http.post("/v1/consent/events", json=body, headers=agent)
        if r.status_code == 201:
            out = r.json()
            tally.consent_acked.append((identity, out["receipt_id"]))
            tally.event_ids.append(int(out["id"]))
        return r.status_code
    if kind == "decisions":
        picks = [rng.choice(known)[0] for _ in range(5)] if known else []
        picks += [f"{uuid.uuid4().hex[:10]}@load.example" for _ in range(10 - len(picks))]
        items = [{"identity": i, "purpose": "marketing", "channel": "email"} for i in picks]
        r = await http.post("/v1/contact-decisions", json={"items": items}, headers=agent)
        return r.status_code
    if kind == "lookup":
        identity = rng.choice(known)[0] if known else "nobody@load.example"
        r = await http.post("/v1/consent/lookup", json={"identity": identity}, headers=admin)
        return r.status_code
    if kind == "get_event" and tally.event_ids:
        r = await http.get(f"/v1/consent/events/{rng.choice(tally.event_ids)}", headers=admin)
        return r.status_code
    if kind == "receipt" and known:
        r = await http.get(f"/v1/public/consent/receipts/{rng.choice(known)[1]}")
        return r.status_code
    if kind in ("me", "get_event", "receipt"):  # nothing recorded yet to read back
        return (await http.get("/v1/me", headers=agent)).status_code
    if kind == "console":
        page = rng.choice(("/console/outbox", "/console/requests"))
        return (await console.get(page)).status_code
    if kind == "intake":
        body = {"type": "access_categories", "jurisdiction": "CA", "email": fake.email()}
        r = await http.post(f"/v1/public/orgs/{SLUG}/requests", json=body)
        if r.status_code == 202:
            tally.intake_acked += 1
        return r.status_code
    # sms: a STOP from a new number
    url = f"{inst.base}/v1/public/sms/{SLUG}"
    number = f"+1212555{rng.randrange(10_000):04d}"
    form = {"From": number, "To": "+12125550199", "Body": "STOP", "MessageSid": uuid.uuid4().hex}
    headers = {"X-Twilio-Signature": _sms_signature(inst.webhook_secret, url, form)}
    r = await http.post(f"/v1/public/sms/{SLUG}", data=form, headers=headers)
    if r.status_code == 200:
        tally.sms_acked.append(form["MessageSid"])
    return r.status_code


async def drive(inst: Install, clients: int, seconds: float, seed: int, cookie: str) -> Tally:
    tally = Tally()
    stop_at = time.monotonic() + seconds

    async def lag_monitor() -> None:
        # How late this process's own event loop runs: latency the clients add themselves.
        while time.monotonic() < stop_at:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            tally.client_lag.append(time.monotonic() - before - 0.05)

    await asyncio.gather(
        lag_monitor(),
        *(
            client_loop(inst, tally, stop_at, random.Random(seed * 1000 + n), cookie)
            for n in range(clients)
        ),
    )
    return tally


# -- checks after a phase ----------------------------------------------------------------------
def verify(
    inst: Install, tally: Tally, intake_rows_before: int, mailbox: Mailbox
) -> dict[str, int]:
    engine = create_engine(inst.settings.database_url)
    missing = 0
    with engine.connect() as conn:
        receipts = {r for _, r in tally.consent_acked}
        found: set[str] = set()
        listed = list(receipts)
        for start in range(0, len(listed), 500):
            found.update(
                conn.scalars(
                    select(ConsentEvent.receipt_id).where(
                        ConsentEvent.receipt_id.in_(listed[start : start + 500])
                    )
                )
            )
        missing = len(receipts - found)
        intake_rows = int(conn.scalar(select(func.count()).select_from(RightsRequest)) or 0)
        seen_sms: set[str] = set()
        for start in range(0, len(tally.sms_acked), 500):
            seen_sms.update(
                conn.scalars(
                    select(SmsInbound.message_id).where(
                        SmsInbound.message_id.in_(tally.sms_acked[start : start + 500])
                    )
                )
            )
    # Every acknowledged opt-out decides its identity (through the API, as a caller would).
    not_honored = 0
    identities = [i for i, _ in tally.consent_acked]
    headers = {"Authorization": f"Bearer {inst.agent_key}"}
    for start in range(0, len(identities), 5000):
        items = [
            {"identity": i, "purpose": "marketing", "channel": "email"}
            for i in identities[start : start + 5000]
        ]
        r = httpx.post(
            f"{inst.base}/v1/contact-decisions",
            json={"items": items},
            headers=headers,
            timeout=120,
        )
        r.raise_for_status()
        not_honored += sum(1 for x in r.json()["results"] if "opted_out" not in x["reasons"])
    # Mail: wait for the worker to send what is queued.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            waiting = int(
                conn.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                    .where(OutboxMessage.channel == "email")
                )
                or 0
            )
        if waiting == 0:
            break
        time.sleep(1)
    with engine.connect() as conn:
        sent = int(
            conn.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENT)
            )
            or 0
        )
        ids = list(conn.scalars(select(OutboxMessage.message_id)))
        conn.execute(text("SELECT 1"))
    engine.dispose()
    received = Counter(mailbox.message_ids)
    known_ids = set(ids)
    return {
        "consent_acked": len(tally.consent_acked),
        "consent_missing": missing,
        "consent_not_honored": not_honored,
        "intake_acked": tally.intake_acked,
        "intake_missing": max(0, tally.intake_acked - (intake_rows - intake_rows_before)),
        "sms_acked": len(tally.sms_acked),
        "sms_missing": len(set(tally.sms_acked) - seen_sms),
        "mail_waiting": waiting,
        "mail_sent": sent,
        "mail_received": sum(received.values()),
        "mail_resent_same_id": sum(c - 1 for c in received.values() if c > 1),
        "mail_unknown_id": sum(1 for m in received if m not in known_ids),
    }


def intake_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        n = int(conn.scalar(select(func.count()).select_from(RightsRequest)) or 0)
    engine.dispose()
    return n


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(phase: str, tally: Tally, seconds: float, checks: dict[str, int]) -> dict[str, str]:
    reads = [v for k, vs in tally.latencies.items() if k not in WRITES for v in vs]
    writes = [v for k, vs in tally.latencies.items() if k in WRITES for v in vs]
    every = reads + writes
    by_status: Counter[int] = Counter()
    for (_, status), count in tally.statuses.items():
        by_status[status] += count
    print(f"\n== phase {phase}: {len(every)} requests in {seconds:.0f} s", file=sys.stderr)
    for kind, _ in MIX:
        values = tally.latencies.get(kind, [])
        statuses = {s: c for (k, s), c in tally.statuses.items() if k == kind}
        print(
            f"  {kind:14s} n={len(values):6d} p50={pct(values, 0.5):7.1f} ms "
            f"p99={pct(values, 0.99):7.1f} ms statuses={dict(sorted(statuses.items()))}",
            file=sys.stderr,
        )
    if tally.transport_errors:
        print(f"  transport errors: {dict(tally.transport_errors)}", file=sys.stderr)
    print(f"  checks: {checks}", file=sys.stderr)
    print(
        f"  client event-loop lag: p99={pct(tally.client_lag, 0.99):.0f} ms "
        f"max={pct(tally.client_lag, 1.0):.0f} ms",
        file=sys.stderr,
    )
    errors = sum(c for s, c in by_status.items() if s >= 400)
    lost = (
        checks["consent_missing"]
        + checks["consent_not_honored"]
        + checks["intake_missing"]
        + checks["sms_missing"]
    )
    acked = checks["consent_acked"] + checks["intake_acked"] + checks["sms_acked"]
    return {
        f"{phase}_requests": str(len(every)),
        f"{phase}_rps": f"{len(every) / seconds:.0f}",
        f"{phase}_errors": str(errors),
        f"{phase}_status_500": str(sum(c for s, c in by_status.items() if s >= 500 and s != 503)),
        f"{phase}_status_503": str(by_status.get(503, 0)),
        f"{phase}_status_429": str(by_status.get(429, 0)),
        f"{phase}_transport_errors": str(sum(tally.transport_errors.values())),
        f"{phase}_p50_ms": f"{pct(every, 0.5):.0f}",
        f"{phase}_p99_ms": f"{pct(every, 0.99):.0f}",
        f"{phase}_read_p50_ms": f"{pct(reads, 0.5):.0f}",
        f"{phase}_read_p99_ms": f"{pct(reads, 0.99):.0f}",
        f"{phase}_write_p99_ms": f"{pct(writes, 0.99):.0f}",
        f"{phase}_acked_writes": str(acked),
        f"{phase}_acked_writes_lost": str(lost),
        f"{phase}_mail_resent_same_id": str(checks["mail_resent_same_id"]),
        f"{phase}_mail_waiting": str(checks["mail_waiting"]),
    }


def database(postgres: bool, data_dir: Path) -> str:
    if not postgres:
        return f"sqlite:///{data_dir / 'honorbound.db'}"
    base = os.environ.get("HONORBOUND_TEST_DATABASE_URL")
    if not base:
        raise SystemExit(
            "--postgres needs HONORBOUND_TEST_DATABASE_URL (run under scripts/with-postgres.sh)"
        )
    name = f"bench_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="use HONORBOUND_TEST_DATABASE_URL")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--phases", default="load,faults", help="load, faults or both")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting, e.g. --setting http_concurrency=16 (repeatable)",
    )
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not set(phases) <= {"load", "faults"}:
        raise SystemExit("--phases: choose from load, faults")
    Faker.seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="honorbound-load-"))
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    url = database(args.postgres, work)
    inst = install(work, url, smtp.port)
    for item in args.setting:
        name, _, value = item.partition("=")
        inst.env[f"HONORBOUND_{name.strip().upper()}"] = value.strip()
    procs = Processes(inst, work)
    figures: dict[str, str] = {
        "backend": "postgresql" if args.postgres else "sqlite",
        "clients": str(args.clients),
        "seconds": f"{args.seconds:g}",
        **{f"setting_{k.partition('=')[0]}": k.partition("=")[2] for k in args.setting},
    }
    try:
        procs.start()
        for phase in phases:
            before = intake_rows(url)
            fault_log: list[str] = []
            faults = None
            if phase == "faults":
                faults = threading.Thread(
                    target=run_faults, args=(procs, url, args.seconds, fault_log), daemon=True
                )
                faults.start()
            cookie = staff_cookies(inst.base, inst.staff_password)
            tally = asyncio.run(drive(inst, args.clients, args.seconds, args.seed, cookie))
            if faults is not None:
                faults.join(timeout=30)
                if procs.worker is None or procs.worker.poll() is not None:
                    procs.start_worker()
                print(f"faults: {'; '.join(fault_log)}", file=sys.stderr)
            checks = verify(inst, tally, before, mailbox)
            figures.update(report(phase, tally, args.seconds, checks))
        figures["worker_kills"] = str(procs.kills)
    finally:
        procs.stop()
        smtp.stop()
        if args.keep:
            print(f"data and logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    figures["loadavg"] = f"{os.getloadavg()[0]:.1f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
