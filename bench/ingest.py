"""Bulk ingest, end to end: `POST /v1/interactions/bulk` over HTTP and `honorbound ingest FILE`.

    .venv/bin/python bench/ingest.py                          # 5,000 lines, SQLite
    .venv/bin/python bench/ingest.py --lines 50000 --paths http
    .venv/bin/python bench/ingest.py --before /path/to/other/checkout/src   # before/after
    ./scripts/with-postgres.sh .venv/bin/python bench/ingest.py --postgres

Builds a throw-away installation with `bench/serve_http.py`'s `install` (one organization, the
example contact-center notice, `--subjects` vault subjects, an admin API key), writes `--lines`
NDJSON lines of about 1 KB of generated chat, email and SMS text (Faker; one line in ten with
a card number and security code, one in 20 refused on purpose: an unknown channel), then:

* `http`: starts `honorbound serve` (production settings, no job worker), posts the file once
  to warm up (keys, rules, the screening process) and then again, timed, streamed from disk;
  server CPU is its process and its children (the screening processes) from /proc, peak
  memory its VmHWM;
* `cli`: runs `python -m honorbound ingest FILE --org bench --results OUT` and times it, and
  an empty file, so the figure without process start-up is printed too.

`--before SRC` runs the same load with another source tree first (a checkout of main) and
prints both. Every result line is checked (count, stored = 201, refused = the channel lines).
The temporary directory and the PostgreSQL database are removed at the end. The load
generator shares the machine's cores with the server: the CPU figures are the ones that do
not depend on other load. Figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from faker import Faker  # noqa: E402
from serve_http import Install, cpu_seconds, drop_databases, install, stop, wait_up  # noqa: E402


def write_lines(path: Path, subjects: list[int], count: int) -> int:
    """`count` NDJSON lines; returns how many are refused on purpose."""
    fake = Faker("en_US")
    fake.seed_instance(22)
    rng = random.Random(22)
    refused = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            text = " ".join(fake.paragraph(nb_sentences=8) for _ in range(2))[:1000]
            if i % 10 == 3:
                text = (
                    text[:940]
                    + f" card {fake.credit_card_number('visa16')} cvv {rng.randint(100, 999)}"
                )
            bad = i % 20 == 19
            refused += bad
            line = {
                "subject_id": subjects[i % len(subjects)],
                "channel": "pigeon" if bad else ("chat", "email", "sms")[i % 3],
                "direction": "inbound",
                "started_at": "2026-11-20T10:00:00Z",
                "text": text,
            }
            f.write(json.dumps(line) + "\n")
    return refused


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its live children (the screening processes), from /proc."""
    total = cpu_seconds(pid)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                total += cpu_seconds(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def check(results: list[dict[str, object]], lines: int, refused: int) -> int:
    stored = sum(1 for r in results if r["status"] == 201)
    assert [r["line"] for r in results] == list(range(1, lines + 1)), "a line was not answered"
    assert stored == lines - refused, f"{stored} stored, expected {lines - refused}"
    return stored


def post(inst: Install, source: Path) -> list[dict[str, object]]:
    def body():  # streamed from disk, 64 KB at a time
        with source.open("rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk

    with httpx.Client(timeout=3600) as http:
        response = http.post(
            f"http://127.0.0.1:{inst.port}/v1/interactions/bulk",
            content=body(),
            headers={"Authorization": f"Bearer {inst.key}", "Content-Type": "application/x-ndjson"},
        )
    response.raise_for_status()
    return [json.loads(x) for x in response.text.splitlines()]


def run_http(inst: Install, env: dict[str, str], source: Path, warm: Path, lines: int,
             refused: int, log: Path) -> dict[str, float]:  # fmt: skip
    with log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "honorbound", "serve", "--no-worker"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_up(inst.port, "/healthz", server)
        post(inst, warm)
        c0, t0 = tree_cpu(server.pid), time.perf_counter()
        results = post(inst, source)
        took, cpu = time.perf_counter() - t0, tree_cpu(server.pid) - c0
        check(results, lines, refused)
        return {"items_per_s": lines / took, "cpu_ms_per_item": cpu * 1000 / lines,
                "seconds": took, "peak_mb": peak_mb(server.pid)}  # fmt: skip
    finally:
        stop(server)


def run_cli(env: dict[str, str], source: Path, empty: Path, out: Path, lines: int,
            refused: int) -> dict[str, float]:  # fmt: skip
    def once(path: Path) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "honorbound", "ingest", str(path), "--org", "bench",
             "--results", str(out)],
            env=env, capture_output=True, text=True, timeout=3600, check=False,
        )  # fmt: skip
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"honorbound ingest failed ({done.returncode}): {done.stderr[-500:]}")
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return took, cpu

    startup, startup_cpu = once(empty)
    took, cpu = once(source)
    check([json.loads(x) for x in out.read_text().splitlines()], lines, refused)
    return {"items_per_s": lines / took, "startup_s": startup,
            "items_per_s_after_startup": lines / max(took - startup, 1e-9),
            "cpu_ms_per_item": (cpu - startup_cpu) * 1000 / lines}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--paths", default="http,cli")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--before", type=Path, help="another source tree to run first")
    parser.add_argument(
        "--screening-processes",
        type=int,
        default=None,
        help="HONORBOUND_INGEST_SCREENING_PROCESSES for this tree's runs",
    )
    args = parser.parse_args()
    if args.lines < 1 or args.subjects < 1:
        parser.error("--lines and --subjects must be at least 1")
    if args.before is not None and not (args.before / "honorbound").is_dir():
        parser.error(f"--before {args.before}: no honorbound package there")
    paths = args.paths.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="hb-bench-ingest-"))
    inst: Install | None = None
    figures: dict[str, str] = {}
    try:
        inst = install(tmp, argparse.Namespace(postgres=args.postgres, optouts=0, dnc=0,
                                               subjects=args.subjects))  # fmt: skip
        source, warm, empty = tmp / "in.ndjson", tmp / "warm.ndjson", tmp / "empty.ndjson"
        refused = write_lines(source, inst.subjects, args.lines)
        write_lines(warm, inst.subjects, min(args.lines, 2 * args.subjects))
        empty.write_bytes(b"")
        trees = [("before", args.before)] if args.before else []
        trees.append(("after" if args.before else "this", ROOT / "src"))
        for name, src in trees:
            env = {**inst.env, "PYTHONPATH": str(src)}
            if name != "before" and args.screening_processes is not None:
                env["HONORBOUND_INGEST_SCREENING_PROCESSES"] = str(args.screening_processes)
            for path in paths:
                if path == "http":
                    got = run_http(inst, env, source, warm, args.lines, refused, tmp / "log")
                else:
                    got = run_cli(env, source, empty, tmp / "out.ndjson", args.lines, refused)
                print(f"{name} {path}: " + " ".join(f"{k}={v:.2f}" for k, v in got.items()),
                      flush=True)  # fmt: skip
                for key, value in got.items():
                    figures[f"{name}_{path}_{key}"] = (
                        f"{value:.3f}" if key.endswith("_ms_per_item") else f"{value:.0f}"
                    )
    finally:
        if inst is not None:
            drop_databases(inst.cleanup)
        shutil.rmtree(tmp, ignore_errors=True)
    db = "postgresql" if args.postgres else "sqlite"
    print(f"db={db} lines={args.lines} refused={refused} load={os.getloadavg()[0]:.2f} "
          + " ".join(f"{k}={v}" for k, v in figures.items()))  # fmt: skip


if __name__ == "__main__":
    main()
